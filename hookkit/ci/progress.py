"""The progress line a CI run shows while its checks run."""

from __future__ import annotations

from typing import TextIO

from ..core.outcome import Outcome


class Progress:
    """One line that counts finished checks: rewritten in place on a terminal, a line per check elsewhere."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream, self.total, self.finished, self.failed = stream, total, 0, 0
        self.tty = stream.isatty()

    def update(self, outcome: Outcome) -> None:
        self.finished += 1
        self.failed += not outcome.passed
        line = f"[{self.finished}/{self.total}] {outcome.status.value:<9} {outcome.name}"
        if self.tty:
            self.stream.write(f"\r\033[K{line}  ({self.failed} not passed)")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()
