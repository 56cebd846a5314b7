"""hookkit: CodeDeploy lifecycle hooks for Lambda deployments that always report.

Mark plain functions with ``@pre_traffic`` / ``@post_traffic`` and point the hook Lambda's handler
at ``hookkit.handler`` (and the hooks' on-failure destination at ``hookkit.fallback``)::

    from hookkit import Api, Target, post_traffic, pre_traffic

    @pre_traffic
    def creates_an_order(target: Target) -> None:
        target.invoke("events/create_order.json").expect(status=201)

The types a check receives (:class:`Target`, :class:`Api`) and gets back (:class:`InvokeResult`,
:class:`ApiResponse`) are importable from here; they are loaded on first use, so a checks module
that only declares checks stays cheap to import (a hook's cold start, CI).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .checks.recorded import recorded_events
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
from .core.registry import Check, CheckOptions, HookRegistry, default_registry
from .core.version import __version__

if TYPE_CHECKING:
    from .checks.smoke import Api, ApiResponse
    from .checks.target import InvokeResult, Target
    from .hook.handler import HookHandler


pre_traffic = default_registry.pre_traffic
post_traffic = default_registry.post_traffic
on = default_registry.on

#: Names loaded on first use, and the module each comes from.
_LAZY = {
    "Api": "hookkit.checks.smoke",
    "ApiResponse": "hookkit.checks.smoke",
    "InvokeResult": "hookkit.checks.target",
    "Target": "hookkit.checks.target",
    "HookHandler": "hookkit.hook.handler",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hookkit' has no attribute {name!r}")


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """The ready Lambda handler: ``Handler: hookkit.handler`` with ``HOOKKIT_CHECKS`` set.

    The runtime is imported on the first delivery, not with ``import hookkit``, so a checks module
    that only declares checks stays cheap to import (CI, tests).
    """
    from .hook.handler import handler as _handler

    return _handler(event, context)


def fallback(record: Any, context: Any = None) -> dict[str, Any]:
    """The last-resort reporter: ``Handler: hookkit.fallback`` on the hooks' on-failure destination.

    Lambda hands it the record of a hook invocation that failed entirely (init error, out of
    memory, timeout); it reports ``Failed`` for that lifecycle event (see
    :mod:`hookkit.hook.fallback`). Imported on first use, like :func:`handler`.
    """
    from .hook.fallback import fallback as _fallback

    return _fallback(record, context)


def _lambda_init() -> None:
    """Lambda's init for ``Handler: hookkit.handler``: build the report client now, before any delivery.

    Lambda imports this module during its init phase and sets ``_HANDLER`` to the handler setting;
    the report client is then made from the function's own environment, before any check could
    change it, and the first delivery does not pay for it. Anywhere else ``import hookkit`` stays
    light (a checks module, CI).
    """
    if os.environ.get("_HANDLER") == "hookkit.handler" and os.environ.get("AWS_LAMBDA_RUNTIME_API"):
        from .hook.handler import prepare

        prepare()


_lambda_init()

__all__ = [
    "Api", "ApiResponse", "Check", "CheckOptions", "ConfigurationError", "Deployment", "Difference",
    "DiscoveryError", "EcsTarget", "EventError", "ExpectationFailed", "HookHandler", "HookRegistry",
    "HookkitError", "InvokeError", "InvokeResult", "LambdaTarget", "Outcome", "Phase", "RegistrationError",
    "ReportError", "RunResult", "Status", "Target", "TargetError", "Verdict", "__version__", "default_registry",
    "fallback", "handler", "on", "post_traffic", "pre_traffic", "recorded_events",
]
