"""2. Cold start and peak memory of a hook, each in fresh processes.

Cold start: a process that imports ``hookkit``, ``hookkit.hook.handler`` and a checks module of ten
checks (``hook_checks.py``) and is then ready to handle an event, against a process that imports
boto3 and creates the CodeDeploy and Lambda clients, which is where a minimal hand-written hook
starts. Both timed from spawn to exit, interpreter start-up included.

Peak memory: ``hook_run.py`` runs ``hookkit.handler`` on one event with those ten checks, through
real boto3 clients pointed at the stand-in (discovery from HOOKKIT_FUNCTION/TARGET_VERSION, ten
invokes, the report); ``sample_hook.py``, the hand-written hook doing the same, is printed for
comparison. Each reads its own peak RSS (``ru_maxrss``) before exiting.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from fakes import AwsStandIn
from harness import ROOT, Row, alternate, child_environment, median, mib, ms, ratio, run_child

COLD_TARGET = 1.25
RSS_TARGET = 80 * 2**20

HOOKKIT_COLD = "import hookkit, hookkit.hook.handler, hook_checks"
BASELINE_COLD = "import boto3; boto3.client('codedeploy'); boto3.client('lambda')"


def run(progress: Callable[[str], None], *, rounds: int = 9, memory_rounds: int = 3) -> list[Row]:
    env = child_environment()
    times = alternate(
        rounds,
        {"hookkit": lambda: run_child(["-c", HOOKKIT_COLD], env=env)[0],
         "baseline": lambda: run_child(["-c", BASELINE_COLD], env=env)[0]},
        progress, "cold start",
    )
    with AwsStandIn() as aws:
        hook_env = child_environment(
            AWS_ENDPOINT_URL=aws.url, HOOKKIT_CHECKS="hook_checks", HOOKKIT_PHASE="BeforeAllowTraffic",
            HOOKKIT_FUNCTION="orders", HOOKKIT_TARGET_VERSION="2", POWERTOOLS_SERVICE_NAME="bench-hook",
        )

        def peak(script: str) -> Callable[[], float]:
            def measure() -> float:
                reports = len(aws.reports)
                _, out = run_child([script], env=hook_env)
                result = json.loads(out.strip().splitlines()[-1].removeprefix("BENCH "))
                if result["verdict"] != "Succeeded" or len(aws.reports) != reports + 1:
                    raise RuntimeError(f"{script}: the hook run did not report Succeeded once: {result}")
                return float(result["maxrss"])

            return measure

        memory = alternate(memory_rounds, {"hookkit": peak(str(ROOT / "bench" / "hook_run.py")),
                                            "baseline": peak(str(ROOT / "bench" / "sample_hook.py"))},
                           progress, "hook peak RSS")
    h, b = median(times["hookkit"]), median(times["baseline"])
    rss_h, rss_b = max(memory["hookkit"]), max(memory["baseline"])
    return [
        Row("cold start: ready to handle an event (wall)", ms(h), ms(b), ratio(h, b), f"<= {COLD_TARGET}",
            h / b <= COLD_TARGET),
        Row("peak RSS of a hook run with 10 checks (highest)", mib(rss_h), mib(rss_b), ratio(rss_h, rss_b),
            f"<= {mib(RSS_TARGET)}", rss_h <= RSS_TARGET),
    ]
