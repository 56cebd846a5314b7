"""4. CI replay throughput: ``hookkit run`` over 10,000 recorded events against a bare loop.

hookkit side: ``hookkit run checks.py --target local:template.yaml#OrdersFunction --phase pre
--jobs auto``, a checks file holding one ``recorded_events("events")`` line, each event with an
expect file naming a status and the order schema. Baseline: ``replay_baseline.py``, a loop calling
the same handler and validating with a jsonschema validator built once. Both are fresh processes
timed from spawn to exit, so each pays its own imports.

``--jobs auto`` runs one process per CPU, as a CI job would; the same run in one process, and the
CPU time every side spent (all its processes), are printed beside it for information, so what the
split buys and what hookkit costs per event are both in the table.
"""

from __future__ import annotations

import resource
import tempfile
from collections.abc import Callable
from pathlib import Path

import workload
from harness import ROOT, Row, alternate, child_environment, medians, ratio, run_child

TARGET = 1.5


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every waited-for descendant, shares included
    return usage.ru_utime + usage.ru_stime


def run(progress: Callable[[str], None], *, events: int = 10_000, rounds: int = 3) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="hookkit-bench-replay-") as tmp:
        progress(f"CI replay: writing {events:,} recorded events")
        folder = workload.build(Path(tmp) / "workload", events)
        env = child_environment()
        hookkit_args = [
            "-m", "hookkit", "run", "checks.py", "--target", "local:template.yaml#OrdersFunction", "--phase", "pre",
        ]
        baseline_args = [str(ROOT / "bench" / "replay_baseline.py"), str(folder)]

        def measured(args: list[str], check: Callable[[str], None]) -> dict[str, float]:
            cpu = _cpu_of_children()
            elapsed, out = run_child(args, env=env, cwd=folder, timeout=600)
            check(out)
            return {"wall": elapsed, "cpu": _cpu_of_children() - cpu}

        def passed_all(out: str) -> None:
            if f"all {events} blocking check(s) passed" not in out:
                raise RuntimeError(f"hookkit run did not pass all {events} events:\n{out[-2000:]}")

        def baseline_passed_all(out: str) -> None:
            if out.split() != [str(events), "0"]:
                raise RuntimeError(f"the baseline loop did not pass all {events} events: {out}")

        times = alternate(rounds, {
            "hookkit": lambda: measured([*hookkit_args, "--jobs", "auto"], passed_all),
            "one process": lambda: measured([*hookkit_args, "--jobs", "1"], passed_all),
            "baseline": lambda: measured(baseline_args, baseline_passed_all),
        }, progress, "CI replay")
    h, one, b = (medians(times[side]) for side in ("hookkit", "one process", "baseline"))
    return [
        Row(f"CI replay: {events:,} events, hookkit run --jobs auto vs bare loop (wall)", f"{h['wall']:.2f} s",
            f"{b['wall']:.2f} s", ratio(h["wall"], b["wall"]), f"<= {TARGET}", h["wall"] / b["wall"] <= TARGET),
        Row("CI replay throughput", f"{events / h['wall']:,.0f} events/s", f"{events / b['wall']:,.0f} events/s"),
        Row("CI replay in one process, --jobs 1 (wall)", f"{one['wall']:.2f} s", f"{b['wall']:.2f} s",
            ratio(one["wall"], b["wall"])),
        Row("CI replay CPU time, all processes (--jobs auto)", f"{h['cpu']:.2f} s", f"{b['cpu']:.2f} s",
            ratio(h["cpu"], b["cpu"])),
    ]
