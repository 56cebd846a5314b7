"""``make bench``: every benchmark, hookkit next to its baseline, one table.

    python bench/run.py [--only NAME ...] [--markdown FILE] [--events N]

Each benchmark alternates hookkit and its baseline for several rounds and quotes medians; the
machine it ran on heads the table. Progress goes to stderr. ``--markdown`` also writes the table
(with the machine line) as Markdown, for the README's Performance section. Exits 1 if a figure
misses its target. Stand-ins for AWS and the API run on 127.0.0.1 or in-process; nothing leaves
the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import coldstart
import concurrency
import hung
import replay
import scale
import supervisor
from harness import Progress, Row, machine, table

BENCHMARKS = {
    "concurrency": concurrency.run,
    "coldstart": coldstart.run,
    "hung": hung.run,
    "replay": replay.run,
    "scale": scale.run,
    "supervisor": supervisor.run,
}


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[int]:
    """Send fd 1 to /dev/null while benchmarks run (the hook logs there); yield the real one."""
    sys.stdout.flush()
    real = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        yield real
    finally:
        sys.stdout.flush()
        os.dup2(real, 1)
        os.close(real)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown to FILE")
    parser.add_argument("--events", type=int, default=10_000, help="recorded events for the CI replay (default: 10000)")
    args = parser.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    progress = Progress()
    started = time.monotonic()
    rows: list[Row] = []
    with _quiet_stdout():
        for name in names:
            run = BENCHMARKS[name]
            rows += run(progress, events=args.events) if name == "replay" else run(progress)
    progress.done()
    where = machine()
    elapsed = time.monotonic() - started
    print(f"hookkit benchmarks on {where} ({elapsed:.0f} s)\n")
    print(table(rows))
    missed = [row.figure.strip() for row in rows if row.passed is False]
    print("\nevery figure within target" if not missed else f"\nMISSED: {'; '.join(missed)}")
    if args.markdown:
        Path(args.markdown).write_text(
            f"Measured by `make bench` on {where}; medians of alternating rounds.\n\n{table(rows, markdown=True)}\n"
        )
        print(f"Markdown table written to {args.markdown}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
