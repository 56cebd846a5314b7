"""One whole hook run in a fresh process, for its peak memory: ``hookkit.handler`` as Lambda calls it.

Configured by the environment the parent sets (HOOKKIT_CHECKS, HOOKKIT_PHASE, HOOKKIT_FUNCTION,
HOOKKIT_TARGET_VERSION, AWS_ENDPOINT_URL at the stand-in, and ``_HANDLER``/``AWS_LAMBDA_RUNTIME_API``
so that ``import hookkit`` does Lambda's init). The checks run in the child process hookkit forks;
memory is counted as the kernel counts it for the function: this process's peak RSS, plus the
child's peak *own* pages (USS: ``Private_Clean + Private_Dirty`` of ``/proc/PID/smaps_rollup``,
sampled every 2 ms by a thread started in the child right after the fork), so the pages parent and
child share are counted once. The last line of stdout is ``BENCH {"verdict": ..., "reported": ...,
"maxrss": bytes, "parent": bytes, "child": bytes}``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time

peaks_r, peaks_w = os.pipe()


def _uss() -> int:
    with open("/proc/self/smaps_rollup") as rollup:
        fields = dict(line.split(":", 1) for line in rollup if line.startswith("Private_"))
    return sum(int(value.split()[0]) for value in fields.values()) * 1024


def _sample() -> None:
    peak = 0
    while True:
        uss = _uss()
        if uss > peak:
            peak = uss
            os.write(peaks_w, f"{peak}\n".encode())
        time.sleep(0.002)


os.register_at_fork(after_in_child=lambda: threading.Thread(target=_sample, daemon=True).start())

import hookkit  # noqa: E402 - after the fork hook: Lambda's init, which builds the report client
from hookkit.local.context import LocalContext  # noqa: E402

summary = hookkit.handler(
    {"DeploymentId": "d-BENCH0001", "LifecycleEventHookExecutionId": "e-bench-0001"},
    LocalContext(function_name="CodeDeployHook_bench", timeout_s=60),
)
parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
os.close(peaks_w)
with os.fdopen(peaks_r) as peaks:
    child = max([int(line) for line in peaks.read().split()] or [0])
if summary.get("isolation") != "process" or not child:
    raise SystemExit(f"the checks did not run in a child process: {summary}")
print("BENCH", json.dumps({"verdict": summary.get("verdict"), "reported": summary.get("reported"),
                           "maxrss": parent + child, "parent": parent, "child": child}))
