"""Outcomes rendered for people (a table, the details) and for CI systems (JUnit XML, JSON).

All of them read the same :class:`Report` and pass every message and difference through
``hookkit.core.redact`` on the way out, so a token in a URL or a header never lands in a CI
artifact. Values are shown as JSON (``null``, ``true``, ``"text"``) wherever a person reads them:
the function under test speaks JSON, and a Python ``None`` or ``'text'`` would be a translation.

A report also says which run it belongs to (the plan's fingerprint, the shard), and where each
check is declared, so ``hookkit merge`` can put the reports of a CI matrix back together
(:mod:`hookkit.ci.merge`) and CI systems can link a failure to its line.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ConfigurationError
from ..core.outcome import Outcome, RunResult, Status, Verdict, jsonable
from ..core.phases import Phase
from ..core.redact import redact_text, redact_value
from ..core.version import __version__
from .shard import CheckId, Plan, Shard

#: ``hookkit run``'s exit codes: every check passed, a check did not, a usage or configuration error.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: The JUnit ``type`` of a check that could not run as written (``Outcome.configuration``).
CONFIGURATION = "configuration"
#: What a JUnit failure adds for a non-blocking check, and for a blocking one that never ran.
NON_BLOCKING_NOTE = "(non-blocking: reported, does not fail the deployment)"
NOT_RUN_NOTE = "(blocking: a check that did not run fails its phase)"

#: An ANSI escape sequence (a colour, a cursor move): dropped from XML, the text it coloured kept.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
#: What XML 1.0 allows nowhere in a document: control characters other than tab, LF and CR,
#: surrogates (a lone one comes from undecodable bytes), U+FFFE and U+FFFF. Listed, not written as
#: the complement of what it allows, which takes Python 5 ms to compile at every start.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_COLOURS = {
    Status.PASSED: "32", Status.FAILED: "31", Status.ERROR: "31", Status.TIMED_OUT: "33", Status.SKIPPED: "33",
}


@dataclass(frozen=True)
class Report:
    """A run's phase results, the run they belong to, and where each check is declared.

    ``plan`` is the fingerprint of every check the whole run selects (all shards), ``planned``
    their number; ``positions`` gives each check's place in its phase's declaration order.
    """

    results: tuple[RunResult, ...]
    plan: str = ""
    planned: int = 0
    shard: Shard | None = None
    sources: Mapping[CheckId, tuple[str, int]] = field(default_factory=dict)
    positions: Mapping[CheckId, int] = field(default_factory=dict)

    @classmethod
    def of(cls, results: Iterable[RunResult], plan: Plan) -> Report:
        return cls(tuple(results), plan.fingerprint, plan.size, plan.shard, plan.sources(), plan.positions())

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for result in self.results for o in result.outcomes]

    @property
    def configuration_errors(self) -> list[Outcome]:
        """Checks that could not run as written (a missing --current, event file, schema...)."""
        return [o for o in self.outcomes if o.configuration]

    @property
    def exit_code(self) -> int:
        if self.configuration_errors:
            return EXIT_USAGE
        return EXIT_OK if all(r.verdict is Verdict.SUCCEEDED for r in self.results) else EXIT_FAILED

    def source(self, outcome: Outcome) -> tuple[str, int] | None:
        return self.sources.get((outcome.phase, outcome.name))

    def where(self, outcome: Outcome) -> str:
        """``path/to/checks.py:12`` (relative to the current folder when inside it), or ``""``."""
        found = self.source(outcome)
        return f"{shown_path(found[0])}:{found[1]}" if found else ""


def shown_path(path: str, base: str | None = None) -> str:
    """``path`` relative to ``base`` (the current folder by default) when inside it, else as it is."""
    base = os.path.abspath(base or os.getcwd())
    absolute = os.path.abspath(path)
    if absolute == base or absolute.startswith(base.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, base)
    return path


# --- how values, differences and messages read --------------------------------------------------


def render_value(value: Any) -> str:
    """A value as JSON: ``null``, ``true``, ``"text"``, ``{"a": 1}``."""
    return json.dumps(jsonable(value), ensure_ascii=False)


def render_difference(difference: Mapping[str, Any]) -> str:
    """``/path: expected "a", got null`` for a difference as :func:`cleaned` holds it."""
    path = difference["path"] or "(body)"
    return f"{path}: expected {render_value(difference['expected'])}, got {render_value(difference['actual'])}"


def cleaned(outcome: Outcome) -> dict[str, Any]:
    """The outcome as JSON-ready data, its message and differences redacted."""
    data = outcome.to_dict()
    data["message"] = redact_text(data["message"])
    data["differences"] = redact_value(data["differences"])
    return data


def message_lines(outcome: Outcome) -> list[str]:
    """The message's own lines, without the ones that repeat a difference (shown once, as JSON)."""
    message = redact_text(outcome.message)
    repeated = {str(d) for d in outcome.differences} | {redact_text(str(d)) for d in outcome.differences}
    return [line for line in message.splitlines() if line.strip().removeprefix("- ") not in repeated]


