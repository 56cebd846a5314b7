"""Recorded traffic, replayed through the alias at a steady rate, looping.

A folder of JSON files, each one event as the function receives it: an API Gateway proxy event
(REST or HTTP API, as recorded from the function's log or from ``sam local generate-event``) or a
direct invocation payload. Files are read once, strictly, as data (:mod:`hookkit.checks.eventfiles`);
``NAME.expect.json`` files beside them (``hookkit run``'s expectations) are not traffic and are
skipped. The replay order is the files' sorted paths, so a rehearsal is repeatable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ...checks.eventfiles import event_payload
from ...core.errors import ConfigurationError

EXPECT_SUFFIX = ".expect.json"


@dataclass(frozen=True)
class Traffic:
    folder: Path
    events: tuple[tuple[str, bytes], ...]  # (name relative to the folder, payload)
    rate: float  # events per virtual second

    def event(self, index: int) -> tuple[str, bytes]:
        return self.events[index % len(self.events)]

    def describe(self) -> str:
        return f"{len(self.events)} recorded event(s) from {self.folder}, {self.rate:g}/s, looping"


def load_traffic(folder: str | os.PathLike[str], *, rate: float) -> Traffic:
    root = Path(folder)
    if not root.is_dir():
        raise ConfigurationError(f"--traffic {folder}: not a folder; give a folder of recorded events (*.json)")
    if not rate > 0:
        raise ConfigurationError(f"--rate {rate}: give a positive number of events per second, e.g. 2")
    files = sorted(p for p in root.rglob("*.json") if p.is_file() and not p.name.endswith(EXPECT_SUFFIX))
    if not files:
        raise ConfigurationError(f"--traffic {folder}: no *.json events in it; record some (one event per file)")
    return Traffic(root, tuple((str(p.relative_to(root)), event_payload(p)) for p in files), rate)
