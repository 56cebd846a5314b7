"""The baseline hook: what the common samples do by hand, for the memory benchmark.

boto3 clients for Lambda and CodeDeploy, the same ten invokes one after the other, a status check
on each answer, one report. Same environment and stand-in as ``hook_run.py``; same last line.
"""

from __future__ import annotations

import json
import os
import resource
import sys

import boto3

lambda_client = boto3.client("lambda")
codedeploy = boto3.client("codedeploy")
status = "Succeeded"
for n in range(10):
    answer = lambda_client.invoke(
        FunctionName=os.environ["HOOKKIT_FUNCTION"], Qualifier=os.environ["HOOKKIT_TARGET_VERSION"],
        Payload=json.dumps({"action": "status", "orderId": f"ORD-{n}"}).encode(),
    )
    if json.loads(answer["Payload"].read()).get("statusCode") != 200:
        status = "Failed"
codedeploy.put_lifecycle_event_hook_execution_status(
    deploymentId="d-BENCH0001", lifecycleEventHookExecutionId="e-bench-0001", status=status
)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
print("BENCH", json.dumps({"verdict": status, "reported": "reported", "maxrss": peak}))