def failure_text(outcome: Outcome) -> list[str]:
    """Everything about a check that did not pass: its message, then each difference once."""
    lines = [line for line in message_lines(outcome) if line.strip()]
    lines += [render_difference(d) for d in cleaned(outcome)["differences"]]
    if not lines:
        lines.append(str(outcome.status))
    return lines


def summary_cell(outcome: Outcome, *, shown: int = 3) -> str:
    """One line for the table: the message's first line, or the differences' count and the first few."""
    if not outcome.message and not outcome.differences:  # a check that passed, most often
        return ""
    if outcome.differences:
        differences = [render_difference(d) for d in cleaned(outcome)["differences"]]
        more = "; ..." if len(differences) > shown else ""
        return f"{len(differences)} difference(s): " + "; ".join(differences[:shown]) + more
    own = [line for line in message_lines(outcome) if line.strip()]
    return own[0].strip() if own else ""


def short_phase(phase: Phase | str) -> str:
    """``pre`` / ``post`` for the traffic phases, the CodeDeploy name for the others."""
    return {"BeforeAllowTraffic": "pre", "AfterAllowTraffic": "post"}.get(str(phase), str(phase))


# --- for people ---------------------------------------------------------------------------------


def table(report: Report, *, colour: bool = False, width: int | None = None) -> str:
    """One row per check, then the verdicts. ``width`` cuts the message column (a terminal); ``None`` never."""
    rows = [("check", "phase", "status", "time", "message")]
    statuses = []
    phases: dict[Phase, str] = {}
    for o in report.outcomes:
        name = o.name if o.blocking else f"{o.name} (non-blocking)"
        phase = phases.get(o.phase) or phases.setdefault(o.phase, short_phase(o.phase))
        rows.append((name, phase, o.status.value, f"{o.duration_ms / 1000:.2f}s", summary_cell(o)))
        statuses.append(o.status)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    room = max(20, width - sum(widths) - 8) if width else None
    lines = []
    for index, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        if index and colour:
            cells[2] = f"\033[{_COLOURS[statuses[index - 1]]}m{cells[2]}\033[0m"
        message = row[4] if room is None or len(row[4]) <= room else row[4][: room - 1] + "…"
        lines.append("  ".join([*cells, message]).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 7)
    for result in report.results:
        verdict = result.verdict.value
        if colour:
            verdict = f"\033[{'32' if verdict == 'Succeeded' else '31'}m{verdict}\033[0m"
        lines.append(f"{result.phase or 'hook'}: {verdict} - {redact_text(result.reason)}")
    return "\n".join(lines)


def details(report: Report) -> str:
    """Every check that did not pass, in full: where it is declared, its message, every difference."""
    blocks = []
    for o in report.outcomes:
        if o.passed:
            continue
        where = report.where(o)
        head = f"{o.name} ({short_phase(o.phase)}): {o.status.value} after {o.attempts} attempt(s)"
        head += f" - {where}" if where else ""
        head += "" if o.blocking else " (non-blocking)"
        blocks.append("\n".join([head, *(f"  {line}" for line in failure_text(o))]))
    return "\n\n".join(blocks)


