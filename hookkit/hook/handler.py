"""The Lambda entry point: parse, discover, run, and report exactly once per delivery.

The shape is "capture every outcome as data, then report from one place": everything before the
report is wrapped so that no exception, hang or import failure can skip it, and the checks stop
early enough to leave a reserve of the Lambda's remaining time for the report itself.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from ..core import settings
from ..core.deployment import Deployment, LambdaTarget
from ..core.errors import ConfigurationError, EventError, HookkitError, ReportError, TargetError
from ..core.loader import import_checks
from ..core.log import logger
from ..core.outcome import RunResult
from ..core.phases import Phase
from ..core.redact import redact_text, redact_value
from ..core.registry import Check, HookRegistry, default_registry
from ..core.runner import DEFAULT_MAX_WORKERS, run_phase
from ..core.scope import ApiFactory, Scope
from .clients import Clients
from .event import HookEvent, parse_event
from .observability import Observer
from .reporting import ACTION, report_status

DEFAULT_RESERVE_MS = 5000
#: Without a Lambda context (a direct call), behave like the longest Lambda can live.
NO_CONTEXT_BUDGET_MS = 900_000


class HookHandler:
    """A CodeDeploy hook: ``handler(event, context) -> summary``; reports whatever happens.

    ``phase`` pins the lifecycle event (else ``HOOKKIT_PHASE``, else discovery); ``checks`` names
    modules to import per delivery (else ``HOOKKIT_CHECKS``; none if the registry is already
    filled by the caller's own imports). ``api`` replaces how smoke-call clients are made (by
    default from ``HOOKKIT_API_*``), e.g. to serve them in-process; ``metrics`` and ``tracer``
    replace Powertools' (see :mod:`hookkit.hook.observability`).
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

    @property
    def environ(self) -> Mapping[str, str]:
        return self._environ if self._environ is not None else os.environ

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        started = self.clock()
        try:
            ids = parse_event(event)
        except EventError as exc:
            # Without both ids there is nothing to report to; retrying would not help either.
            logger.error("unusable hook event, no status can be reported", error=str(exc), field=exc.field)
            return {"reported": False, "error": str(exc)}
        logger.append_keys(deployment_id=ids.deployment_id, execution_id=ids.execution_id)
        observer = Observer(self.environ, metrics=self._metrics, tracer=self._tracer)
        try:
            lambda_end, checks_deadline = self._budget(context, started)
            try:
                result = self._run(ids, context, checks_deadline, observer)
            except BaseException as exc:  # noqa: BLE001 - last line of defence: report anyway
                logger.error(
                    "hookkit failed unexpectedly; reporting Failed",
                    exception_name=type(exc).__name__,
                    exception=redact_text(traceback.format_exc()),
                )
                result = RunResult.failed(self.phase, f"hookkit failed unexpectedly: {type(exc).__name__}: {exc}")
            return self._report(ids, result, lambda_end, started, observer)
        finally:
            logger.remove_keys(["deployment_id", "execution_id", "phase"])

    def _budget(self, context: Any, started: float) -> tuple[float, float]:
        """Lambda's end, and the checks' deadline: a reserve is kept back for the report."""
        try:
            remaining_ms = float(context.get_remaining_time_in_millis())
        except AttributeError:
            remaining_ms = NO_CONTEXT_BUDGET_MS
        except Exception as exc:  # noqa: BLE001 - a strange context must not cost the report
            logger.warning(f"cannot read the Lambda context's remaining time ({exc!r}); assuming 60 s")
            remaining_ms = 60_000.0
        if not remaining_ms > 0:  # NaN or spent: report at once rather than never
            remaining_ms = 0.0
        configured = self.reserve_ms if self.reserve_ms is not None else self._configured_reserve_ms()
        reserve_ms = min(max(float(configured), 0.0), remaining_ms / 2)  # never more than half the time there is
        lambda_end = started + remaining_ms / 1000.0
        return lambda_end, lambda_end - reserve_ms / 1000.0

    def _configured_reserve_ms(self) -> int:
        raw = self.environ.get(settings.REPORT_RESERVE_MS, "")
        try:
            return int(raw) if raw.strip() else DEFAULT_RESERVE_MS
        except ValueError:
            logger.warning(
                f"{settings.REPORT_RESERVE_MS}={raw!r} is not a whole number of milliseconds; "
                f"using {DEFAULT_RESERVE_MS}"
            )
            return DEFAULT_RESERVE_MS

    def _run(self, ids: HookEvent, context: Any, deadline: float, observer: Observer) -> RunResult:
        started = self.clock()
        explicit: Phase | None = None
        try:
            explicit = self._explicit_phase()
            self._import_checks()
            scope = self._scope(ids, context, explicit)
            phase = explicit or self._discovered_phase(scope)
        except HookkitError as exc:
            logger.error(redact_text(str(exc)))
            return RunResult.failed(explicit, str(exc), duration_ms=(self.clock() - started) * 1000.0)
        logger.append_keys(phase=phase.value)
        checks = self.registry.checks(phase)
        logger.info(f"running {len(checks)} check(s) for {phase}", checks=[c.name for c in checks])
        result = run_phase(
            checks,
            phase,
            provide=scope.provide,
            deadline=deadline,
            max_workers=self.max_workers,
            on_outcome=observer.outcome,
            around=observer.around,
            clock=self.clock,
        )
        discovered = scope.discovered()
        observer.function = discovered.function_name if discovered else self.environ.get(settings.FUNCTION)
        return result

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

    def _report(
        self, ids: HookEvent, result: RunResult, lambda_end: float, started: float, observer: Observer
    ) -> dict[str, Any]:
        try:
            summary: dict[str, Any] = redact_value({
                "deploymentId": ids.deployment_id,
                "lifecycleEventHookExecutionId": ids.execution_id,
                **result.to_dict(),
            })
            observer.finish(result, function=observer.function, summary=summary)
        except Exception as exc:  # noqa: BLE001 - describing the run must never cost its report
            logger.error(f"could not summarise the run ({type(exc).__name__}); reporting {result.verdict} anyway")
            summary = {"deploymentId": ids.deployment_id, "lifecycleEventHookExecutionId": ids.execution_id,
                       "verdict": result.verdict.value}

        def on_retry(attempt: int, exc: BaseException, delay: float) -> None:
            logger.warning(f"status report attempt {attempt} failed ({exc}); retrying in {delay:.2f} s")

        # Leave a little time after the last try for the handler to return.
        report_deadline = lambda_end - min(1.0, (lambda_end - self.clock()) / 4)
        try:
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
            logger.error(f"status {result.verdict} NOT reported: {exc}", missing_permission=ACTION)
            raise  # so Lambda's asynchronous retry delivers the event again
        if delivery.value == "already-completed":
            logger.info(
                f"status {result.verdict} not recorded: CodeDeploy says this lifecycle event is already "
                "completed (a duplicate delivery of the same event); nothing to do"
            )
        else:
            logger.info(f"reported {result.verdict} to CodeDeploy")
        summary["reported"] = delivery.value
        summary["totalMs"] = round((self.clock() - started) * 1000.0, 1)
        return summary


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """The ready Lambda handler (``Handler: hookkit.handler``): configured by environment only."""
    return _default_handler(event, context)


_default_handler = HookHandler()
