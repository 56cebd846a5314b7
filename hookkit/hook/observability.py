"""What a hook run tells the operator: structured logs, EMF metrics, and X-Ray subsegments.

All three go through Powertools and obey its switches: ``POWERTOOLS_LOG_LEVEL``,
``POWERTOOLS_METRICS_DISABLED`` (and ``POWERTOOLS_METRICS_NAMESPACE``, default ``hookkit``),
``POWERTOOLS_TRACE_DISABLED``. Nothing here may change a verdict: a metrics or tracing failure is
logged and swallowed, because a hook that fails to *describe* a run must still *report* it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from ..core.log import logger
from ..core.outcome import Outcome, RunResult, Status, Verdict
from ..core.redact import redact_text
from ..core.registry import Check

_LOG_LEVEL = {Status.PASSED: "info", Status.SKIPPED: "warning"}
DEFAULT_NAMESPACE = "hookkit"


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


class Observer:
    """Observes one hook run. ``metrics`` and ``tracer`` may be injected (tests); else Powertools'."""

    def __init__(self, environ: Mapping[str, str] | None = None, *, metrics: Any = None, tracer: Any = None) -> None:
        self.environ = environ if environ is not None else os.environ
        self._metrics = metrics
        self._tracer = tracer
        self.outcomes: list[Outcome] = []
        self.function: str | None = None  # the metrics' function dimension, once known

    # --- metrics (CloudWatch embedded metric format) -----------------------------------------

    @property
    def metrics(self) -> Any:
        if self._metrics is None and not _flag(self.environ, "POWERTOOLS_METRICS_DISABLED"):
            from aws_lambda_powertools import Metrics

            self._metrics = Metrics(
                namespace=self.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
                service=self.environ.get("POWERTOOLS_SERVICE_NAME") or "hookkit",
            )
        return self._metrics

    # --- tracing -----------------------------------------------------------------------------

    @property
    def tracing(self) -> bool:
        """Only inside a traced Lambda (``_X_AMZN_TRACE_ID`` set) and not switched off."""
        if self._tracer is not None:
            return True
        return bool(self.environ.get("_X_AMZN_TRACE_ID")) and not _flag(self.environ, "POWERTOOLS_TRACE_DISABLED")

    @property
    def tracer(self) -> Any:
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(service=self.environ.get("POWERTOOLS_SERVICE_NAME") or "hookkit")
        return self._tracer

    @contextlib.contextmanager
    def around(self, check: Check) -> Iterator[None]:
        """An X-Ray subsegment ``## <check>`` around one attempt, in the check's own thread."""
        if not self.tracing:
            yield
            return
        try:
            manager = self.tracer.provider.in_subsegment(name=f"## {check.name}")
            subsegment = manager.__enter__()
            subsegment.put_annotation("check", check.name)
            subsegment.put_annotation("phase", check.phase.value)
        except Exception as exc:  # noqa: BLE001 - tracing must never fail a check
            logger.debug(redact_text(f"no tracing subsegment for check {check.name}: {exc}"))
            yield
            return
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                manager.__exit__(None, None, None)

    # --- logs --------------------------------------------------------------------------------

    def outcome(self, outcome: Outcome) -> None:
        """One structured line per finished check (called by the runner as each one ends)."""
        self.outcomes.append(outcome)
        level = _LOG_LEVEL.get(outcome.status, "error" if outcome.blocking else "warning")
        message = redact_text(outcome.message)
        with contextlib.suppress(Exception):  # a check that closed the standard streams must not stop the run
            getattr(logger, level)(
                f"check {outcome.name}: {outcome.status}" + (f": {message}" if message else ""),
                check=outcome.name,
                outcome=outcome.status.value,
                blocking=outcome.blocking,
                attempts=outcome.attempts,
                duration_ms=round(outcome.duration_ms, 1),
            )

    def summarise(self, result: RunResult, summary: dict[str, Any], **keys: Any) -> None:
        """The run's single summary line (written by the handler's own process, after the report)."""
        logger.info(summary_line(result), summary=summary, **keys)

    def emit_metrics(self, result: RunResult, function: str | None) -> None:
        """The run's metrics (after the report: importing and flushing them never delays it)."""
        try:
            self._emit(result, function)
        except Exception as exc:  # noqa: BLE001 - metrics must never cost the report
            with contextlib.suppress(Exception):
                logger.warning(redact_text(f"metrics not emitted: {type(exc).__name__}: {exc}"))

    def _emit(self, result: RunResult, function: str | None) -> None:
        metrics = self.metrics
        if metrics is None:
            return
        from aws_lambda_powertools.metrics import MetricUnit

        metrics.add_dimension(name="function", value=function or "unknown")
        metrics.add_dimension(name="phase", value=result.phase.value if result.phase else "unknown")
        passed = sum(o.passed for o in result.outcomes)
        metrics.add_metric(name="ChecksPassed", unit=MetricUnit.Count, value=passed)
        metrics.add_metric(name="ChecksFailed", unit=MetricUnit.Count, value=len(result.outcomes) - passed)
        for outcome in result.outcomes:
            metrics.add_metric(name="CheckDuration", unit=MetricUnit.Milliseconds, value=round(outcome.duration_ms, 1))
        succeeded = result.verdict is Verdict.SUCCEEDED
        metrics.add_metric(name="VerdictSucceeded", unit=MetricUnit.Count, value=int(succeeded))
        metrics.add_metric(name="VerdictFailed", unit=MetricUnit.Count, value=int(not succeeded))
        metrics.flush_metrics()


def summary_line(result: RunResult) -> str:
    """``BeforeAllowTraffic: Failed (7 passed, 1 failed) - 1 of 8 blocking check(s) did not pass: ...``"""
    counts: dict[str, int] = {}
    for outcome in result.outcomes:
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    tally = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no checks ran"
    return f"{result.phase or 'hook'}: {result.verdict} ({tally}) - {redact_text(result.reason)}"
