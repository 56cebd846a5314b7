"""One rehearsed deployment, as CodeDeploy runs it for Lambda, on a virtual clock.

BeforeAllowTraffic -> AllowTraffic (the alias's weights move as the deployment configuration
says) -> AfterAllowTraffic, with the deployment's alarms evaluated throughout. A hook is invoked
asynchronously with CodeDeploy's event; only its status report decides (the invocation's
answer is kept to explain a failure). A ``Failed`` report, no report within CodeDeploy's hour
(Lambda's asynchronous retries included: up to two more attempts, one and two minutes after a
function error), or an alarm in ALARM rolls the alias back to the current version, and
AfterAllowTraffic does not run.

The engine is a loop on one thread over a queue of timed work (traffic shifts, recorded traffic,
alarm evaluations, CodeDeploy's deadline, Lambda's retries) and an inbox for what other threads
report (a status report through the stand-in, a hook invocation returning). See
:mod:`.clock` for how virtual time passes.
"""

from __future__ import annotations

import heapq
import itertools
import json
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any

from ...checks.invocation import Invocation
from ...core import settings
from ...core.errors import ConfigurationError
from ...core.phases import Phase
from ...local.sam import FunctionSpec
from ..doctor.model import HOOK_NAME_PREFIX
from .alarms import ALARM, INSUFFICIENT_DATA, AlarmSpec, Evaluation, datapoints, evaluate
from .api import LocalApi
from .clock import VirtualClock, stamp
from .environments import Environment, WorkerEnvironment, aws_edge, build_environment, hook_environment
from .metrics import MetricStore
from .router import LambdaRouter, Record
from .server import serving
from .standins import StandIns
from .state import DeploymentState
from .template import CURRENT_VERSION, TARGET_VERSION, Plan
from .timeline import Sample, Timeline
from .traffic import Traffic

HOOK_WAIT_S = 3600.0  # CodeDeploy waits up to one hour for a hook's status
RETRY_DELAYS_S = (60.0, 120.0)
UNQUALIFIED = "unqualified"  # Lambda's asynchronous retries after a function error
#: Order of work due at the same moment: an alarm evaluated on data up to now goes before a shift.
_ALARMS, _DEADLINE, _SHIFT, _RETRY, _TRAFFIC, _SAMPLE = range(6)


@dataclass(frozen=True)
class Options:
    speed: float | None = None  # virtual seconds per real second while idle; None jumps over idle time
    seed: int = 0
    hook_wait: float = HOOK_WAIT_S
    sample_every: float = 15.0
    summary_every: float = 60.0
    quiet_every: float = 300.0  # print an unchanged traffic summary at most this often


@dataclass
class Attempt:
    number: int
    at: float
    ended: float | None = None
    invocation: Invocation | None = None

    @property
    def body(self) -> Any:
        if self.invocation is None:
            return None
        try:
            return json.loads(self.invocation.payload)
        except ValueError:
            return None

    @property
    def summary(self) -> dict[str, Any] | None:
        """hookkit's JSON summary, when the hook returned one."""
        body = self.body
        return body if isinstance(body, dict) and "verdict" in body and "checks" in body else None

    @property
    def error(self) -> str | None:
        if self.invocation is None or not self.invocation.function_error:
            return None
        body = self.body
        if isinstance(body, dict):
            return f"{body.get('errorType', 'Unhandled')}: {body.get('errorMessage', '')}".strip()
        return self.invocation.function_error


@dataclass
class HookRun:
    phase: Phase
    logical_id: str
    function: str
    execution_id: str
    started: float
    retries: int
    attempts: list[Attempt] = field(default_factory=list)
    status: str | None = None
    reported_at: float | None = None
    expired_at: float | None = None
    log: str = ""
    not_invoked: str | None = None  # why CodeDeploy could not invoke the hook at all

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase.value, "function": self.function, "logicalId": self.logical_id,
            "executionId": self.execution_id, "started": round(self.started, 3), "status": self.status,
            "reportedAt": None if self.reported_at is None else round(self.reported_at, 3),
            "expiredAt": self.expired_at, "notInvoked": self.not_invoked,
            "attempts": [{"number": a.number, "at": round(a.at, 3), "ended": None if a.ended is None else round(
                a.ended, 3), "error": a.error, "summary": a.summary} for a in self.attempts],
        }


