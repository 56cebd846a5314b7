"""The CodeDeploy hook event: two ids and nothing else, validated before anything runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.errors import EventError

_FIELDS = ("DeploymentId", "LifecycleEventHookExecutionId")


@dataclass(frozen=True)
class HookEvent:
    deployment_id: str
    execution_id: str


def parse_event(event: Any) -> HookEvent:
    """Validate the event CodeDeploy sends; without both ids no status can ever be reported."""
    if not isinstance(event, dict):
        raise EventError(
            f"the hook event must be a JSON object with {' and '.join(_FIELDS)}, got {type(event).__name__}; "
            "is this function wired as a CodeDeploy hook (SAM: DeploymentPreference.Hooks)?"
        )
    values = []
    for name in _FIELDS:
        value = event.get(name)
        if not isinstance(value, str) or not value.strip():
            problem = "is missing" if value is None else f"must be a non-empty string, got {value!r:.60}"
            raise EventError(
                f"the hook event's {name} {problem}; CodeDeploy sends both DeploymentId and "
                "LifecycleEventHookExecutionId, so this event did not come from a CodeDeploy hook",
                field=name,
            )
        values.append(value.strip())
    return HookEvent(*values)
