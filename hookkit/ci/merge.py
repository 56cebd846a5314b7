"""``hookkit merge OUT IN...``: the reports of a run spread over a CI matrix, joined into one.

Each job of the matrix ran ``hookkit run ... --shard K/N --json shard-K.json`` (or
``--junit-xml``). Their reports carry the run's plan fingerprint and their shard, so merging
refuses what would not make the whole run exactly once: reports of different runs (another
commit, other options), of different shard counts, a shard missing or given twice. The merged
report decides each phase from every shard's outcomes, as one run would have, checks in
declaration order; ``hookkit merge`` exits as ``hookkit run`` would have (0, 1 or 2).

OUT is JUnit XML when it ends in ``.xml``, else JSON. The inputs may be either kind; JSON keeps
each difference as data, JUnit only as the failure's text.
"""

from __future__ import annotations

import argparse
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..core.errors import ConfigurationError, Difference
from ..core.outcome import Outcome, RunResult, Status, Verdict
from ..core.phases import Phase
from .publish import Outputs, publish
from .reports import CONFIGURATION, NON_BLOCKING_NOTE, NOT_RUN_NOTE, Report
from .shard import CheckId, Shard


def merge_command(args: argparse.Namespace, *, stdout: TextIO, stderr: TextIO) -> int:
    out = args.output
    junit = out.lower().endswith(".xml")
    for name in args.inputs:
        if os.path.abspath(name) == os.path.abspath(out):
            raise ConfigurationError(f"merge: {out} is both the output and an input; write the merged report elsewhere")
    outputs = Outputs(junit_xml=out if junit else None, json=None if junit else out, verbose=args.verbose)
    outputs.check()
    merged = merge([(name, read_report(name)) for name in args.inputs])
    return publish(merged, outputs, stdout=stdout, stderr=stderr, annotate=False, title="hookkit merge")


def merge(reports: Sequence[tuple[str, Report]]) -> Report:
    """One report of the whole run from the reports of its shards; a ConfigurationError says what does not fit."""
    for name, report in reports:
        if not report.plan:
            raise ConfigurationError(
                f"merge: {name} carries no run information (the plan, the shard): merge reports that "
                "hookkit run --json/--junit-xml wrote"
            )
    first_name, first = reports[0]
    for name, report in reports[1:]:
        if report.plan != first.plan:
            raise ConfigurationError(
                f"merge: {first_name} and {name} come from different runs (their plans differ: other checks, "
                "phases or code); merge the reports of the shards of one run"
            )
    count = _count(reports)
    by_index: dict[int, str] = {}
    for name, report in reports:
        index = report.shard.index if report.shard else 1
        if index in by_index:
            raise ConfigurationError(f"merge: {by_index[index]} and {name} are both shard {index}/{count}")
        by_index[index] = name
    missing = [str(i) for i in range(1, count + 1) if i not in by_index]
    if missing:
        raise ConfigurationError(
            f"merge: shard(s) {', '.join(missing)} of {count} missing; pass the report of every job of the matrix "
            f"(given: {', '.join(f'{by_index[i]} = {i}/{count}' for i in sorted(by_index))})"
        )
    return _joined(reports)


def _count(reports: Sequence[tuple[str, Report]]) -> int:
    counts = {name: report.shard.count if report.shard else 1 for name, report in reports}
    if len(set(counts.values())) > 1:
        shown = ", ".join(f"{name} of {n}" for name, n in counts.items())
        raise ConfigurationError(f"merge: the reports split the run differently ({shown}); merge one matrix's reports")
    return next(iter(counts.values()))


def _joined(reports: Sequence[tuple[str, Report]]) -> Report:
    phases: dict[Phase, list[Outcome]] = {}
    durations: dict[Phase, float] = {}
    sources: dict[CheckId, tuple[str, int]] = {}
    positions: dict[CheckId, int] = {}
    seen: dict[CheckId, str] = {}
    for name, report in sorted(reports, key=lambda item: item[1].shard.index if item[1].shard else 1):
        sources.update(report.sources)
        positions.update(report.positions)
        for result in report.results:
            if result.phase is None:
                continue
            phases.setdefault(result.phase, [])
            durations[result.phase] = max(durations.get(result.phase, 0.0), result.duration_ms)
            for outcome in result.outcomes:
                key = (outcome.phase, outcome.name)
                if key in seen:
                    raise ConfigurationError(f"merge: check {outcome.name!r} ({outcome.phase}) is in {seen[key]} "
                                             f"and in {name}; each check runs in one shard")
                seen[key] = name
                phases[result.phase].append(outcome)
    first = reports[0][1]
    if len(seen) != first.planned:
        raise ConfigurationError(
            f"merge: the reports hold {len(seen)} check(s), the run planned {first.planned}; "
            "a report is incomplete (was a job cancelled while writing it?)"
        )
    results = []
    for phase, outcomes in phases.items():
        ordered = sorted(outcomes, key=lambda o: (positions.get((o.phase, o.name), len(positions)), o.name))
        results.append(RunResult.from_outcomes(phase, ordered, duration_ms=durations[phase]))
    return Report(tuple(results), first.plan, first.planned, None, sources, positions)


