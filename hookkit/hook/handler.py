"""The Lambda entry point: parse, run the checks where they cannot hurt, and report exactly once.

Per delivery the handler's process runs no user code. It has its CodeDeploy report client before
anything else happens (built at Lambda's init, from the function's own environment), forks a child
that imports the checks, discovers what it must and runs the phase (see
:mod:`hookkit.hook.supervisor`), listens to the child until the checks' deadline, kills what is
left, turns every check without an outcome into a failure that says why, and reports from one
place. A reserve of the Lambda's remaining time is kept back for the report itself, and the report
is bounded so that it ends before the Lambda does.

Where fork cannot be used (another thread is alive, no fork on the platform) or
``HOOKKIT_ISOLATION=thread`` asks for it, the same steps run in a worker thread instead.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..core import settings
from ..core.deployment import Deployment, LambdaTarget
from ..core.errors import (
    ConfigurationError,
    EventError,
    HookkitError,
    ReportError,
    TargetError,
    describe_exception,
)
from ..core.loader import import_checks, split_spec
from ..core.log import logger
from ..core.outcome import Outcome, RunResult
from ..core.phases import Phase
from ..core.redact import redact_text, redact_value
from ..core.registry import Check, HookRegistry, default_registry
from ..core.runner import DEFAULT_MAX_WORKERS, run_phase
from ..core.scope import ApiFactory, Scope
from .clients import Clients
from .event import HookEvent, parse_event
from .observability import Observer
from .record import Ending, Planned, RunRecord, Sink, Stage
from .reporting import ACTION, Delivery, report_status
from .supervisor import CannotFork, fork_refusal, reap_killed, run_in_child, run_in_thread

DEFAULT_RESERVE_MS = 5000
#: The least reserve the report gets, whatever is configured: the check process must be killed and
#: CodeDeploy answer (a TLS handshake, maybe a retry) before the Lambda ends. A reserve of 0 left a
#: hook whose check held the interpreter lock no time to report at all.
MIN_RESERVE_MS = 1000
#: Without a Lambda context (a direct call), behave like the longest Lambda can live.
NO_CONTEXT_BUDGET_MS = 900_000
#: The checks' runner stops this much before the deadline (at most), so that a child that behaves
#: finishes, logs and tells its outcomes before the parent would have to kill it.
_RUNNER_MARGIN_S = 0.2
#: After the report, the run is described (every check's line, the summary, the metrics: Powertools
#: imported and flushed) only if this much of the Lambda's time is left; else briefly (see _brief).
_DESCRIBE_S = 1.5
#: ... unless the run has no more checks than this: describing a few takes milliseconds.
_FEW_CHECKS = 100


class Isolation(enum.StrEnum):
    """Where a delivery's checks run (``HOOKKIT_ISOLATION``)."""

    PROCESS = "process"  # a forked child the handler kills at the deadline
    THREAD = "thread"  # a worker thread in the handler's own process

    def __str__(self) -> str:
        return self.value


