"""What every benchmark shares: alternating rounds, medians, rows of the table, progress, the machine.

A benchmark measures hookkit and its baseline in the same run, one after the other, round after
round, so that whatever else the machine is doing lands on both; the figures quoted are medians.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass(frozen=True)
class Row:
    """One line of the table. ``passed`` is None for figures printed for information only."""

    figure: str
    hookkit: str
    baseline: str
    ratio: str = ""
    target: str = ""
    passed: bool | None = None

    @property
    def result(self) -> str:
        return "" if self.passed is None else ("pass" if self.passed else "MISS")


class Progress:
    """One status line on stderr: rewritten in place on a terminal, a line per step elsewhere."""

    def __init__(self, stream: Any = sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()

    def __call__(self, text: str) -> None:
        line = f"[bench {time.monotonic() - self.started:5.1f}s] {text}"
        self.stream.write(f"\r\033[K{line}" if self.tty else line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


def alternate(
    rounds: int,
    sides: dict[str, Callable[[], float | dict[str, float]]],
    progress: Callable[[str], None],
    what: str,
    warmup: bool = True,
) -> dict[str, list[Any]]:
    """Run each side once per round, in turn; returns every side's measurements, by side.

    A side returns a number (seconds, bytes...) or a dict of numbers. With ``warmup`` each side
    runs once first, unrecorded: imports, compiled bytecode and the page cache are then warm for
    both, as they are on a CI runner's second job.
    """
    results: dict[str, list[Any]] = {name: [] for name in sides}
    if warmup:
        for name, side in sides.items():
            progress(f"{what}: warm-up ({name})")
            side()
    for n in range(1, rounds + 1):
        for name, side in sides.items():
            progress(f"{what}: round {n}/{rounds} ({name})")
            results[name].append(side())
    return results


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def medians(values: Sequence[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(v[key] for v in values) for key in values[0]}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def mib(size: float) -> str:
    return f"{size / 2**20:,.1f} MiB"


def ratio(value: float, baseline: float) -> str:
    if not baseline:
        return "-"
    r = value / baseline
    return f"{r:,.0f}" if r >= 100 else f"{r:.2f}"


def child_environment(**extra: str) -> dict[str, str]:
    """The environment for measured child processes: no AWS, no user site, bytecode cached aside.

    Compiled bytecode goes to a folder of its own rather than next to the sources (an installed
    package has it; a checkout run with PYTHONDONTWRITEBYTECODE would recompile every import).
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "HOOKKIT_", "POWERTOOLS_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / "hookkit-bench-pycache"),
        PYTHONNOUSERSITE="1",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "bench")]),
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra)
    return env


def run_child(
    args: Sequence[str], *, env: dict[str, str], cwd: Path | None = None, timeout: float = 120
) -> tuple[float, str]:
    """Run a Python child to completion: (wall seconds from spawn to exit, its stdout).

    Its stderr is kept only to explain a failure; a child that fails stops the benchmark.
    """
    started = time.perf_counter()
    done = subprocess.run([PYTHON, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"benchmark child {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return elapsed, done.stdout


def machine() -> str:
    """``2 cores, Intel(R) Xeon(R) ..., Python 3.11.7, Linux 6.1`` for the table's heading."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores, {model}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def table(rows: Sequence[Row], *, markdown: bool = False) -> str:
    head = ("figure", "hookkit", "baseline", "ratio", "target", "result")
    cells = [(r.figure, r.hookkit, r.baseline, r.ratio, r.target, r.result) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c or " " for c in row) + " |" for row in cells]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(head)]
    right = {1, 2, 3}

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False))
        ).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(row) for row in cells)])
