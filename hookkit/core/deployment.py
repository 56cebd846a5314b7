"""What a hook knows about the deployment it guards, as plain frozen data.

The hook event carries only two ids; everything else here is discovered (see ``discovery``) or
given explicitly. Checks receive a :class:`Deployment` as their ``deployment`` parameter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .phases import Phase


@dataclass(frozen=True)
class LambdaTarget:
    """The Lambda function a deployment shifts traffic on, and its two versions."""

    function_name: str
    target_version: str
    alias: str | None = None
    current_version: str | None = None


@dataclass(frozen=True)
class EcsTarget:
    """An ECS blue/green deployment's service; Lambda-only checks refuse to run against it."""

    task_definition: str | None = None
    container_name: str | None = None
    container_port: int | None = None


@dataclass(frozen=True)
class Deployment:
    """The ids from the hook event plus what discovery found.

    ``source`` says which discovery step produced the target (``environment``,
    ``deployment-targets``, ``appspec``...), so a failure can say where a wrong value came from.
    """

    deployment_id: str
    execution_id: str
    phase: Phase | None = None
    target: LambdaTarget | EcsTarget | None = None
    source: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def function_name(self) -> str | None:
        return self.target.function_name if isinstance(self.target, LambdaTarget) else None

    @property
    def target_version(self) -> str | None:
        return self.target.target_version if isinstance(self.target, LambdaTarget) else None

    @property
    def current_version(self) -> str | None:
        return self.target.current_version if isinstance(self.target, LambdaTarget) else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["phase"] = self.phase.value if self.phase else None
        data["target_type"] = type(self.target).__name__ if self.target else None
        return data
