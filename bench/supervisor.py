"""6. The supervisor's cost: one delivery with 1, 10 and 100 trivial checks, in a child process or in threads.

Each side is a fresh process (``supervisor_run.py``) that delivers the same event to ``HookHandler``
over and over, checks from a checks module that declares N checks returning ``None``, an
in-memory CodeDeploy: with ``isolation="process"`` every delivery forks a child that imports the
checks module, runs them and streams their outcomes back, and the parent kills it and reports;
with ``isolation="thread"`` (the baseline) the module is imported once per container and the
checks run in the process's own threads. The figure is the median delivery, event to summary; the
target is what the child costs on top at 10 checks.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness import ROOT, Row, alternate, child_environment, median, ms, run_child

SIZES = (1, 10, 100)
TARGET = 0.010  # seconds more than in threads, at 10 checks
TARGET_AT = 10


def _checks_module(folder: Path, size: int) -> Path:
    path = folder / f"trivial_{size}.py"
    lines = ["from hookkit import pre_traffic", ""]
    lines += [f"@pre_traffic\ndef check_{n:03d}():\n    return None\n" for n in range(size)]
    path.write_text("\n".join(lines))
    return path


def run(progress: Callable[[str], None], *, rounds: int = 3, deliveries: int = 15,
        sizes: tuple[int, ...] = SIZES) -> list[Row]:
    env = child_environment()
    script = str(ROOT / "bench" / "supervisor_run.py")
    rows = []
    with tempfile.TemporaryDirectory(prefix="hookkit-bench-supervisor-") as tmp:
        for size in sizes:
            checks = str(_checks_module(Path(tmp), size))

            def side(isolation: str, checks: str = checks) -> float:
                _, out = run_child([script, isolation, checks, str(deliveries)], env=env)
                return median(json.loads(out.strip().splitlines()[-1].removeprefix("BENCH "))["times"])

            times = alternate(rounds, {"process": lambda: side("process"), "thread": lambda: side("thread")},
                              progress, f"supervisor, {size} check(s)")
            forked, threaded = median(times["process"]), median(times["thread"])
            extra = forked - threaded
            judged = size == TARGET_AT
            rows.append(Row(
                f"supervisor: a delivery with {size} trivial check(s), child process / threads",
                ms(forked), ms(threaded), f"{'+' if extra >= 0 else ''}{extra * 1000:.1f} ms",
                f"<= +{TARGET * 1000:.0f} ms" if judged else "", extra <= TARGET if judged else None,
            ))
    return rows
