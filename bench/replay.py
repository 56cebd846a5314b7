"""4. CI replay throughput: ``hookkit run`` over 10,000 recorded events against a bare loop.

hookkit side: ``hookkit run checks.py --target local:template.yaml#OrdersFunction --phase pre``,
a checks file holding one ``recorded_events("events")`` line, each event with an expect file
naming a status and the order schema. Baseline: ``replay_baseline.py``, a loop calling the same
handler and validating with a jsonschema validator built once. Both are fresh processes timed
from spawn to exit, so each pays its own imports.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import workload
from harness import ROOT, Row, alternate, child_environment, median, ratio, run_child

TARGET = 1.5


def run(progress: Callable[[str], None], *, events: int = 10_000, rounds: int = 3) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="hookkit-bench-replay-") as tmp:
        progress(f"CI replay: writing {events:,} recorded events")
        folder = workload.build(Path(tmp) / "workload", events)
        env = child_environment()
        hookkit_args = ["-m", "hookkit", "run", "checks.py", "--target", "local:template.yaml#OrdersFunction", "--phase", "pre"]
        baseline_args = [str(ROOT / "bench" / "replay_baseline.py"), str(folder)]

        def hookkit() -> float:
            elapsed, out = run_child(hookkit_args, env=env, cwd=folder, timeout=600)
            if f"all {events} blocking check(s) passed" not in out:
                raise RuntimeError(f"hookkit run did not pass all {events} events:\n{out[-2000:]}")
            return elapsed

        def baseline() -> float:
            elapsed, out = run_child(baseline_args, env=env, cwd=folder, timeout=600)
            if out.split() != [str(events), "0"]:
                raise RuntimeError(f"the baseline loop did not pass all {events} events: {out}")
            return elapsed

        times = alternate(rounds, {"hookkit": hookkit, "baseline": baseline}, progress, "CI replay")
    h, b = median(times["hookkit"]), median(times["baseline"])
    return [
        Row(f"CI replay: {events:,} events, hookkit run vs bare loop (wall)", f"{h:.2f} s", f"{b:.2f} s",
            ratio(h, b), f"<= {TARGET}", h / b <= TARGET),
        Row("CI replay throughput", f"{events / h:,.0f} events/s", f"{events / b:,.0f} events/s"),
    ]
