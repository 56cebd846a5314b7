"""2. Cold start and peak memory of a hook, each in fresh processes.

Cold start: a process doing what Lambda's init does for ``Handler: hookkit.handler`` (``import
hookkit`` with ``_HANDLER`` and ``AWS_LAMBDA_RUNTIME_API`` set, which builds the status report's
client) and is then ready to handle an event, against a process that imports boto3 and creates
the CodeDeploy and Lambda clients, which is where a minimal hand-written hook starts. Both timed
from spawn to exit, interpreter start-up included. The checks module is not part of it: the
handler's process never imports it, each delivery's child does.

Peak memory: ``hook_run.py`` runs ``hookkit.handler`` on one event with the ten checks of
``hook_checks.py``, through real boto3 clients pointed at the stand-in (discovery from
HOOKKIT_FUNCTION/TARGET_VERSION, ten invokes, the report), the checks in the child process hookkit
forks: the handler's peak RSS plus the child's peak own pages (USS), shared pages counted once.
``sample_hook.py``, the hand-written hook doing the same in one process, reads its peak RSS.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from fakes import AwsStandIn
from harness import ROOT, Row, alternate, child_environment, median, mib, ms, ratio, run_child

COLD_TARGET = 1.25
RSS_TARGET = 80 * 2**20

LAMBDA_INIT = {"_HANDLER": "hookkit.handler", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}
HOOKKIT_COLD = "import hookkit, hookkit.hook.handler as h; assert h._default_handler.clients._clients"
BASELINE_COLD = "import boto3; boto3.client('codedeploy'); boto3.client('lambda')"


def run(progress: Callable[[str], None], *, rounds: int = 9, memory_rounds: int = 3) -> list[Row]:
    env = child_environment()
    init = child_environment(**LAMBDA_INIT)
    times = alternate(
        rounds,
        {"hookkit": lambda: run_child(["-c", HOOKKIT_COLD], env=init)[0],
         "baseline": lambda: run_child(["-c", BASELINE_COLD], env=env)[0]},
        progress, "cold start",
    )
    with AwsStandIn() as aws:
        hook_env = child_environment(
            AWS_ENDPOINT_URL=aws.url, HOOKKIT_CHECKS="hook_checks", HOOKKIT_PHASE="BeforeAllowTraffic",
            HOOKKIT_FUNCTION="orders", HOOKKIT_TARGET_VERSION="2", POWERTOOLS_SERVICE_NAME="bench-hook",
            **LAMBDA_INIT,
        )

        def peak(script: str) -> Callable[[], dict[str, float]]:
            def measure() -> dict[str, float]:
                reports = len(aws.reports)
                _, out = run_child([script], env=hook_env)
                result = json.loads(out.strip().splitlines()[-1].removeprefix("BENCH "))
                if result["verdict"] != "Succeeded" or len(aws.reports) != reports + 1:
                    raise RuntimeError(f"{script}: the hook run did not report Succeeded once: {result}")
                return {"total": float(result["maxrss"]), "parent": float(result.get("parent", result["maxrss"])),
                        "child": float(result.get("child", 0))}

            return measure

        memory = alternate(memory_rounds, {"hookkit": peak(str(ROOT / "bench" / "hook_run.py")),
                                            "baseline": peak(str(ROOT / "bench" / "sample_hook.py"))},
                           progress, "hook peak RSS")
    h, b = median(times["hookkit"]), median(times["baseline"])
    highest = max(memory["hookkit"], key=lambda m: m["total"])
    rss_h, rss_b = highest["total"], max(m["total"] for m in memory["baseline"])
    parent, child = highest["parent"], highest["child"]
    return [
        Row("cold start: ready to handle an event (wall)", ms(h), ms(b), ratio(h, b), f"<= {COLD_TARGET}",
            h / b <= COLD_TARGET),
        Row("peak memory of a hook run with 10 checks, handler RSS + child USS (highest)", mib(rss_h), mib(rss_b),
            ratio(rss_h, rss_b), f"<= {mib(RSS_TARGET)}", rss_h <= RSS_TARGET),
        Row("  of which the handler's process / the check process's own pages", mib(parent), mib(child)),
    ]