def configuration_lines(report: Report, *, limit: int = 10) -> list[str]:
    """What to fix for each check that could not run as written (exit code 2)."""
    found = report.configuration_errors
    lines = []
    for o in found[:limit]:
        where = report.where(o)
        place = f"{o.phase}, {where}" if where else str(o.phase)
        first = next((line.strip() for line in message_lines(o) if line.strip()), str(o.status))
        lines.append(f"check {o.name!r} ({place}) could not run as written: {first}")
    if len(found) > limit:
        lines.append(f"... and {len(found) - limit} more check(s) that could not run as written (see the report)")
    return lines


# --- for CI systems: JSON ------------------------------------------------------------------------


def to_json(report: Report) -> dict[str, Any]:
    phases = []
    for result in report.results:
        data = result.to_dict()
        data["reason"] = redact_text(data["reason"])
        checks = []
        for outcome in result.outcomes:
            check = cleaned(outcome)
            found = report.source(outcome)
            check["file"], check["line"] = (shown_path(found[0]), found[1]) if found else (None, None)
            check["position"] = report.positions.get((outcome.phase, outcome.name))
            checks.append(check)
        data["checks"] = checks
        phases.append(data)
    run = {
        "plan": report.plan, "checks": report.planned, "shard": str(report.shard) if report.shard else None,
        "hookkit": __version__,
    }
    return {"passed": report.exit_code == EXIT_OK, "run": run, "phases": phases}


