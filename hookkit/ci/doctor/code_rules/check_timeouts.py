"""E9120: the hook's Timeout must outlast its slowest check plus the time kept for the report."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from hookkit.ci.doctor import base
from hookkit.ci.doctor.model import Finding, intrinsic, literal, mapping
from hookkit.core import settings
from hookkit.hook.handler import DEFAULT_RESERVE_MS, MIN_RESERVE_MS

#: SAM's Timeout when neither the function nor Globals set one; Lambda's longest.
DEFAULT_TIMEOUT_S, LONGEST_TIMEOUT_S = 3.0, 900.0


class CheckTimeouts(base.HookkitRule):
    id = "E9120"
    shortdesc = "Hook Timeout is shorter than its slowest check plus the report reserve"
    description = (
        "hookkit stops the checks early enough to report before the hook's Lambda Timeout, keeping "
        f"{settings.REPORT_RESERVE_MS} ({DEFAULT_RESERVE_MS} ms by default) for the report; a check that may take "
        "longer (timeout x (1 + retries), plus the delays between tries) is cut off and the hook reports Failed. "
        "Fix: a Timeout of at least the slowest check plus the reserve."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        reader = base.hook_code(view)
        for hook in view.sam.hooks:
            declared = reader.declared(hook)
            checks = [check for phase in hook.phases for check in declared[1].of_phase(phase)] if declared else []
            if not checks:
                continue  # nothing imported, or nothing declared: E9121 / W9122 / I9110 say why
            timeout = _seconds(hook.properties.get("Timeout", DEFAULT_TIMEOUT_S), view.sam.parameters)
            if timeout is None:
                yield Finding(hook.at("Timeout"), f"{hook.logical_id}'s Timeout is computed at deploy time, so doctor "
                              "cannot compare it with its checks", "check it by hand, or write it as a number",
                              unchecked=True)
                continue
            slowest = max(checks, key=lambda check: check.longest_s)
            reserve_ms = _reserve_ms(hook.variables.get(settings.REPORT_RESERVE_MS))
            budget = timeout - min(reserve_ms / 1000, timeout / 2)  # as the handler keeps it: at most half
            if slowest.longest_s <= budget:
                continue
            needed = math.ceil(slowest.longest_s + reserve_ms / 1000)
            fix = f"set {hook.logical_id}'s Timeout to at least {needed}" if needed <= LONGEST_TIMEOUT_S else (
                f"shorten {slowest.name} (its timeout or retries): Lambda allows at most {LONGEST_TIMEOUT_S:g} s"
            )
            yield Finding(
                hook.at("Timeout"),
                f"hook {hook.logical_id}'s Timeout is {timeout:g} s, but its slowest check, {slowest.name} "
                f"({slowest.phase.value}), may take {slowest.explain()} and hookkit keeps "
                f"{reserve_ms:g} ms to report: the check is cut off and the hook reports Failed",
                fix,
            )


def _seconds(value: Any, parameters: Mapping[str, Any]) -> float | None:
    """A number of seconds; a parameter's Default stands in for ``!Ref Parameter``."""
    function = intrinsic(value)
    if function is not None and function[0] == "Ref":
        value = mapping(parameters.get(str(function[1]))).get("Default")
    text = literal(value)
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _reserve_ms(value: Any) -> float:
    """``HOOKKIT_REPORT_RESERVE_MS`` as the handler reads it: a whole number (at least ``MIN_RESERVE_MS``),
    else the default."""
    text = literal(value)
    try:
        return max(int(text), MIN_RESERVE_MS) if text is not None and text.strip() else DEFAULT_RESERVE_MS
    except ValueError:
        return DEFAULT_RESERVE_MS
