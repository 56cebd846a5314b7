"""Deliveries of one hook in a fresh process, timed: the supervisor benchmark's measured side.

    python bench/supervisor_run.py ISOLATION CHECKS_FILE ROUNDS

``HookHandler`` with ``HOOKKIT_CHECKS``-style checks from CHECKS_FILE, an in-memory CodeDeploy,
``isolation`` as given. One delivery warms up (imports, the first child's pages), then ROUNDS are
timed, each from the event to the returned summary. A fresh process per isolation: once checks
have run in threads, the process has threads and may no longer fork. The hook's log lines go to
/dev/null; the last line of stdout is ``BENCH {"times": [seconds, ...]}``.
"""

from __future__ import annotations

import json
import os
import sys
import time

from hookkit.hook.clients import Clients
from hookkit.hook.handler import HookHandler
from hookkit.local.context import LocalContext
from hookkit.testing import FakeCodeDeploy

isolation, checks, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
result = os.fdopen(os.dup(1), "w")
devnull = os.open(os.devnull, os.O_WRONLY)
os.dup2(devnull, 1)
codedeploy = FakeCodeDeploy()
handler = HookHandler(phase="pre", checks=checks, clients=Clients(codedeploy=codedeploy), isolation=isolation,
                      environ={"POWERTOOLS_METRICS_DISABLED": "true"})
times = []
for n in range(rounds + 1):
    started = time.perf_counter()
    summary = handler({"DeploymentId": "d-BENCH0001", "LifecycleEventHookExecutionId": f"e-{n}"},
                      LocalContext(timeout_s=60))
    elapsed = time.perf_counter() - started
    if summary["verdict"] != "Succeeded" or summary["isolation"] != isolation or codedeploy.statuses[-1:] != [
            "Succeeded"]:
        raise SystemExit(f"the delivery did not run in {isolation} isolation and succeed: {summary}")
    if n:
        times.append(elapsed)
print("BENCH", json.dumps({"times": times}), file=result, flush=True)