class HookHandler:
    """A CodeDeploy hook: ``handler(event, context) -> summary``; reports whatever happens.

    ``phase`` pins the lifecycle event (else ``HOOKKIT_PHASE``, else discovery); ``checks`` names
    modules to import per delivery (else ``HOOKKIT_CHECKS``; none if the registry is already
    filled by the caller's own imports). ``api`` replaces how smoke-call clients are made (by
    default from ``HOOKKIT_API_*``), e.g. to serve them in-process; ``metrics`` and ``tracer``
    replace Powertools' (see :mod:`hookkit.hook.observability`). ``isolation`` (else
    ``HOOKKIT_ISOLATION``, else ``process``) says where the checks run.

    Injected clients and fakes work in both isolations: the report client is only ever used by
    the handler's own process, while whatever the checks use (a fake Lambda client, an in-process
    API, a tracer) is used by the child, on its own copy, so state a check leaves in such a fake is
    not seen by the caller afterwards. Embedders who inspect that state (tests) pass
    ``isolation="thread"``.
    """

    def __init__(
        self,
        registry: HookRegistry | None = None,
        *,
        phase: Phase | str | None = None,
        checks: str | None = None,
        clients: Clients | None = None,
        environ: Mapping[str, str] | None = None,
        reserve_ms: int | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        api: ApiFactory | None = None,
        metrics: Any = None,
        tracer: Any = None,
        clock: Callable[[], float] = time.monotonic,
        isolation: Isolation | str | None = None,
    ) -> None:
        self.registry = registry if registry is not None else default_registry
        self.phase = Phase.parse(phase) if phase is not None else None
        self.checks = checks
        self.clients = clients if clients is not None else Clients()
        self._environ = environ
        self.reserve_ms = reserve_ms
        self.max_workers = max_workers
        self._api_factory = api
        self._metrics, self._tracer = metrics, tracer
        self.clock = clock
        self.isolation = isolation

    @property
    def environ(self) -> Mapping[str, str]:
        return self._environ if self._environ is not None else os.environ

    def prepare(self) -> None:
        """Build the status report's client now, from this process's environment, before any check runs.

        Lambda's init does this for ``hookkit.handler`` (see ``hookkit/__init__``); each delivery
        does it again first (nothing to do once built). A failure is only logged here: the report
        attempt then fails with it, and raises, so Lambda delivers the event again.
        """
        try:
            self.clients.get("codedeploy-report")
        except Exception as exc:  # noqa: BLE001 - reported by the report attempt itself
            with _quiet():
                built = f"the status report's client cannot be built yet: {describe_exception(exc)}"
                logger.warning(redact_text(built))

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        started = self.clock()
        try:
            ids = parse_event(event)
        except EventError as exc:
            # Without both ids there is nothing to report to; retrying would not help either.
            with _quiet():
                logger.error("unusable hook event, no status can be reported", error=redact_text(str(exc)),
                             field=exc.field)
            return {"reported": False, "error": redact_text(str(exc))}
        with _quiet():
            logger.append_keys(deployment_id=ids.deployment_id, execution_id=ids.execution_id)
        observer = Observer(self.environ, metrics=self._metrics, tracer=self._tracer)
        try:
            lambda_end, checks_deadline = self._budget(context, started)
            run = _Run(RunResult.failed(self.phase, "hookkit failed before running the checks"))
            try:
                self.prepare()
                run = self._run(ids, context, checks_deadline, observer)
            except BaseException as exc:  # noqa: BLE001 - last line of defence: report anyway
                with _quiet():
                    logger.error(
                        "hookkit failed unexpectedly; reporting Failed",
                        exception_name=type(exc).__name__,
                        exception=redact_text(traceback.format_exc()),
                    )
                run = _Run(RunResult.failed(self.phase, f"hookkit failed unexpectedly: {describe_exception(exc)}"))
            try:
                return self._report(ids, run, lambda_end, started, observer)
            finally:  # after the report: a check process killed mid-run is gone before the container is frozen
                reap_killed(min(1.0, max(0.0, lambda_end - self.clock() - 0.2)) if run.cut_short else 0.0)
        finally:
            with _quiet():
                logger.remove_keys(["deployment_id", "execution_id", "phase"])

    def _budget(self, context: Any, started: float) -> tuple[float, float]:
        """Lambda's end, and the checks' deadline: a reserve is kept back for the report."""
        try:
            remaining_ms = float(context.get_remaining_time_in_millis())
        except AttributeError:
            remaining_ms = NO_CONTEXT_BUDGET_MS
        except Exception as exc:  # noqa: BLE001 - a strange context must not cost the report
            with _quiet():
                logger.warning(redact_text(f"cannot read the Lambda context's remaining time ({exc!r}); assuming 60 s"))
            remaining_ms = 60_000.0
        if not remaining_ms > 0:  # NaN or spent: report at once rather than never
            remaining_ms = 0.0
        if self.reserve_ms is not None:
            configured, source = float(self.reserve_ms), "reserve_ms"
        else:
            configured, source = float(self._configured_reserve_ms()), settings.REPORT_RESERVE_MS
        if not configured >= MIN_RESERVE_MS:
            with _quiet():
                logger.warning(f"{source}={configured:g} leaves the status report too little time; using "
                               f"{MIN_RESERVE_MS} ms, the least it gets (never more than half the remaining time)")
            configured = MIN_RESERVE_MS
        reserve_ms = min(configured, remaining_ms / 2)  # never more than half the time there is
        lambda_end = started + remaining_ms / 1000.0
        return lambda_end, lambda_end - reserve_ms / 1000.0

    def _configured_reserve_ms(self) -> int:
        raw = self.environ.get(settings.REPORT_RESERVE_MS, "")
        try:
            return int(raw) if raw.strip() else DEFAULT_RESERVE_MS
        except ValueError:
            with _quiet():
                logger.warning(f"{settings.REPORT_RESERVE_MS}={raw!r} is not a whole number of milliseconds; "
                               f"using {DEFAULT_RESERVE_MS}")
            return DEFAULT_RESERVE_MS

    # --- running the checks (this process: no user code) ----------------------------------------

    def _run(self, ids: HookEvent, context: Any, deadline: float, observer: Observer) -> _Run:
        """The run's result, where it ran, and whether (and how) it was cut short; nothing is logged of
        the outcomes made up here for checks cut short: that waits until after the report."""
        started = self.clock()
        try:
            explicit = self._explicit_phase()
            isolation = self._isolation()
        except HookkitError as exc:
            with _quiet():
                logger.error(redact_text(str(exc)))
            return _Run(RunResult.failed(self.phase, str(exc), duration_ms=(self.clock() - started) * 1000.0))
        record = RunRecord(explicit, modules=self._modules(), clock=self.clock)
        margin = min(_RUNNER_MARGIN_S, max(0.0, deadline - started) / 10)
        work = partial(self._work, ids=ids, context=context, explicit=explicit, deadline=deadline - margin,
                       observer=observer)
        ending: Ending | None = None
        if isolation is Isolation.PROCESS:
            refusal = fork_refusal()
            try:
                if refusal is not None:
                    raise CannotFork(refusal)
                ending = run_in_child(work, record, deadline=deadline, clock=self.clock)
            except CannotFork as exc:
                with _quiet():
                    logger.warning(f"the checks run in this process's threads, not in a child process: {exc} "
                                   f"(set {settings.ISOLATION}=thread to choose this and silence the warning)")
                isolation = Isolation.THREAD
        if isolation is Isolation.THREAD:
            ending = run_in_thread(work, record, deadline=deadline, clock=self.clock)
        result, made = record.result(ending)
        if result.phase is not None:
            with _quiet():
                logger.append_keys(phase=result.phase.value)
        observer.function = record.function or self.environ.get(settings.FUNCTION)
        return _Run(result, isolation, cut_short=ending is not None, made=made)

    def _isolation(self) -> Isolation:
        raw = str(self.isolation if self.isolation is not None else self.environ.get(settings.ISOLATION, ""))
        try:
            return Isolation(raw.strip().lower() or Isolation.PROCESS)
        except ValueError:
            raise ConfigurationError(
                f"{settings.ISOLATION}={raw!r} is not an isolation: use process (the default: the checks run in a "
                "child process the hook kills at its deadline) or thread (in the hook's own process)"
            ) from None

    def _modules(self) -> str:
        spec = self.checks if self.checks is not None else self.environ.get(settings.CHECKS)
        return ", ".join(split_spec(spec)) or "the registry's own"

    # --- the work itself (in the child, or in a worker thread): user code runs from here on ------

    def _work(
        self, sink: Sink, *, ids: HookEvent, context: Any, explicit: Phase | None, deadline: float,
        observer: Observer,
    ) -> None:
        started = self.clock()
        phase = explicit
        try:
            try:
                sink.stage(Stage.IMPORTING)
                self._import_checks()
                scope = self._scope(ids, context, explicit)
                if phase is None:
                    sink.stage(Stage.DISCOVERING)
                    phase = self._discovered_phase(scope)
                    sink.phase(phase)
            except HookkitError as exc:
                logger.error(redact_text(str(exc)))
                sink.finish(RunResult.failed(phase, str(exc), duration_ms=(self.clock() - started) * 1000.0), None)
                return
            logger.append_keys(phase=phase.value)
            checks = self.registry.checks(phase)
            logger.info(f"running {len(checks)} check(s) for {phase}", checks=[c.name for c in checks])
            sink.announce([Planned(c.name, c.blocking) for c in checks])

            def settled(outcome: Any) -> None:
                # The parent first: writing the log line lets a check holding the interpreter lock in C
                # code take it, maybe for good, and an outcome the parent never got would be made up.
                sink.outcome(outcome)
                observer.outcome(outcome)

            result = run_phase(
                checks,
                phase,
                provide=scope.provide,
                deadline=deadline,
                max_workers=self.max_workers,
                on_outcome=settled,
                on_start=lambda check: sink.start(check.name),
                around=observer.around,
                clock=self.clock,
            )
            discovered = scope.discovered()
            sink.finish(result, discovered.function_name if discovered else self.environ.get(settings.FUNCTION))
        except BaseException as exc:  # noqa: BLE001 - a failure here is the run's outcome, not the end of it
            with _quiet():
                logger.error(
                    "hookkit failed unexpectedly; reporting Failed",
                    exception_name=type(exc).__name__,
                    exception=redact_text(traceback.format_exc()),
                )
            sink.finish(RunResult.failed(phase, f"hookkit failed unexpectedly: {describe_exception(exc)}"), None)

    def _import_checks(self) -> None:
        spec = self.checks if self.checks is not None else self.environ.get(settings.CHECKS)
        if spec is None and len(self.registry):
            return  # the caller imported its checks itself (HookHandler(registry) in its own module)
        import_checks(spec, registry=self.registry)

    def _explicit_phase(self) -> Phase | None:
        """The handler's own binding, else ``HOOKKIT_PHASE``; ``None`` leaves it to discovery."""
        if self.phase is not None:
            return self.phase
        raw = self.environ.get(settings.PHASE, "").strip()
        return Phase.parse(raw, source=settings.PHASE) if raw else None

    def _discovered_phase(self, scope: Scope) -> Phase:
        phase = scope.deployment().phase
        if phase is None:
            raise ConfigurationError(
                f"could not tell which lifecycle event this hook runs for: set {settings.PHASE} "
                "(BeforeAllowTraffic or AfterAllowTraffic) on the hook function"
            )
        return phase

    def _scope(self, ids: HookEvent, context: Any, explicit: Phase | None) -> Scope:
        own_name = getattr(context, "function_name", None) or self.environ.get("AWS_LAMBDA_FUNCTION_NAME")

        def discover_deployment() -> Deployment:
            from .discovery import discover

            return discover(
                ids.deployment_id,
                ids.execution_id,
                codedeploy=self.clients.factory("codedeploy"),
                environ=self.environ,
                phase=explicit,
                hook_function_name=own_name,
            )

        return Scope(
            deployment=discover_deployment,
            context=context,
            target=self._target,
            api=self._api_factory or self._api,
        )

    def _target(self, deployment: Deployment, check: Check, timeout: float) -> Any:
        from ..checks.target import Target
        from .discovery import find_current_version

        def find_current() -> str:
            if not isinstance(deployment.target, LambdaTarget):
                raise TargetError(f"deployment {deployment.deployment_id} has no Lambda target to compare with")
            return find_current_version(
                deployment.deployment_id, deployment.target, codedeploy=self.clients.factory("codedeploy")
            )

        return Target.deployed(deployment, self.clients.factory("lambda"), base_dir=check.base_dir, timeout=timeout,
                               find_current=find_current)

    def _api(self, check: Check, timeout: float) -> Any:
        from ..checks.smoke import Api

        return Api.from_environment(
            self.environ, timeout=timeout, base_dir=check.base_dir,
            cloudformation=self.clients.factory("cloudformation"),
        )

    # --- the report (this process only) ----------------------------------------------------------

    def _report(
        self, ids: HookEvent, run: _Run, lambda_end: float, started: float, observer: Observer
    ) -> dict[str, Any]:
        """Report first, as soon as the verdict is known (the report carries only the status); then
        describe the run (the summary, redacted; the lines of checks cut short; the metrics)."""
        result, isolation = run.result, run.isolation

        def on_retry(attempt: int, exc: BaseException, delay: float) -> None:
            with _quiet():
                logger.warning(redact_text(f"status report attempt {attempt} failed ({exc}); "
                                           f"retrying in {delay:.2f} s"))

        # Leave a little time after the last try for the handler to return.
        report_deadline = lambda_end - min(1.0, (lambda_end - self.clock()) / 4)
        failure: ReportError | None = None
        delivery: Delivery | None = None
        try:
            with _prompt(isolation is Isolation.THREAD):
                delivery = report_status(
                    self.clients.factory("codedeploy-report"),
                    ids.deployment_id,
                    ids.execution_id,
                    result.verdict,
                    deadline=report_deadline,
                    on_retry=on_retry,
                    clock=self.clock,
                )
        except ReportError as exc:
            failure = exc
            with _quiet():
                logger.error(redact_text(f"status {result.verdict} NOT reported: {exc}"), missing_permission=ACTION)
        else:
            with _quiet():
                if delivery is Delivery.ALREADY_COMPLETED:
                    logger.info(
                        f"status {result.verdict} not recorded: CodeDeploy says this lifecycle event is already "
                        "completed (a duplicate delivery of the same event); nothing to do"
                    )
                elif delivery is Delivery.PROBABLY_REPORTED:
                    logger.info(
                        f"status {result.verdict} probably recorded by the earlier attempt of this delivery: its "
                        "answer was lost, and the retry was told the lifecycle event is already completed; "
                        "nothing to do"
                    )
                elif delivery is Delivery.REPORTED:
                    logger.info(f"reported {result.verdict} to CodeDeploy")
        # A Lambda timeout after the report would make Lambda deliver the event again and run every check
        # again: with little time left, a large run is described briefly and the metrics are skipped.
        left = lambda_end - self.clock()
        if left >= _DESCRIBE_S or len(result.outcomes) <= _FEW_CHECKS:
            summary = self._describe(ids, run, observer)
        else:
            summary = self._brief(ids, run, left)
        if left >= _DESCRIBE_S:
            observer.emit_metrics(result, observer.function)
        else:
            with _quiet():
                logger.warning(f"metrics not emitted: only {max(left, 0.0):.2f} s were left after the report, and "
                               "importing and flushing them could outlast the Lambda; keep more time with "
                               f"{settings.REPORT_RESERVE_MS}")
        if failure is not None:
            raise failure  # so Lambda's asynchronous retry delivers the event again
        summary["reported"] = delivery.value if delivery is not None else False
        summary["totalMs"] = round((self.clock() - started) * 1000.0, 1)
        return summary

    def _brief(self, ids: HookEvent, run: _Run, left: float) -> dict[str, Any]:
        """After a report that left less than ``_DESCRIBE_S`` for many checks: the verdict and reason only, said so."""
        result = run.result
        summary: dict[str, Any] = {
            "deploymentId": ids.deployment_id, "lifecycleEventHookExecutionId": ids.execution_id,
            "phase": result.phase.value if result.phase else None, "verdict": result.verdict.value,
            "isolation": run.isolation.value if run.isolation is not None else None,
        }
        with _quiet():
            summary["reason"] = redact_text(result.reason)
            logger.warning(
                f"{result.phase or 'hook'}: {result.verdict} - {summary['reason']}. Only {max(left, 0.0):.2f} s were "
                f"left after the report: the summary of each of the {len(result.outcomes)} checks and the lines of "
                f"{len(run.made)} check(s) cut short are skipped so that the hook ends before its Lambda does (a "
                f"Lambda timeout now would make Lambda run the whole hook again); keep more time for them with "
                f"{settings.REPORT_RESERVE_MS}",
                summary=summary,
            )
        return summary

    def _describe(self, ids: HookEvent, run: _Run, observer: Observer) -> dict[str, Any]:
        """After the report: the lines of checks cut short, and the run's summary, redacted and logged once."""
        result = run.result
        mode = run.isolation.value if run.isolation is not None else None
        for outcome in run.made:
            observer.outcome(outcome)
        if run.cut_short and not result.outcomes:
            with _quiet():
                logger.error(redact_text(result.reason))  # the child could not say it: it was cut short
        try:
            summary: dict[str, Any] = redact_value({
                "deploymentId": ids.deployment_id,
                "lifecycleEventHookExecutionId": ids.execution_id,
                **result.to_dict(),
                "isolation": mode,
            })
        except Exception as exc:  # noqa: BLE001 - describing the run must never cost its report
            with _quiet():
                logger.error(f"could not summarise the run ({type(exc).__name__}); reported {result.verdict} anyway")
            summary = {"deploymentId": ids.deployment_id, "lifecycleEventHookExecutionId": ids.execution_id,
                       "verdict": result.verdict.value, "isolation": mode}
        with _quiet():
            observer.summarise(result, summary, isolation=mode)
        return summary


@dataclass(frozen=True)
class _Run:
    """What the handler knows of a run when it reports: its result, where it ran, whether it was cut
    short (killed at the deadline, or died), and the outcomes made up for checks that never reported."""

    result: RunResult
    isolation: Isolation | None = None
    cut_short: bool = False
    made: list[Outcome] = field(default_factory=list)


def _quiet() -> contextlib.suppress:
    """Around logging in the handler's process: a log line that cannot be written (a check closed or
    jammed the standard streams the process shares with it) is lost, never the report."""
    return contextlib.suppress(Exception)


@contextlib.contextmanager
def _prompt(threads_left_behind: bool) -> Iterator[None]:
    """With checks' threads possibly still spinning in this process, hand the interpreter lock back
    to the report every 0.5 ms instead of every 5: each of the report's system calls waits for it."""
    if not threads_left_behind:
        yield
        return
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """The ready Lambda handler (``Handler: hookkit.handler``): configured by environment only."""
    return _default_handler(event, context)


def prepare() -> None:
    """What Lambda's init does for the ready handler: build its report client before any delivery."""
    _default_handler.prepare()


_default_handler = HookHandler()