@dataclass(frozen=True)
class HookCause:
    run: HookRun


@dataclass(frozen=True)
class AlarmCause:
    alarm: AlarmSpec
    evaluation: Evaluation
    errors: dict[str, Counter[str]]  # per version: error type -> count, over the datapoints' periods
    invocations: dict[str, int]


@dataclass
class Result:
    plan: Plan
    deployment_id: str
    outcome: str  # "succeeded" or "rolled-back"
    at: float
    cause: HookCause | AlarmCause | None
    timeline: Timeline
    hooks: list[HookRun]
    alarm_states: dict[str, str]
    records: list[Record]
    refused: list[str]

    @property
    def rolled_back(self) -> bool:
        return self.outcome == "rolled-back"


class Simulation:
    """Rehearse ``plan``; :meth:`run` returns the :class:`Result`."""

    def __init__(self, plan: Plan, *, traffic: Traffic | None = None, options: Options | None = None,
                 timeline: Timeline | None = None) -> None:
        self.plan, self.traffic = plan, traffic
        self.options = options or Options()
        self.timeline = timeline or Timeline()
        self.clock = VirtualClock(self.options.speed)
        self.metrics = MetricStore()
        self._random = random.Random(self.options.seed)  # noqa: S311 - ids, not security
        self.deployment_id = "d-" + "".join(self._random.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=9))
        self._queue: list[tuple[float, int, int, Callable[..., None], tuple[Any, ...]]] = []
        self._sequence = itertools.count()
        self._inbox: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]]] = queue.SimpleQueue()
        self._in_flight = 0
        self._outcome: tuple[str, float, HookCause | AlarmCause | None] | None = None
        self.hook_runs: dict[Phase, HookRun] = {}
        self._environments: dict[Phase, WorkerEnvironment] = {}
        self.alarm_states = {alarm.name: INSUFFICIENT_DATA for alarm in plan.alarms}
        self._printed: tuple[float, tuple[Any, ...]] = (-1e9, ())
        self._counts: Counter[tuple[str, bool]] = Counter()
        self._lock = threading.Lock()
        self.state = DeploymentState(
            deployment_id=self.deployment_id, application=f"{plan.logical_id}-app", group=f"{plan.logical_id}-group",
            config_name=plan.config.name, function=plan.function_name, alias=plan.alias,
            current=CURRENT_VERSION, target=TARGET_VERSION,
            hooks={phase: hook.spec.function_name for phase, hook in plan.hooks.items()}, region=plan.target.region,
            on_report=self._on_report, running=self._hook_running, on_frozen=self._on_frozen,
        )
        self._builds: dict[str, Environment] = {}  # made in run(), once the stand-ins' address is known
        self.router = LambdaRouter(
            function=plan.function_name, alias=plan.alias, builds=self._builds, timeout=plan.target.timeout,
            state=self.state, metrics=self.metrics, clock=self.clock, seed=self.options.seed,
            on_record=self._on_record,
        )

    # --- running ---------------------------------------------------------------------------

    def run(self) -> Result:
        standins = StandIns(self.state, self.router, on_refused=self._on_refused)
        with ExitStack() as stack:
            stack.callback(standins.server_close)
            edge = aws_edge(standins.url, self.plan.target.region)
            # nothing the function does may reach AWS either
            current = build_environment(self.plan.current, CURRENT_VERSION, edge=edge)
            self._builds[TARGET_VERSION] = build_environment(self.plan.target, TARGET_VERSION, edge=edge)
            self._builds[CURRENT_VERSION] = current
            try:
                current.load()
            except ConfigurationError as exc:
                raise ConfigurationError(f"the current build (version {CURRENT_VERSION}) cannot run: {exc}") from None
            stack.enter_context(serving(standins))
            api_url = None
            if self.plan.target.routes:
                api = LocalApi(self.router, self.plan.target.routes, timeout=self.plan.target.timeout)
                stack.enter_context(serving(api))
                api_url = api.url
            for phase, hook in self.plan.hooks.items():
                spec = hook.spec if api_url is None else _with_environment(hook.spec, {settings.API_URL: api_url})
                self._environments[phase] = stack.enter_context(_closing(hook_environment(spec, edge=edge)))
            self._start()
            self._loop()
            self._await_hooks()
        assert self._outcome is not None  # noqa: S101 - the loop ends only with an outcome
        outcome, at, cause = self._outcome
        return Result(self.plan, self.deployment_id, outcome, at, cause, self.timeline,
                      list(self.hook_runs.values()), dict(self.alarm_states), list(self.router.records),
                      list(standins.refused))

    def _loop(self) -> None:
        while not self._finished():
            self._drain()
            if self._finished():
                break
            if not self._queue and self._in_flight == 0:
                raise RuntimeError("hookkit simulate: nothing left to wait for and no outcome (a bug; please report)")
            due = self._queue[0][0] if self._queue else None
            busy = self._in_flight > 0
            if due is None or not (self.clock.jumping and not busy):
                self.clock.idle(not busy)
                wait = 1.0 if due is None else self.clock.real_seconds_until(due)
                if wait > 0:
                    try:
                        task, args = self._inbox.get(timeout=min(wait, 1.0))
                    except queue.Empty:
                        continue
                    task(*args)
                    continue
            else:
                self.clock.jump_to(due)
            now = self.clock.now()
            while self._queue and self._queue[0][0] <= now and self._outcome is None:
                at, _, _, task, args = heapq.heappop(self._queue)
                task(at, *args)

    def _finished(self) -> bool:
        return self._outcome is not None

    def _drain(self) -> None:
        while True:
            try:
                task, args = self._inbox.get_nowait()
            except queue.Empty:
                return
            task(*args)

    def _await_hooks(self) -> None:
        """Hooks still running when the deployment ended: let them finish, to show what they said."""
        limit = time.monotonic() + max((h.spec.timeout for h in self.plan.hooks.values()), default=0) + 15
        while self._in_flight > 0 and time.monotonic() < limit:
            try:
                task, args = self._inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            task(*args)

    def _schedule(self, at: float, order: int, task: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._queue, (at, order, next(self._sequence), task, args))

    # --- the lifecycle ---------------------------------------------------------------------

    def _start(self) -> None:
        plan = self.plan
        self.timeline.add(0.0, "deployment", f"{self.deployment_id} started: {plan.function_name} alias "
                          f"{plan.alias}, version {CURRENT_VERSION} -> {TARGET_VERSION}, {plan.config.name}")
        if self.traffic is not None:
            self._schedule(0.0, _TRAFFIC, self._replay, 0)
        for interval in sorted({alarm.interval for alarm in plan.alarms}):
            self._schedule(float(interval), _ALARMS, self._evaluate, interval)
        self._schedule(self.options.sample_every, _SAMPLE, self._sample)
        if Phase.BEFORE_ALLOW_TRAFFIC in plan.hooks:
            self._start_hook(0.0, Phase.BEFORE_ALLOW_TRAFFIC)
        else:
            self.state.set_event(Phase.BEFORE_ALLOW_TRAFFIC.value, "Skipped")
            self._allow_traffic(0.0)

    def _start_hook(self, at: float, phase: Phase) -> None:
        hook = self.plan.hooks[phase]
        execution_id = self.state.open_execution(phase)
        run = HookRun(phase, hook.logical_id, hook.spec.function_name, execution_id, at, hook.retries)
        self.hook_runs[phase] = run
        refused = self._refused_invoke(run.function)
        if refused is not None:
            run.not_invoked = refused
            self.state.expire(execution_id)
            self.timeline.add(at, "hook", f"CodeDeploy cannot invoke {run.function}: {refused}; the lifecycle event "
                              "fails", label=phase.value, phase=phase.value, function=run.function)
            self._roll_back(at, HookCause(run))
            return
        self.timeline.add(at, "hook", f"CodeDeploy invokes {run.function} asynchronously and waits for its status",
                          label=phase.value, phase=phase.value, function=run.function)
        self._schedule(at + self.options.hook_wait, _DEADLINE, self._deadline, phase)
        self._attempt(at, phase)

    def _refused_invoke(self, function: str) -> str | None:
        """Why CodeDeploy's role may not invoke this hook, if it may not."""
        if not self.plan.default_role or function.startswith(HOOK_NAME_PREFIX):
            return None
        return (f"without DeploymentPreference.Role, SAM gives CodeDeploy a role (AWSCodeDeployRoleForLambda) that "
                f"may invoke only functions named {HOOK_NAME_PREFIX}*; name the hook {HOOK_NAME_PREFIX}... "
                "(FunctionName) or give the DeploymentPreference a Role that may invoke it")

    def _attempt(self, at: float, phase: Phase) -> None:
        run = self.hook_runs[phase]
        attempt = Attempt(len(run.attempts) + 1, at)
        run.attempts.append(attempt)
        if attempt.number > 1:
            self.timeline.add(at, "hook", f"Lambda retries the asynchronous invocation (attempt {attempt.number} "
                              f"of {run.retries + 1})", label=phase.value)
        event = json.dumps({"DeploymentId": self.deployment_id, "LifecycleEventHookExecutionId": run.execution_id})
        environment, timeout = self._environments[phase], self.plan.hooks[phase].spec.timeout
        missing = self.plan.hooks[phase].missing_hookkit()
        self._in_flight += 1

        def invoke() -> None:
            if missing is not None:  # Lambda's answer: the handler's module cannot be imported
                body = json.dumps({"errorType": "Runtime.ImportModuleError", "errorMessage": missing})
                answer = Invocation(200, body.encode(), "Unhandled", f"[ERROR] Runtime.ImportModuleError: {missing}",
                                    "$LATEST", 0.0)
            else:
                # CodeDeploy invokes the hook unqualified ($LATEST); LocalInvoker wants any other qualifier for that
                answer = environment.invoke(event.encode(), qualifier=UNQUALIFIED, timeout=timeout)
            self._inbox.put((self._returned, (phase, attempt, answer, self.clock.now())))

        threading.Thread(target=invoke, daemon=True, name=f"hookkit-simulate-{phase.value}").start()

    def _returned(self, phase: Phase, attempt: Attempt, answer: Invocation, at: float) -> None:
        self._in_flight -= 1
        run = self.hook_runs[phase]
        attempt.ended, attempt.invocation = at, answer
        run.log = self._environments[phase].log_tail()
        took = f"after {at - attempt.at:.1f} s"
        summary = attempt.summary
        if attempt.error is not None:
            said = f"with a function error ({_short(attempt.error)})"
        elif summary is not None:
            said = f"its summary: {summary['verdict']} - {_short(str(summary.get('reason', '')), 140)}"
        else:
            said = "normally"
        self.timeline.add(at, "hook", f"the hook's invocation returned {took}, {said}", label=phase.value)
        if self._outcome is not None or run.status is not None or run.expired_at is not None:
            return
        if attempt.error is not None and attempt.number <= run.retries:
            retry_at = at + RETRY_DELAYS_S[min(attempt.number, len(RETRY_DELAYS_S)) - 1]
            self.timeline.add(at, "hook", f"no status reported; Lambda retries at {stamp(retry_at)}",
                              label=phase.value)
            self._schedule(retry_at, _RETRY, self._attempt, phase)
        else:
            deadline = run.started + self.options.hook_wait
            self.timeline.add(at, "hook", f"no status reported; CodeDeploy waits until {stamp(deadline)} "
                              "(its one-hour limit, on the virtual clock)", label=phase.value)

    def _on_report(self, phase: Phase, status: str) -> None:
        """From the stand-in's thread: the first status report of a lifecycle event."""
        self._inbox.put((self._reported, (phase, status, self.clock.now())))

    def _reported(self, phase: Phase, status: str, at: float) -> None:
        run = self.hook_runs[phase]
        run.status, run.reported_at = status, at
        self.timeline.add(at, "hook", f"{run.function} reported {status}", label=phase.value, status=status)
        if self._outcome is not None:
            return
        if status != "Succeeded":
            self._roll_back(at, HookCause(run))
        elif phase is Phase.BEFORE_ALLOW_TRAFFIC:
            self._allow_traffic(at)
        else:
            self._succeed(at)

    def _hook_running(self, phase: Phase) -> bool:
        environment = self._environments.get(phase)
        return environment is not None and environment.running()

    def _on_frozen(self, phase: Phase, status: str) -> None:
        """From the stand-in's thread: a report from a hook environment Lambda would have frozen."""
        self._inbox.put((self._frozen, (phase, status, self.clock.now())))

    def _frozen(self, phase: Phase, status: str, at: float) -> None:
        run = self.hook_runs[phase]
        self.timeline.add(at, "hook", f"{run.function} sent {status} from a thread that was still running, but it "
                          "arrived after its invocation returned: Lambda freezes the environment on return, so "
                          "CodeDeploy never hears it (report before the handler returns)", label=phase.value)

    def _deadline(self, at: float, phase: Phase) -> None:
        run = self.hook_runs[phase]
        if self._outcome is None and self.state.expire(run.execution_id):
            run.expired_at = at
            self.timeline.add(at, "hook", f"no status from {run.function} within one hour: the lifecycle event "
                              "fails", label=phase.value)
            self._roll_back(at, HookCause(run))

    def _allow_traffic(self, at: float) -> None:
        self.state.set_event("AllowTraffic", "InProgress")
        steps = self.plan.config.schedule()
        for index, step in enumerate(steps):
            self._schedule(at + step.at, _SHIFT, self._shift, step.weight, index == len(steps) - 1)

    def _shift(self, at: float, weight: float, last: bool) -> None:
        self.state.set_weight(weight / 100)
        self.timeline.add(at, "shift", f"{self.plan.alias}: {_weights(weight)}", weights=_weight_map(weight))
        if not last:
            return
        self.state.set_event("AllowTraffic", "Succeeded")
        if Phase.AFTER_ALLOW_TRAFFIC in self.plan.hooks:
            self._start_hook(at, Phase.AFTER_ALLOW_TRAFFIC)
        else:
            self.state.set_event(Phase.AFTER_ALLOW_TRAFFIC.value, "Skipped")
            self._succeed(at)

    def _succeed(self, at: float) -> None:
        self._outcome = ("succeeded", at, None)
        self.state.finish("Succeeded")
        self._sample(at, final=True)
        self.timeline.add(at, "success", f"deployment {self.deployment_id} succeeded: {self.plan.alias} serves "
                          f"version {TARGET_VERSION}")

    def _roll_back(self, at: float, cause: HookCause | AlarmCause) -> None:
        self._outcome = ("rolled-back", at, cause)
        self.state.set_weight(0.0)
        self.state.finish("Failed")
        self._sample(at, final=True)
        after = "" if Phase.AFTER_ALLOW_TRAFFIC in self.hook_runs else "; AfterAllowTraffic does not run"
        self.timeline.add(at, "rollback", f"{self.plan.alias} back to version {CURRENT_VERSION} (100%){after}",
                          weights=_weight_map(0.0))

    # --- traffic, alarms, samples ----------------------------------------------------------

    def _replay(self, at: float, index: int) -> None:
        assert self.traffic is not None  # noqa: S101 - scheduled only with traffic
        _, payload = self.traffic.event(index)
        self.router.invoke(self.plan.alias, payload, origin="traffic", at=at)
        self._schedule(at + 1 / self.traffic.rate, _TRAFFIC, self._replay, index + 1)

    def _on_record(self, record: Record) -> None:
        """Samples and traffic lines count what reaches the alias (traffic, API calls), not the hooks' own calls."""
        if record.origin == "hook":
            return
        with self._lock:
            self._counts[(record.version, record.error is not None)] += 1

    def _evaluate(self, at: float, interval: int) -> None:
        for alarm in self.plan.alarms:
            if alarm.interval != interval:
                continue
            previous = self.alarm_states[alarm.name]
            evaluation = evaluate(alarm, datapoints(alarm, self.metrics, at), previous)
            self.alarm_states[alarm.name] = evaluation.state
            if evaluation.state != previous:
                self.timeline.add(at, "alarm", f"{alarm.name}: {previous} -> {evaluation.state}: {evaluation.reason}",
                                  alarm=alarm.name, state=evaluation.state)
            if evaluation.state == ALARM:
                self._roll_back(at, self._alarm_cause(alarm, evaluation))
                return
        self._schedule(at + interval, _ALARMS, self._evaluate, interval)

    def _alarm_cause(self, alarm: AlarmSpec, evaluation: Evaluation) -> AlarmCause:
        start = min((p.start for p in evaluation.used), default=0.0)
        end = max((p.end for p in evaluation.used), default=0.0)
        errors: dict[str, Counter[str]] = {CURRENT_VERSION: Counter(), TARGET_VERSION: Counter()}
        invocations: Counter[str] = Counter()
        for record in self.router.records:
            if start <= record.at < end and record.origin != "hook":
                invocations[record.version] += 1
                if record.error:
                    errors[record.version][record.error] += 1
        return AlarmCause(alarm, evaluation, errors, dict(invocations))

    def _sample(self, at: float, final: bool = False) -> None:
        with self._lock:
            counts, self._counts = self._counts, Counter()
        span = self.options.sample_every
        previous = self.timeline.samples[-1].at if self.timeline.samples else 0.0
        weight = self.state.current_weight() * 100
        sample = Sample(at, at - previous if final else span, _weight_map(weight),
                        {v: counts[(v, False)] + counts[(v, True)] for v in (CURRENT_VERSION, TARGET_VERSION)},
                        {v: counts[(v, True)] for v in (CURRENT_VERSION, TARGET_VERSION)}, dict(self.alarm_states))
        self.timeline.sample(sample)
        self._summarise(at, final)
        if not final:
            self._schedule(at + span, _SAMPLE, self._sample)

    def _summarise(self, at: float, final: bool) -> None:
        """A traffic line per minute when something changed (or errors happened), else every few minutes."""
        every = self.options.summary_every
        if not final and round(at / self.options.sample_every) % round(every / self.options.sample_every):
            return
        window = [s for s in self.timeline.samples if s.at > at - every]
        invocations = {v: sum(s.invocations[v] for s in window) for v in (CURRENT_VERSION, TARGET_VERSION)}
        errors = {v: sum(s.errors[v] for s in window) for v in (CURRENT_VERSION, TARGET_VERSION)}
        shape = (tuple(window[-1].weights.items()) if window else (), tuple(self.alarm_states.items()))
        last_at, last_shape = self._printed
        if not sum(invocations.values()) or at < 1 or (not sum(errors.values()) and shape == last_shape
                                             and at - last_at < self.options.quiet_every):
            return
        self._printed = (at, shape)
        versions = " | ".join(f"v{v} {invocations[v]} inv {errors[v]} err" for v in (CURRENT_VERSION, TARGET_VERSION))
        alarms = "".join(f" | {name} {state}" for name, state in self.alarm_states.items())
        self.timeline.add(at, "traffic", f"last {int(min(every, at))} s: {versions}{alarms}", label="traffic")

    def _on_refused(self, what: str) -> None:
        self._inbox.put((self._refused, (what, self.clock.now())))

    def _refused(self, what: str, at: float) -> None:
        self.timeline.add(at, "note", f"refused a call to {what}: the rehearsal serves CodeDeploy's hook calls and "
                          "Lambda's Invoke only", label="stand-in")


class _closing:  # noqa: N801 - reads as the contextlib helper it mirrors
    """``contextlib.closing`` for an environment, returning it."""

    def __init__(self, environment: WorkerEnvironment) -> None:
        self.environment = environment

    def __enter__(self) -> WorkerEnvironment:
        return self.environment

    def __exit__(self, *exc: object) -> None:
        self.environment.close()


def _with_environment(spec: FunctionSpec, extra: dict[str, str]) -> FunctionSpec:
    return replace(spec, environment={**spec.environment, **extra})


def _weights(weight: float) -> str:
    if weight >= 100:
        return f"version {TARGET_VERSION} 100%"
    if weight <= 0:
        return f"version {CURRENT_VERSION} 100%"
    return f"version {CURRENT_VERSION} {100 - weight:g}%, version {TARGET_VERSION} {weight:g}%"


def _weight_map(weight: float) -> dict[str, float]:
    return {CURRENT_VERSION: round(100 - weight, 3), TARGET_VERSION: round(weight, 3)}


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
