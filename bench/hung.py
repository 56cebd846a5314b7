"""3. Time to report on a hung check: a check that never returns, a Lambda context with 3 s left.

hookkit side: ``HookHandler`` with one such check and an in-process CodeDeploy. The checks'
deadline is the one the handler hands the runner (3 s less the reserve: min(5000 ms, half the
time left) = 1.5 s); the figure is the time from that deadline to the status report's arrival,
and every report must arrive before the context's 3 s are up. Baseline: the hand-written way to
bound a hung check, a thread joined with a timeout at the same deadline, then the report.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from harness import Row, alternate, median, ms

import hookkit.hook.handler
from hookkit import HookRegistry
from hookkit.hook.clients import Clients
from hookkit.hook.handler import HookHandler
from hookkit.local.context import LocalContext
from hookkit.testing import FakeCodeDeploy

TARGET = 0.100
CONTEXT_S = 3.0


def run(progress: Callable[[str], None], *, rounds: int = 5) -> list[Row]:
    release = threading.Event()  # set at the end, so the abandoned checks' threads can finish

    def never_returns() -> None:
        release.wait()

    registry = HookRegistry()
    registry.pre_traffic(never_returns, timeout=60)
    deadlines: list[float] = []
    real_run_phase = hookkit.hook.handler.run_phase

    def recording_run_phase(*args: Any, deadline: float, **kwargs: Any) -> Any:
        deadlines.append(deadline)
        return real_run_phase(*args, deadline=deadline, **kwargs)

    def hook() -> dict[str, float]:
        codedeploy = FakeCodeDeploy()
        handler = HookHandler(registry, phase="pre", clients=Clients(codedeploy=codedeploy),
                              environ={"POWERTOOLS_METRICS_DISABLED": "true"})
        context = LocalContext(timeout_s=CONTEXT_S)
        summary = handler({"DeploymentId": "d-BENCH0001", "LifecycleEventHookExecutionId": "e-1"}, context)
        (arrived,), (report,) = codedeploy.arrived, codedeploy.reports
        if report["status"] != "Failed" or summary["checks"][0]["status"] != "timed_out":
            raise RuntimeError(f"the hung check was not reported as a failure: {summary}")
        return {"latency": arrived - deadlines[-1], "margin": context.started + CONTEXT_S - arrived}

    def baseline() -> dict[str, float]:
        codedeploy = FakeCodeDeploy()
        context = LocalContext(timeout_s=CONTEXT_S)
        deadline = context.started + CONTEXT_S - min(5.0, CONTEXT_S / 2)
        worker = threading.Thread(target=never_returns, daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()))
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId="d-BENCH0001", lifecycleEventHookExecutionId="e-1", status="Failed")
        (arrived,) = codedeploy.arrived
        return {"latency": arrived - deadline, "margin": context.started + CONTEXT_S - arrived}

    hookkit.hook.handler.run_phase = recording_run_phase
    try:
        results = alternate(rounds, {"hookkit": hook, "baseline": baseline}, progress, "hung check", warmup=True)
    finally:
        hookkit.hook.handler.run_phase = real_run_phase
        release.set()
    latency_h = median([r["latency"] for r in results["hookkit"]])
    latency_b = median([r["latency"] for r in results["baseline"]])
    margin = min(r["margin"] for r in results["hookkit"])
    worst = max(r["latency"] for r in results["hookkit"])
    return [
        Row("hung check: checks' deadline -> status report", ms(latency_h), ms(latency_b), "",
            f"<= {TARGET * 1000:.0f} ms", latency_h <= TARGET),
        Row(f"  report before the context's end: least time left ({rounds} runs, worst delay {ms(worst)})",
            ms(margin), "", "", "> 0 ms", margin > 0),
    ]
