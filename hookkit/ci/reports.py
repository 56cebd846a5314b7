"""Outcomes rendered for people (a table) and for CI systems (JUnit XML, JSON).

All three read the same :class:`~hookkit.core.outcome.RunResult` records and pass every message and
difference through ``hookkit.core.redact`` on the way out, so a token in a URL or a header never lands
in a CI artifact.
"""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..core.outcome import Outcome, RunResult, Status
from ..core.redact import redact_text, redact_value

#: ``hookkit run``'s exit codes: every check passed, a check did not, a usage or configuration error.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

_COLOURS = {
    Status.PASSED: "32", Status.FAILED: "31", Status.ERROR: "31", Status.TIMED_OUT: "33", Status.SKIPPED: "33",
}


def _clean(outcome: Outcome) -> dict[str, Any]:
    data = outcome.to_dict()
    data["message"] = redact_text(data["message"])
    data["differences"] = redact_value(data["differences"])
    return data


def to_json(results: Sequence[RunResult]) -> dict[str, Any]:
    phases = []
    for result in results:
        data = result.to_dict()
        data["reason"] = redact_text(data["reason"])
        data["checks"] = [_clean(o) for o in result.outcomes]
        phases.append(data)
    return {"passed": bool(results) and all(r.verdict.value == "Succeeded" for r in results), "phases": phases}


def write_json(results: Sequence[RunResult], path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(results), indent=2) + "\n", encoding="utf-8")
    return path


def write_junit(results: Sequence[RunResult], path: str | os.PathLike[str]) -> Path:
    """One ``testsuite`` per phase, one ``testcase`` per check; failures carry the differences."""
    suites = ET.Element("testsuites", name="hookkit")
    for result in results:
        phase = result.phase.value if result.phase else "hook"
        outcomes = list(result.outcomes)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=phase,
            tests=str(max(len(outcomes), 1)),
            failures=str(sum(o.status is Status.FAILED for o in outcomes)),
            errors=str(sum(o.status in (Status.ERROR, Status.TIMED_OUT) for o in outcomes) + (not outcomes)),
            skipped=str(sum(o.status is Status.SKIPPED for o in outcomes)),
            time=f"{result.duration_ms / 1000:.3f}",
        )
        if not outcomes:  # the phase itself failed before any check ran: say why, as an error
            case = ET.SubElement(suite, "testcase", classname=f"hookkit.{phase}", name="(phase)", time="0")
            ET.SubElement(case, "error", message=redact_text(result.reason)).text = redact_text(result.reason)
        for outcome in outcomes:
            case = ET.SubElement(
                suite, "testcase", classname=f"hookkit.{phase}", name=outcome.name,
                time=f"{outcome.duration_ms / 1000:.3f}",
            )
            if outcome.passed:
                continue
            data = _clean(outcome)
            tag = {Status.FAILED: "failure", Status.SKIPPED: "skipped"}.get(outcome.status, "error")
            first_line = data["message"].splitlines()[0] if data["message"] else str(outcome.status)
            element = ET.SubElement(case, tag, message=first_line)
            lines = [data["message"]] + [
                f"{d['path'] or '(body)'}: expected {d['expected']!r}, got {d['actual']!r}" for d in data["differences"]
            ]
            if not outcome.blocking:
                lines.append("(non-blocking: reported, does not fail the deployment)")
            element.text = "\n".join(line for line in lines if line)
    tree = ET.ElementTree(suites)
    ET.indent(tree)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path


def table(results: Iterable[RunResult], *, colour: bool = False, width: int | None = None) -> str:
    """The summary a person reads at the end of a run: one row per check, then the verdicts."""
    width = width or shutil.get_terminal_size((120, 20)).columns
    rows = [("check", "phase", "status", "time", "message")]
    statuses = []
    results = list(results)
    for result in results:
        for o in result.outcomes:
            message = redact_text(o.message).splitlines()[0] if o.message else ""
            if o.message and len(o.differences) > 0:
                message = f"{len(o.differences)} difference(s): " + "; ".join(
                    redact_text(str(d)) for d in o.differences[:3]
                )
            name = o.name if o.blocking else f"{o.name} (non-blocking)"
            rows.append((name, _short(o.phase.value), o.status.value, f"{o.duration_ms / 1000:.2f}s", message))
            statuses.append(o.status)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    room = max(20, width - sum(widths) - 8)
    lines = []
    for index, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        if index and colour:
            cells[2] = f"\033[{_COLOURS[statuses[index - 1]]}m{cells[2]}\033[0m"
        message = row[4] if len(row[4]) <= room else row[4][: room - 1] + "…"
        lines.append("  ".join([*cells, message]).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * min(room, 7))
    for result in results:
        verdict = result.verdict.value
        if colour:
            verdict = f"\033[{'32' if verdict == 'Succeeded' else '31'}m{verdict}\033[0m"
        lines.append(f"{result.phase or 'hook'}: {verdict} - {redact_text(result.reason)}")
    return "\n".join(lines)


def _short(phase: str) -> str:
    return {"BeforeAllowTraffic": "pre", "AfterAllowTraffic": "post"}.get(phase, phase)


def emit(
    results: Sequence[RunResult], *, junit_xml: str | None, json_path: str | None, stdout: TextIO, stderr: TextIO
) -> int:
    """The table on ``stdout``, the files CI asked for, and the run's exit code."""
    colour = stdout.isatty() and not os.environ.get("NO_COLOR")
    print(table(results, colour=colour), file=stdout)
    if junit_xml:
        print(f"JUnit XML written to {write_junit(results, junit_xml)}", file=stderr)
    if json_path:
        print(f"JSON written to {write_json(results, json_path)}", file=stderr)
    return EXIT_OK if all(r.verdict.value == "Succeeded" for r in results) else EXIT_FAILED
