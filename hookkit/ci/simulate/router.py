"""Lambda's side of the rehearsal: invocations routed by qualifier, timed, counted and measured.

Version ``1`` is the current build, version ``2`` the new one, ``$LATEST`` (or no qualifier) the
new one too (the code last uploaded), and the alias picks a version at random with the weights
CodeDeploy has set, as Lambda's weighted aliases do. Every invocation publishes Lambda's metrics
(:mod:`.metrics`) stamped with the virtual moment it started, and is kept as a record for the
timeline and for the cause of a rollback.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from ...checks.invocation import Invocation
from ...core.errors import HookkitError
from .clock import VirtualClock
from .environments import Environment
from .metrics import MetricStore
from .state import DeploymentState
from .template import CURRENT_VERSION, TARGET_VERSION


@dataclass(frozen=True)
class Record:
    """One invocation of the deployed function."""

    at: float
    origin: str  # "traffic", "api", "hook"
    qualifier: str
    version: str
    error: str | None  # errorType: errorMessage when the function failed
    duration_ms: float


class FunctionNotFound(LookupError):
    """Lambda's ResourceNotFoundException: no such function or qualifier."""


class LambdaRouter:
    """Routes invocations of the deployed function to its two builds."""

    def __init__(
        self, *, function: str, alias: str, builds: dict[str, Environment], timeout: float, state: DeploymentState,
        metrics: MetricStore, clock: VirtualClock, seed: int, on_record: Callable[[Record], None] | None = None,
    ) -> None:
        self.function, self.alias, self.builds, self.timeout = function, alias, builds, timeout
        self.state, self.metrics, self.clock = state, metrics, clock
        self._random = random.Random(seed)  # noqa: S311 - traffic routing, not security
        self._lock = threading.Lock()
        self.records: list[Record] = []
        self._on_record = on_record

    def resolve(self, name: str, qualifier: str | None) -> tuple[str, str | None]:
        """(function name, qualifier) from a name, ``name:qualifier`` or an ARN, as Lambda reads them."""
        text = name
        if text.startswith("arn:"):
            parts = text.split(":")
            if len(parts) < 7 or parts[5] != "function":
                raise FunctionNotFound(f"Function not found: {name}")
            text = ":".join(parts[6:])
        bare, _, embedded = text.partition(":")
        if bare != self.function:
            raise FunctionNotFound(f"Function not found: {name} (the rehearsal serves {self.function} only)")
        if embedded and qualifier and embedded != qualifier:
            raise FunctionNotFound(f"The qualifier {qualifier} does not match the one in the name {name}")
        return bare, embedded or qualifier or None

    def invoke(self, qualifier: str | None, payload: bytes, *, origin: str, at: float | None = None) -> Invocation:
        """Invoke by qualifier; ``at`` stamps the metrics (default: now on the virtual clock)."""
        version = self.version_for(qualifier)
        started = self.clock.now() if at is None else at
        try:
            answer = self.builds[version].invoke(payload, qualifier=version, timeout=self.timeout)
        except HookkitError as exc:  # the handler does not import, or the process stayed busy: a function error
            kind = "Runtime.ImportModuleError" if "handler" in str(exc) else "Runtime.Unavailable"
            body = json.dumps({"errorType": kind, "errorMessage": str(exc)}).encode()
            answer = Invocation(200, body, "Unhandled", "", version, 0.0)
        error = _error_type(answer) if answer.function_error else None
        via_alias = qualifier == self.alias
        self.metrics.publish_invocation(
            function=self.function, qualifier=qualifier if qualifier not in (None, "$LATEST") else None,
            alias=self.alias if via_alias else None, executed=version, at=started, error=error is not None,
            duration_ms=answer.duration_ms,
        )
        record = Record(started, origin, qualifier or "$LATEST", version, error, answer.duration_ms)
        with self._lock:
            self.records.append(record)
        if self._on_record is not None:
            self._on_record(record)
        return replace(answer, executed_version=version)

    def version_for(self, qualifier: str | None) -> str:
        if qualifier in (None, "$LATEST", TARGET_VERSION):
            return TARGET_VERSION
        if qualifier == CURRENT_VERSION:
            return CURRENT_VERSION
        if qualifier == self.alias:
            weight = self.state.current_weight()
            with self._lock:
                return TARGET_VERSION if self._random.random() < weight else CURRENT_VERSION
        raise FunctionNotFound(f"Function not found: {self.function}:{qualifier} (versions {CURRENT_VERSION} and "
                               f"{TARGET_VERSION}, alias {self.alias})")


def _error_type(answer: Invocation) -> str:
    try:
        body = json.loads(answer.payload)
    except ValueError:
        return "Unhandled"
    if not isinstance(body, dict):
        return "Unhandled"
    kind, message = str(body.get("errorType") or "Unhandled"), " ".join(str(body.get("errorMessage") or "").split())
    return f"{kind}: {message[:80]}" if message else kind
