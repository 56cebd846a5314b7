"""One hook delivery whose only check never returns, in a fresh process: the hung-check benchmark's side.

    python bench/hung_run.py sleeps|holds-the-lock CONTEXT_SECONDS

``HookHandler`` in process isolation (this process has no other thread, so it forks), an in-memory
CodeDeploy recording when the report arrived. The check either sleeps forever or holds the
interpreter lock in one C call (``sum(range(10**12))``). The checks' deadline is the one the
handler gives its supervisor; the last line of stdout is
``BENCH {"latency": deadline -> report, "margin": report -> the context's end}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import hookkit.hook.handler
from hookkit import HookRegistry
from hookkit.hook.clients import Clients
from hookkit.hook.handler import HookHandler
from hookkit.local.context import LocalContext
from hookkit.testing import FakeCodeDeploy

kind, seconds = sys.argv[1], float(sys.argv[2])
result = os.fdopen(os.dup(1), "w")
devnull = os.open(os.devnull, os.O_WRONLY)
os.dup2(devnull, 1)


def sleeps() -> None:
    time.sleep(600)


def holds_the_lock() -> None:
    sum(range(10**12))  # one C call: no other thread of this process runs until it returns


registry = HookRegistry()
registry.pre_traffic(sleeps if kind == "sleeps" else holds_the_lock, timeout=600)
deadlines: list[float] = []
supervise = hookkit.hook.handler.run_in_child


def recording(*args: Any, deadline: float, **kwargs: Any) -> Any:
    deadlines.append(deadline)
    return supervise(*args, deadline=deadline, **kwargs)


hookkit.hook.handler.run_in_child = recording
codedeploy = FakeCodeDeploy()
handler = HookHandler(registry, phase="pre", clients=Clients(codedeploy=codedeploy), isolation="process",
                      environ={"POWERTOOLS_METRICS_DISABLED": "true"})
context = LocalContext(timeout_s=seconds)
summary = handler({"DeploymentId": "d-BENCH0001", "LifecycleEventHookExecutionId": "e-1"}, context)
(arrived,), (report,) = codedeploy.arrived, codedeploy.reports
if report["status"] != "Failed" or summary["checks"][0]["status"] != "timed_out" or len(deadlines) != 1:
    raise SystemExit(f"the hung check was not reported as a failure from a child process: {summary}")
print("BENCH", json.dumps({"latency": arrived - deadlines[0], "margin": context.started + seconds - arrived}),
      file=result, flush=True)
