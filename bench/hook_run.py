"""One whole hook run in a fresh process, for its peak memory: ``hookkit.handler`` as Lambda calls it.

Configured by the environment the parent sets (HOOKKIT_CHECKS, HOOKKIT_PHASE, HOOKKIT_FUNCTION,
HOOKKIT_TARGET_VERSION, AWS_ENDPOINT_URL at the stand-in). The last line of stdout is
``BENCH {"verdict": ..., "reported": ..., "maxrss": bytes}``; the hook's own log lines precede it.
"""

from __future__ import annotations

import json
import resource
import sys

import hookkit
from hookkit.local.context import LocalContext

summary = hookkit.handler(
    {"DeploymentId": "d-BENCH0001", "LifecycleEventHookExecutionId": "e-bench-0001"},
    LocalContext(function_name="CodeDeployHook_bench", timeout_s=60),
)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
print("BENCH", json.dumps({"verdict": summary.get("verdict"), "reported": summary.get("reported"), "maxrss": peak}))
