"""`make demo`: two releases of the example orders function, guarded by hookkit, on this machine.

The hooks run through the real Lambda entry point (`hookkit.handler`'s HookHandler), with
in-process stand-ins at the AWS edges only: CodeDeploy records the status each hook reports,
Lambda runs each published version's code from its folder, and API Gateway routes smoke calls
to the function by the template's Api events. Nothing reaches AWS; no Docker.

Release 1 moves traffic from v1 to v2 (the build template.yaml deploys): both hooks pass.
Release 2 ships a build that lost its input validation: the PreTraffic hook reports Failed, and
CodeDeploy would roll back before a customer saw it. Exits 0 when both behave as expected.
"""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path
from typing import Any

from hookkit.core.log import logger
from hookkit.hook.clients import Clients
from hookkit.hook.handler import HookHandler
from hookkit.local.apigw import Route, in_process_api
from hookkit.local.context import LocalContext
from hookkit.local.invoker import LocalInvoker
from hookkit.local.sam import function_spec
from hookkit.testing import FakeCodeDeploy

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
CHECKS = ROOT / "example_hooks" / "orders" / "hooks" / "orders_checks.py"
BUILDS = {"v1": ROOT / "example_hooks" / "orders" / "v1", "v2": ROOT / "example_hooks" / "orders" / "v2"}
GREEN, RED, DIM, RESET = ("\033[32m", "\033[31m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("",) * 4


class FakeLambda:
    """Answers lambda.invoke(FunctionName, Qualifier=version) by running that version's code."""

    def __init__(self, versions: dict[str, LocalInvoker]) -> None:
        self.versions = versions

    def invoke(self, *, FunctionName: str, Qualifier: str, Payload: bytes, **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's
        answer = self.versions[Qualifier].invoke(Payload, qualifier=Qualifier, timeout=10)
        response = {
            "StatusCode": answer.status_code,
            "ExecutedVersion": Qualifier,
            "LogResult": base64.b64encode(answer.log_tail.encode()).decode(),
            "Payload": io.BytesIO(answer.payload),
        }
        if answer.function_error:
            response["FunctionError"] = answer.function_error
        return response


def release(number: int, title: str, current: str, target: str) -> bool:
    """Run both hooks of one release; True when every hook reported Succeeded."""
    print(f"\nRelease {number}: {title}")
    spec = function_spec(TEMPLATE, "OrdersFunction")
    builds = {"1": current, "2": target}
    invokers = {v: LocalInvoker(function_spec(TEMPLATE, "OrdersFunction", code_uri=BUILDS[b]), version=v)
                for v, b in builds.items()}
    codedeploy = FakeCodeDeploy()
    routes = [Route(r.method, r.path) for r in spec.routes]
    environ = {
        "HOOKKIT_CHECKS": str(CHECKS),
        "HOOKKIT_FUNCTION": spec.function_name,
        "HOOKKIT_TARGET_VERSION": "2",
        "HOOKKIT_CURRENT_VERSION": "1",
    }
    for phase in ("BeforeAllowTraffic", "AfterAllowTraffic"):
        hook = HookHandler(
            phase=phase,
            clients=Clients(codedeploy=codedeploy, **{"lambda": FakeLambda(invokers)}),
            environ=environ,
            # after AllowTraffic the live alias serves the target version
            api=lambda check, timeout: in_process_api(
                invokers["2"].call, routes, timeout=timeout, base_dir=check.base_dir
            ),
        )
        event = {"DeploymentId": f"d-DEMO{number}", "LifecycleEventHookExecutionId": f"{phase}-{number}"}
        summary = hook(event, LocalContext(function_name=f"CodeDeployHook_{phase}", timeout_s=120))
        show(phase, summary, codedeploy.reports[-1]["status"])
        if codedeploy.reports[-1]["status"] != "Succeeded":
            print(f"  {DIM}CodeDeploy rolls the alias back; AfterAllowTraffic never runs.{RESET}")
            return False
    return True


def show(phase: str, summary: dict[str, Any], reported: str) -> None:
    print(f"  {phase} hook ran {len(summary['checks'])} checks:")
    for check in summary["checks"]:
        ok = check["status"] == "passed"
        mark = f"{GREEN}ok  {RESET}" if ok else f"{RED}FAIL{RESET}"
        print(f"    {mark} {check['name']:<36} {check['durationMs']:>6.0f} ms")
        if not ok:
            for line in check["message"].splitlines()[:4]:
                print(f"           {line}")
    colour = GREEN if reported == "Succeeded" else RED
    print(f"  -> reported to CodeDeploy: {colour}{reported}{RESET}  ({summary['reason']})")


def main() -> int:
    logger.setLevel("CRITICAL")  # the hook's JSON log lines are for CloudWatch; here we print a summary
    print("hookkit demo: the example orders API released twice, hooks run locally (no AWS, no Docker)")
    good = release(1, "v1 -> v2 (adds input validation; the build template.yaml deploys)", current="v1", target="v2")
    caught = not release(2, "v2 -> a build that lost its input validation", current="v2", target="v1")
    print()
    if good and caught:
        print(f"{GREEN}Demo OK{RESET}: the good release passed both hooks "
              "and the broken one was stopped before traffic.")
        return 0
    print(f"{RED}Demo FAILED{RESET}: expected release 1 to pass ({good}) and release 2 to be caught ({caught}).")
    return 1


if __name__ == "__main__":
    sys.exit(main())
