"""A finished run shown to people and handed to CI: the table, the details, the files, GitHub's view.

The files a run will write are checked before it starts (:meth:`Outputs.check`), so a path that
cannot be written is a configuration error up front rather than a traceback after the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from . import github
from .reports import Report, check_writable, configuration_lines, details, table, write_json, write_junit


@dataclass(frozen=True)
class Outputs:
    """Where a run's results go, and how much of them a person sees."""

    junit_xml: str | None = None
    json: str | None = None
    verbose: bool = False
    #: The environment: ``NO_COLOR``; in GitHub Actions, the workspace and the step summary.
    environ: Mapping[str, str] | None = None

    @property
    def env(self) -> Mapping[str, str]:
        return self.environ if self.environ is not None else os.environ

    @property
    def step_summary(self) -> str | None:
        return self.env.get("GITHUB_STEP_SUMMARY") if github.enabled(self.env) else None

    def check(self) -> None:
        """Refuse, before the run, a report file this job cannot write."""
        for path, option in ((self.junit_xml, "--junit-xml"), (self.json, "--json"),
                             (self.step_summary, "GITHUB_STEP_SUMMARY")):
            if path:
                check_writable(path, option)


def publish(
    report: Report, outputs: Outputs, *, stdout: TextIO, stderr: TextIO, annotate: bool = True,
    title: str = "hookkit run",
) -> int:
    """Show and write ``report``; return the run's exit code.

    The table is cut to the terminal's width only on a terminal and without ``-v``: a CI log
    keeps every message whole. ``-v`` adds every message and difference in full.
    """
    tty = stdout.isatty()
    width = shutil.get_terminal_size((120, 20)).columns if tty and not outputs.verbose else None
    print(table(report, colour=tty and not outputs.env.get("NO_COLOR"), width=width), file=stdout)
    if outputs.verbose and any(not o.passed for o in report.outcomes):
        print("\n" + details(report), file=stdout)
    if outputs.junit_xml:
        print(f"JUnit XML written to {write_junit(report, outputs.junit_xml)}", file=stderr)
    if outputs.json:
        print(f"JSON written to {write_json(report, outputs.json)}", file=stderr)
    if github.enabled(outputs.env):
        if annotate:
            for line in github.annotation_lines(report, outputs.env):
                print(line, file=stdout)
        if outputs.step_summary:
            with open(outputs.step_summary, "a", encoding="utf-8") as summary:
                summary.write(github.step_summary(report, outputs.env, title=title))
    for line in configuration_lines(report):
        print(f"hookkit: error: {line}", file=stderr)
    return report.exit_code
