"""What a check can ask for (``target``, ``api``, ``deployment``, ``context``), built on demand.

The Lambda handler and the CLI run the same checks with different resources: a deployed version
and the real API in one, the function's own code and an in-process API in the other. A scope holds
the factories; the runner asks it for each parameter a check names.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .deployment import Deployment
from .errors import ConfigurationError
from .registry import Check

TargetFactory = Callable[[Deployment, Check, float], Any]
ApiFactory = Callable[[Check, float], Any]


class Scope:
    """Resources for one run; the deployment is discovered at most once, and only if asked for."""

    def __init__(
        self,
        *,
        deployment: Callable[[], Deployment],
        context: Any = None,
        target: TargetFactory | None = None,
        api: ApiFactory | None = None,
    ) -> None:
        self._discover = deployment
        self._deployment: Deployment | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self.context = context
        self._target = target
        self._api = api

    def deployment(self) -> Deployment:
        """Discover once; a failure is remembered and raised to every check that needs it."""
        found = self._deployment
        if found is not None:  # discovered already: no lock needed to read it
            return found
        with self._lock:
            if self._deployment is None and self._error is None:
                try:
                    self._deployment = self._discover()
                except Exception as exc:  # noqa: BLE001 - kept as data: each check that asks gets the same error
                    self._error = exc
            if self._error is not None:
                raise self._error
            return self._deployment  # type: ignore[return-value]

    def discovered(self) -> Deployment | None:
        """The deployment if some check caused it to be discovered; never triggers discovery."""
        return self._deployment

    def provide(self, name: str, check: Check, timeout: float) -> Any:
        if name == "deployment":
            return self.deployment()
        if name == "context":
            return self.context
        if name == "target":
            if self._target is None:
                raise ConfigurationError(
                    f"check {check.name!r} asks for a target, but this run has none (hookkit run: pass --target)"
                )
            return self._target(self.deployment(), check, timeout)
        if name == "api":
            if self._api is None:
                raise ConfigurationError(
                    f"check {check.name!r} asks for an api, but this run has none (hookkit run: pass --api)"
                )
            return self._api(check, timeout)
        raise ConfigurationError(f"check {check.name!r} asks for unknown parameter {name!r}")