def write_json(report: Report, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --- for CI systems: JUnit XML -------------------------------------------------------------------


def to_junit(report: Report) -> ET.ElementTree:
    """One ``testsuite`` per phase, one ``testcase`` per check with the ``file`` and ``line`` declaring it.

    A failure carries the message and each difference once. Properties say which run and shard
    the suite belongs to, so ``hookkit merge`` can join the JUnit of a CI matrix too.
    """
    outcomes = report.outcomes
    suites = ET.Element(
        "testsuites", name="hookkit", tests=str(len(outcomes)),
        failures=str(_count(outcomes, "failure")), errors=str(_count(outcomes, "error")),
        skipped=str(_count(outcomes, "skipped")),
        time=f"{sum(r.duration_ms for r in report.results) / 1000:.3f}",  # the phases run one after the other
    )
    for result in report.results:
        _junit_suite(suites, report, result)
    if not report.results:  # a shard with no share: its run's properties still complete the set for merge
        name = f"hookkit (shard {report.shard}: none of the run's {report.planned} check(s))"
        suite = ET.SubElement(suites, "testsuite", name=name, tests="0", failures="0", errors="0", skipped="0",
                              time="0.000")
        _junit_properties(suite, _run_properties(report))
    _xml_safe_tree(suites)
    tree = ET.ElementTree(suites)
    ET.indent(tree)
    return tree


def _junit_suite(suites: ET.Element, report: Report, result: RunResult) -> None:
    phase = result.phase.value if result.phase else "hook"
    outcomes = list(result.outcomes)
    suite = ET.SubElement(
        suites, "testsuite", name=phase, tests=str(max(len(outcomes), 1)),
        failures=str(_count(outcomes, "failure")), errors=str(_count(outcomes, "error") + (not outcomes)),
        skipped=str(_count(outcomes, "skipped")),
        time=f"{result.duration_ms / 1000:.3f}",
    )
    _junit_properties(suite, {
        **_run_properties(report),
        "hookkit.verdict": result.verdict.value, "hookkit.reason": redact_text(result.reason),
        "hookkit.positions": ",".join(str(report.positions.get((o.phase, o.name), "")) for o in outcomes),
    })
    if not outcomes:  # the phase itself failed before any check ran: say why, as an error
        case = ET.SubElement(suite, "testcase", classname=f"hookkit.{phase}", name="(phase)", time="0")
        ET.SubElement(case, "error", message=redact_text(result.reason)).text = redact_text(result.reason)
    for outcome in outcomes:
        attributes = {
            "classname": f"hookkit.{phase}", "name": outcome.name, "time": f"{outcome.duration_ms / 1000:.3f}",
        }
        found = report.source(outcome)
        if found:
            attributes |= {"file": shown_path(found[0]), "line": str(found[1])}
        case = ET.SubElement(suite, "testcase", attributes)
        if not outcome.blocking:
            own = ET.SubElement(case, "properties")
            ET.SubElement(own, "property", name="hookkit.blocking", value="false")
        if outcome.passed:
            continue
        lines = failure_text(outcome)
        if not outcome.blocking:
            lines.append(NON_BLOCKING_NOTE)
        elif outcome.status is Status.SKIPPED:
            lines.append(NOT_RUN_NOTE)
        tag = _junit_tag(outcome)
        kind = CONFIGURATION if outcome.configuration else outcome.status.value
        ET.SubElement(case, tag, message=lines[0], type=kind).text = "\n".join(lines)


def xml_safe(text: str) -> str:
    """``text`` as XML 1.0 may hold it: ANSI escapes dropped, other forbidden characters shown as ``\\x00``.

    One such character (a NUL, a form feed, a colour code a function logged) makes the whole file
    unreadable to GitLab, Jenkins and ``hookkit merge``; it is replaced by its escape, visible.
    """
    if _NOT_XML.search(text) is None:
        return text
    return _NOT_XML.sub(_escaped, _ANSI.sub("", text))


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _xml_safe_tree(root: ET.Element) -> None:
    """Every text and attribute of ``root`` made :func:`xml_safe`: names, paths, messages, properties."""
    for element in root.iter():
        if element.text:
            element.text = xml_safe(element.text)
        element.attrib = {name: xml_safe(value) for name, value in element.attrib.items()}


def _junit_tag(outcome: Outcome) -> str:
    """``failure``, ``error`` or ``skipped`` for a check that did not pass.

    A blocking check that never ran (the deadline came first) fails its phase as surely as one that
    failed: as ``skipped`` GitLab and Jenkins would show the job green while it exits 1, so it is an
    ``error``. Only a non-blocking check is ``skipped`` when it did not run.
    """
    if outcome.status is Status.FAILED:
        return "failure"
    if outcome.status is Status.SKIPPED and not outcome.blocking:
        return "skipped"
    return "error"


def _count(outcomes: Iterable[Outcome], tag: str) -> int:
    return sum(not o.passed and _junit_tag(o) == tag for o in outcomes)


def _run_properties(report: Report) -> dict[str, str]:
    """Which run and shard a suite belongs to: what ``hookkit merge`` reads back."""
    return {
        "hookkit.plan": report.plan, "hookkit.checks": str(report.planned),
        "hookkit.shard": str(report.shard) if report.shard else "",
    }


def _junit_properties(suite: ET.Element, properties: Mapping[str, str]) -> None:
    listed = ET.SubElement(suite, "properties")
    for name, value in properties.items():
        ET.SubElement(listed, "property", name=name, value=value)


def write_junit(report: Report, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_junit(report).write(path, encoding="utf-8", xml_declaration=True)
    return path


# --- output files, checked before the run -------------------------------------------------------


def check_writable(path: str | os.PathLike[str], option: str) -> None:
    """Refuse an output file that cannot be written, before a run whose report it would lose.

    The folder is created as writing would; the file is opened for appending (nothing is
    truncated) and removed again if this check created it.
    """
    target = Path(path)
    existed = target.exists()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise ConfigurationError(
            f"{option} {os.fspath(path)}: cannot write there ({exc.strerror or exc}); "
            "pick a path in a folder this job may write to"
        ) from None
    if not existed:
        target.unlink(missing_ok=True)