# --- reading reports back -------------------------------------------------------------------------


def read_report(path: str) -> Report:
    """A report ``hookkit run`` wrote, JSON or JUnit XML (told apart by content)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"merge: cannot read {path} ({exc.strerror or exc})") from None
    try:
        if data.lstrip().startswith(b"<"):
            return _from_junit(data)
        return _from_json(json.loads(data))
    except (ValueError, KeyError, TypeError, AttributeError, ET.ParseError) as exc:
        raise ConfigurationError(
            f"merge: {path} is not a report hookkit run wrote ({type(exc).__name__}: {exc}); "
            "pass the files of --json or --junit-xml"
        ) from None


def _from_json(data: dict[str, Any]) -> Report:
    run = data["run"]
    results = []
    sources: dict[CheckId, tuple[str, int]] = {}
    positions: dict[CheckId, int] = {}
    for phase_data in data["phases"]:
        phase = Phase.parse(phase_data["phase"])
        outcomes = []
        for check in phase_data["checks"]:
            outcome = Outcome(
                name=check["name"], phase=phase, status=Status(check["status"]), blocking=bool(check["blocking"]),
                attempts=int(check["attempts"]), duration_ms=float(check["durationMs"]), message=check["message"],
                differences=tuple(Difference(d["path"], d["expected"], d["actual"]) for d in check["differences"]),
                configuration=bool(check.get("configurationError", False)),
            )
            outcomes.append(outcome)
            _place(sources, positions, (phase, outcome.name), check.get("file"), check.get("line"),
                   check.get("position"))
        results.append(RunResult(phase, tuple(outcomes), Verdict(phase_data["verdict"]), phase_data["reason"],
                                 float(phase_data["durationMs"])))
    shard = Shard.parse(run["shard"], source="shard") if run.get("shard") else None
    return Report(tuple(results), str(run["plan"]), int(run["checks"]), shard, sources, positions)


def _from_junit(data: bytes) -> Report:
    # hookkit's own reports, from this CI run; Python's expat refuses entity expansion bombs
    root = ET.fromstring(data)  # noqa: S314
    results = []
    sources: dict[CheckId, tuple[str, int]] = {}
    positions: dict[CheckId, int] = {}
    info: dict[str, str] = {}
    for suite in root.iter("testsuite"):
        properties = {p.get("name", ""): p.get("value", "") for p in suite.findall("properties/property")}
        info = info or properties
        if "hookkit.verdict" not in properties:  # a shard with no share: the run's properties, no phase
            continue
        phase = Phase.parse(suite.get("name", ""))
        places = properties.get("hookkit.positions", "").split(",")
        outcomes = []
        for n, case in enumerate(c for c in suite.findall("testcase") if c.get("name") != "(phase)"):
            outcome = _case(case, phase)
            outcomes.append(outcome)
            place = places[n] if n < len(places) and places[n] else None
            _place(sources, positions, (phase, outcome.name), case.get("file"), case.get("line"), place)
        results.append(RunResult(phase, tuple(outcomes), Verdict(properties.get("hookkit.verdict", "Failed")),
                                 properties.get("hookkit.reason", ""), float(suite.get("time", "0")) * 1000))
    shard_text = info.get("hookkit.shard")
    shard = Shard.parse(shard_text, source="shard") if shard_text else None
    return Report(tuple(results), info.get("hookkit.plan", ""), int(info.get("hookkit.checks", "0")), shard,
                  sources, positions)


def _case(case: ET.Element, phase: Phase) -> Outcome:
    blocking = all(p.get("value") != "false" for p in case.findall("properties/property")
                   if p.get("name") == "hookkit.blocking")
    status, message, configuration = Status.PASSED, "", False
    for tag in ("failure", "error", "skipped"):
        found = case.find(tag)
        if found is not None:
            kind = found.get("type", "")
            configuration = kind == CONFIGURATION
            status = Status.ERROR if configuration else Status(kind) if kind in set(Status) else Status.FAILED
            message = found.text or found.get("message") or ""
            break
    for note in (NON_BLOCKING_NOTE, NOT_RUN_NOTE):
        message = message.removesuffix(f"\n{note}")
    return Outcome(name=case.get("name", ""), phase=phase, status=status, blocking=blocking,
                   attempts=0 if status is Status.SKIPPED else 1,
                   duration_ms=float(case.get("time", "0")) * 1000, message=message,
                   configuration=configuration)


def _place(
    sources: dict[CheckId, tuple[str, int]], positions: dict[CheckId, int], key: CheckId,
    file: str | None, line: Any, position: Any,
) -> None:
    if file and line is not None:
        sources[key] = (file, int(line))
    if position is not None:
        positions[key] = int(position)
