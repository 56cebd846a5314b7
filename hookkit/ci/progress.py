"""Where a CI run is while its checks run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from ..core.outcome import Outcome


class Progress:
    """Counts finished checks.

    On a terminal, one line rewritten in place after every check. Elsewhere (a CI log, where
    nothing is rewritten) a summary line at most every ``interval`` seconds and one at the end:
    a replay of 10,000 events writes a few lines, not 10,000.
    """

    INTERVAL = 5.0  # seconds between summaries in a log

    def __init__(
        self, stream: TextIO, total: int, *, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream, self.total, self.finished, self.failed = stream, total, 0, 0
        self.tty = stream.isatty()
        self.interval, self.clock = interval, clock
        self.started = self.said = clock()

    def update(self, outcome: Outcome) -> None:
        self.finished += 1
        self.failed += not outcome.passed
        if self.tty:
            line = f"[{self.finished}/{self.total}] {outcome.status.value:<9} {outcome.name}"
            self.stream.write(f"\r\033[K{line}  ({self.failed} not passed)")
            self.stream.flush()
        elif self.clock() - self.said >= self.interval:
            self._summary()

    def summary(self) -> str:
        """``1,234/10,000 checks done, 3 not passed, 12 s``."""
        return (f"{self.finished:,}/{self.total:,} checks done, {self.failed:,} not passed, "
                f"{self.clock() - self.started:.0f} s")

    def _summary(self) -> None:
        self.said = self.clock()
        self.stream.write(self.summary() + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()
        else:
            self._summary()
