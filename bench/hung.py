"""3. Time to report on a hung check: a check that never returns, a Lambda context with 3 s left.

hookkit side: ``hung_run.py``, a fresh process running ``HookHandler`` in process isolation with one
such check and an in-process CodeDeploy. The checks' deadline is the one the handler hands its
supervisor (3 s less the reserve: min(5000 ms, half the time left) = 1.5 s); the figure is the time
from that deadline to the status report's arrival, and every report must arrive before the
context's 3 s are up. Two such checks: one that sleeps, and one that holds the interpreter lock in
a single C call (``sum(range(10**12))``), which no thread of its process can interrupt: the parent
kills the child. The runner in the child stops a little before the deadline (10% of the time, at
most 0.2 s), so a check that only sleeps is reported *before* the deadline (a negative figure).

Baseline: the hand-written way to bound a hung check, a thread joined with a timeout at the same
deadline, then the report; it works for the sleeping check only (a thread holding the lock in C
would keep the joining thread from ever running again until the C call returned).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from harness import ROOT, Row, alternate, child_environment, median, ms, run_child

from hookkit.local.context import LocalContext
from hookkit.testing import FakeCodeDeploy

TARGET = 0.100
CONTEXT_S = 3.0


def run(progress: Callable[[str], None], *, rounds: int = 5) -> list[Row]:
    env = child_environment()
    script = str(ROOT / "bench" / "hung_run.py")

    def hook(kind: str) -> Callable[[], dict[str, float]]:
        def measure() -> dict[str, float]:
            _, out = run_child([script, kind, str(CONTEXT_S)], env=env)
            return dict(json.loads(out.strip().splitlines()[-1].removeprefix("BENCH ")))

        return measure

    release = threading.Event()  # set at the end, so the baseline's abandoned threads can finish

    def baseline() -> dict[str, float]:
        codedeploy = FakeCodeDeploy()
        context = LocalContext(timeout_s=CONTEXT_S)
        deadline = context.started + CONTEXT_S - min(5.0, CONTEXT_S / 2)
        worker = threading.Thread(target=release.wait, daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()))
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId="d-BENCH0001", lifecycleEventHookExecutionId="e-1", status="Failed")
        (arrived,) = codedeploy.arrived
        return {"latency": arrived - deadline, "margin": context.started + CONTEXT_S - arrived}

    try:
        results = alternate(rounds, {"sleeps": hook("sleeps"), "holds the lock": hook("holds-the-lock"),
                                     "baseline": baseline}, progress, "hung check", warmup=True)
    finally:
        release.set()
    sleeps = median([r["latency"] for r in results["sleeps"]])
    locked = median([r["latency"] for r in results["holds the lock"]])
    base = median([r["latency"] for r in results["baseline"]])
    runs = results["sleeps"] + results["holds the lock"]
    margin = min(r["margin"] for r in runs)
    worst = max(r["latency"] for r in runs)
    return [
        Row("hung check holding the GIL in C: checks' deadline -> status report", ms(locked), "never", "",
            f"<= {TARGET * 1000:.0f} ms", locked <= TARGET),
        Row("hung check that sleeps: checks' deadline -> status report", ms(sleeps), ms(base), "",
            f"<= {TARGET * 1000:.0f} ms", sleeps <= TARGET),
        Row(f"  report before the context's end: least time left ({len(runs)} runs, worst delay {ms(worst)})",
            ms(margin), "", "", "> 0 ms", margin > 0),
    ]
