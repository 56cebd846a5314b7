"""hookkit: CodeDeploy lifecycle hooks for Lambda deployments that always report.

Mark plain functions with ``@pre_traffic`` / ``@post_traffic`` and point the hook Lambda's handler
at ``hookkit.handler``.
"""

from __future__ import annotations

from typing import Any

from .core.deployment import Deployment, EcsTarget, LambdaTarget
from .core.errors import (
    ConfigurationError,
    Difference,
    DiscoveryError,
    EventError,
    ExpectationFailed,
    HookkitError,
    InvokeError,
    RegistrationError,
    ReportError,
    TargetError,
)
from .core.outcome import Outcome, RunResult, Status, Verdict
from .core.phases import Phase
from .checks.recorded import recorded_events
from .core.registry import Check, CheckOptions, HookRegistry, default_registry

__version__ = "0.1.0"

pre_traffic = default_registry.pre_traffic
post_traffic = default_registry.post_traffic
on = default_registry.on


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """The ready Lambda handler: ``Handler: hookkit.handler`` with ``HOOKKIT_CHECKS`` set.

    The runtime is imported on the first delivery, not with ``import hookkit``, so a checks module
    that only declares checks stays cheap to import (CI, tests).
    """
    from .hook.handler import handler as _handler

    return _handler(event, context)


__all__ = [
    "Check", "CheckOptions", "ConfigurationError", "Deployment", "Difference", "DiscoveryError",
    "EcsTarget", "EventError", "ExpectationFailed", "HookRegistry", "HookkitError", "InvokeError",
    "LambdaTarget", "Outcome", "Phase", "RegistrationError", "ReportError", "RunResult", "Status",
    "TargetError", "Verdict", "default_registry", "handler", "on", "post_traffic", "pre_traffic", "recorded_events",
]
