"""GitHub Actions: an annotation on the line of each check that did not pass, and a job summary.

A run inside GitHub Actions (``GITHUB_ACTIONS=true``) prints ``::error file=...,line=...::``
workflow commands on stdout, which the runner turns into annotations on the check's own line, and
appends a Markdown summary of the run to ``$GITHUB_STEP_SUMMARY``; messages and reasons pass
through ``hookkit.core.redact`` as every report's do. Paths are relative to
``GITHUB_WORKSPACE`` (the checked-out repository) when inside it, which is what links them.

GitHub shows 10 error and 10 warning annotations per step (50 per job); a run annotates that
many of each and says how many more there are. A step summary may hold 1 MiB; the summary lists
at most :data:`SUMMARY_ROWS` checks and cuts long messages.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from ..core.outcome import Outcome
from ..core.redact import redact_text
from .reports import Report, failure_text, short_phase, shown_path

#: Annotations of one level GitHub shows per step.
ANNOTATIONS_PER_LEVEL = 10
#: Checks listed in the job summary, and characters of each message there.
SUMMARY_ROWS = 100
SUMMARY_MESSAGE = 500


def enabled(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped, as GitHub's toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: also ``:`` and ``,``, which end a property."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str) -> str:
    """``::name key=value,...::message``, every part escaped."""
    shown = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + shown if shown else ''}::{escape_data(message)}"


def annotation_lines(report: Report, environ: Mapping[str, str]) -> list[str]:
    """Workflow commands for the checks that did not pass: ``error`` if blocking, else ``warning``."""
    workspace = environ.get("GITHUB_WORKSPACE")
    lines: list[str] = []
    made = {"error": 0, "warning": 0}
    left = {"error": 0, "warning": 0}
    for o in report.outcomes:
        if o.passed:
            continue
        level = "error" if o.blocking else "warning"
        if made[level] == ANNOTATIONS_PER_LEVEL:
            left[level] += 1
            continue
        made[level] += 1
        properties = {"title": f"hookkit: {o.phase} check {o.name} {o.status}"}
        found = report.source(o)
        if found:
            properties = {"file": shown_path(found[0], workspace), "line": str(found[1]), **properties}
        lines.append(command(level, "\n".join(failure_text(o)), **properties))
    hidden = left["error"] + left["warning"]
    if hidden:
        lines.append(
            f"hookkit: {hidden} more check(s) did not pass than GitHub annotates per step "
            f"({ANNOTATIONS_PER_LEVEL} of each level): see the table above and the job summary"
        )
    return lines


def step_summary(report: Report, environ: Mapping[str, str], *, title: str = "hookkit run") -> str:
    """The run as Markdown: each phase's verdict, then the checks that did not pass, linked to their lines."""
    shard = f" (shard {report.shard})" if report.shard else ""
    lines = ["", f"## {title}{shard}", "", "| phase | verdict | checks | not passed | reason |",
             "|---|---|---|---|---|"]
    for result in report.results:
        failed = sum(not o.passed for o in result.outcomes)
        icon = "✅" if result.verdict.value == "Succeeded" else "❌"
        lines.append(
            f"| {result.phase or 'hook'} | {icon} {result.verdict} | {len(result.outcomes)} | {failed} "
            f"| {_cell(redact_text(result.reason))} |"
        )
    not_passed = [o for o in report.outcomes if not o.passed]
    if not_passed:
        lines += ["", f"### {len(not_passed)} check(s) did not pass", "",
                  "| check | phase | status | declared | message |", "|---|---|---|---|---|"]
        for o in not_passed[:SUMMARY_ROWS]:
            message = "\n".join(failure_text(o))
            if len(message) > SUMMARY_MESSAGE:
                message = message[: SUMMARY_MESSAGE - 1] + "…"
            blocking = "" if o.blocking else " (non-blocking)"
            lines.append(
                f"| {_cell(o.name)}{blocking} | {short_phase(o.phase)} | {o.status} | {_where(report, o, environ)} "
                f"| {_cell(message)} |"
            )
        if len(not_passed) > SUMMARY_ROWS:
            lines.append(f"\n... and {len(not_passed) - SUMMARY_ROWS} more: see the job's log or its reports.")
    return "\n".join(lines) + "\n\n"


def _where(report: Report, outcome: Outcome, environ: Mapping[str, str]) -> str:
    found = report.source(outcome)
    if not found:
        return ""
    workspace = environ.get("GITHUB_WORKSPACE")
    path = shown_path(found[0], workspace)
    text = _cell(f"{path}:{found[1]}")
    server, repository, sha = (environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
    if workspace and server and repository and sha and path != found[0]:
        return f"[{text}]({server}/{repository}/blob/{sha}/{path}#L{found[1]})"
    return text


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: HTML escaped, ``|`` escaped, lines joined by ``<br>``."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")
