"""The end of a rehearsal in words a person acts on, and the whole of it as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from ...core.redact import redact_text, redact_value
from .alarms import OPERATORS
from .clock import stamp
from .engine import AlarmCause, HookCause, HookRun, Result
from .metrics import show_dimensions
from .template import CURRENT_VERSION, TARGET_VERSION

_MAX_CHECKS = 8


def header(result_plan: Any, traffic: Any, speed: float | None) -> list[str]:
    """What is about to be rehearsed, before the timeline starts."""
    plan = result_plan
    lines = [
        f"hookkit simulate: {plan.logical_id} ({plan.template}), alias {plan.alias}",
        f"  version {CURRENT_VERSION} (current): {plan.current.code_uri}",
        f"  version {TARGET_VERSION} (new):     {plan.target.code_uri}",
        f"  deployment configuration {plan.config.describe()}",
    ]
    for phase, hook in plan.hooks.items():
        origin = ""
        if hook.missing_hookkit() is not None:
            origin = "; no hookkit: no Layers and none in its CodeUri, so Lambda cannot import its handler"
        elif hook.spec.handler.startswith("hookkit."):
            layers = f" (layer {', '.join(hook.layers)} in AWS)" if hook.layers else " (its own code in AWS)"
            origin = f"; hookkit from this Python environment{layers}"
        lines.append(f"  {phase.value} hook: {hook.spec.function_name} ({hook.spec.handler}, Timeout "
                     f"{hook.spec.timeout:g} s{origin})")
    lines += [f"  alarm {alarm.describe()}" for alarm in plan.alarms]
    lines += [f"  alarm {name}: ignored (--ignore-alarm)" for name in plan.ignored_alarms]
    lines.append(f"  traffic: {traffic.describe() if traffic else 'none (--traffic DIR to replay recorded events)'}")
    clock = "jumping over idle time (--speed max)" if speed is None else f"{speed:g}x while idle (--speed {speed:g})"
    lines.append(f"  virtual clock: {clock}; hooks run in real time")
    lines += [f"  warning: {warning}" for warning in plan.warnings]
    return lines


def conclusion(result: Result) -> list[str]:
    """The verdict, and for a rollback its cause: what failed, why, and where to look."""
    if not result.rolled_back:
        total = len([r for r in result.records if r.origin != "hook"])
        return [f"The deployment would SUCCEED at {stamp(result.at)}: {result.plan.alias} -> version "
                f"{TARGET_VERSION}, {total} invocation(s) through the alias."]
    lines = [f"The deployment would be ROLLED BACK at {stamp(result.at)}: {result.plan.alias} stays on version "
             f"{CURRENT_VERSION}."]
    cause = result.cause
    if isinstance(cause, HookCause):
        lines += _hook_cause(cause.run)
    elif isinstance(cause, AlarmCause):
        lines += _alarm_cause(cause)
    return [redact_text(line) for line in lines]


def _hook_cause(run: HookRun) -> list[str]:
    phase = run.phase.value
    if run.not_invoked is not None:
        return [f"Cause: CodeDeploy cannot invoke the {phase} hook {run.function}: {run.not_invoked}."]
    if run.status is not None:
        lines = [f"Cause: the {phase} hook {run.function} reported {run.status}."]
    else:
        tried = f"{len(run.attempts)} attempt(s)"
        lines = [f"Cause: the {phase} hook {run.function} reported no status within CodeDeploy's one hour "
                 f"({tried}; the hour passed on the virtual clock)."]
    summaries = [a for a in run.attempts if a.summary is not None]
    if summaries:
        summary = summaries[-1].summary or {}
        lines.append(f"  hookkit's verdict: {summary.get('verdict')}: {summary.get('reason', '')}")
        failed = [c for c in summary.get("checks", []) if c.get("status") != "passed"]
        for check in failed[:_MAX_CHECKS]:
            message = str(check.get("message", "")).strip().splitlines()
            lines.append(f"  - {check.get('name')} ({check.get('status')})" + (f": {message[0]}" if message else ""))
            lines += [f"      {line.strip()}" for line in message[1:6]]
        if len(failed) > _MAX_CHECKS:
            lines.append(f"  ... and {len(failed) - _MAX_CHECKS} more (see --json)")
    errors = [a for a in run.attempts if a.error]
    for attempt in errors[-1:]:
        lines.append(f"  attempt {attempt.number} ended with a function error: {attempt.error}")
    if not summaries and not errors and run.attempts:
        lines.append("  the hook returned without a hookkit summary; its status is all CodeDeploy had")
    if run.status is None:
        lines.append("  a hook must call PutLifecycleEventHookExecutionStatus before its own Timeout, whatever "
                     "happens: without it CodeDeploy waits an hour, then fails the deployment")
    tail = [line for line in run.log.splitlines() if line.strip()][-5:]
    if tail and (errors or run.status is None):
        lines.append("  the hook's last output:")
        lines += [f"    {line[:200]}" for line in tail]
    return lines


def _alarm_cause(cause: AlarmCause) -> list[str]:
    alarm = cause.alarm
    symbol = OPERATORS[alarm.comparison][0]
    lines = [
        f"Cause: alarm {alarm.name} went to ALARM.",
        f"  metric: {alarm.namespace} {alarm.metric} ({show_dimensions(alarm.dimensions)}), {alarm.statistic} over "
        f"{alarm.period} s",
        f"  rule: {alarm.datapoints_to_alarm} of the last {alarm.evaluation_periods} datapoint(s) {symbol} "
        f"{alarm.threshold:g} (missing data: {alarm.treat_missing})",
        "  datapoints: " + ", ".join(
            f"{p.show()}{' (breaching)' if p.breaching else ''}" for p in cause.evaluation.used),
    ]
    for version in (CURRENT_VERSION, TARGET_VERSION):
        errors = cause.errors.get(version)
        total = cause.invocations.get(version, 0)
        if errors:
            kinds = ", ".join(f"{kind} x{count}" for kind, count in errors.most_common(5))
            lines.append(f"  version {version} failed {sum(errors.values())} of {total} invocation(s) in those "
                         f"periods: {kinds}")
        elif total:
            lines.append(f"  version {version}: {total} invocation(s) in those periods, no errors")
    return lines


def to_json(result: Result, header_lines: list[str]) -> dict[str, Any]:
    plan = result.plan
    cause: dict[str, Any] | None = None
    if isinstance(result.cause, HookCause):
        cause = {"kind": "hook", "phase": result.cause.run.phase.value, "function": result.cause.run.function,
                 "status": result.cause.run.status}
    elif isinstance(result.cause, AlarmCause):
        cause = {"kind": "alarm", "alarm": result.cause.alarm.name, "metric": result.cause.alarm.metric,
                 "datapoints": [{"start": p.start, "end": p.end, "value": p.value, "breaching": p.breaching}
                                for p in result.cause.evaluation.used],
                 "errors": {v: dict(c) for v, c in result.cause.errors.items()}}
    return cast(dict[str, Any], redact_value({
        "deploymentId": result.deployment_id,
        "function": plan.function_name, "logicalId": plan.logical_id, "alias": plan.alias,
        "template": str(plan.template),
        "versions": {CURRENT_VERSION: str(plan.current.code_uri), TARGET_VERSION: str(plan.target.code_uri)},
        "configuration": {"name": plan.config.name, "type": plan.config.kind,
                          "steps": [{"at": s.at, "weight": s.weight} for s in plan.config.schedule()]},
        "outcome": result.outcome, "at": round(result.at, 3), "cause": cause,
        "summary": conclusion(result), "header": header_lines,
        "events": [e.to_dict() for e in result.timeline.events],
        "samples": [s.to_dict() for s in result.timeline.samples],
        "hooks": [run.to_dict() for run in result.hooks],
        "alarms": {alarm.name: {"rule": alarm.rule(), "state": result.alarm_states.get(alarm.name)}
                   for alarm in plan.alarms},
        "refusedCalls": result.refused,
    }))


def write_json(result: Result, header_lines: list[str], path: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(to_json(result, header_lines), indent=2) + "\n", encoding="utf-8")
