"""1. Concurrency overhead: 20 checks, each waiting 200 ms on a local HTTP endpoint.

hookkit side: the hook entry (``HookHandler``, as ``hookkit.handler`` runs it) with 20 ``api``
checks and an in-process CodeDeploy, timed from the event to the returned summary (the report
included). The checks run in threads (``isolation="thread"``), since their own timings are read
here; what a child process adds per delivery is benchmark 6 (``supervisor.py``). Baseline: the
slowest single check of that same run, timed inside the check itself, so the ratio is what the
hook costs on top of its slowest check: starting the checks, collecting their outcomes, logging
and reporting. Printed for information: one check called alone (the 20 share one process, so
each request's own CPU work queues behind the others'), and the pattern of the common hook
samples, the 20 checks called one after another.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fakes import SlowEndpoint
from harness import Row, alternate, median, medians, ms, ratio

from hookkit import HookRegistry
from hookkit.checks.smoke import Api
from hookkit.hook.clients import Clients
from hookkit.hook.handler import HookHandler
from hookkit.local.context import LocalContext
from hookkit.testing import FakeCodeDeploy

CHECKS = 20
DELAY = 0.2
TARGET = 1.15


class _Timed:
    """The 20 check functions, each recording how long its own body took."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self._lock = threading.Lock()
        self.checks = [self._check(n) for n in range(CHECKS)]

    def _check(self, n: int):
        def check(api):
            started = time.perf_counter()
            api.get(f"/orders/ORD-{n}").expect(status=200, fields={"/status": "SHIPPED"})
            with self._lock:
                self.durations.append(time.perf_counter() - started)

        check.__name__ = f"order_{n}_served"
        return check


def run(progress: Callable[[str], None], *, rounds: int = 5) -> list[Row]:
    timed = _Timed()
    registry = HookRegistry()
    for check in timed.checks:
        registry.post_traffic(check, timeout=10)
    with SlowEndpoint(DELAY) as endpoint:
        environ = {"HOOKKIT_API_URL": endpoint.url, "POWERTOOLS_METRICS_DISABLED": "true"}

        def hook() -> dict[str, float]:
            codedeploy = FakeCodeDeploy()
            handler = HookHandler(registry, phase="post", clients=Clients(codedeploy=codedeploy), environ=environ,
                                  isolation="thread")
            timed.durations.clear()
            started = time.perf_counter()
            summary = handler({"DeploymentId": "d-BENCH0001", "LifecycleEventHookExecutionId": "e-1"},
                              LocalContext(timeout_s=60))
            elapsed = time.perf_counter() - started
            if summary["verdict"] != "Succeeded" or len(codedeploy.reports) != 1 or len(timed.durations) != CHECKS:
                raise RuntimeError(f"the concurrency hook did not run every check and report once: {summary}")
            return {"wall": elapsed, "slowest": max(timed.durations)}

        def alone() -> float:
            started = time.perf_counter()
            timed.checks[0](Api(endpoint.url, timeout=10))
            return time.perf_counter() - started

        def sequential() -> float:
            started = time.perf_counter()
            for check in timed.checks:
                check(Api(endpoint.url, timeout=10))
            return time.perf_counter() - started

        results = alternate(rounds, {"hookkit": hook, "one check alone": alone, "sequential": sequential},
                            progress, "concurrency")
    run_ = medians(results["hookkit"])
    wall, slowest = run_["wall"], run_["slowest"]
    single, seq = median(results["one check alone"]), median(results["sequential"])
    return [
        Row(f"concurrency: {CHECKS} checks x {DELAY * 1000:.0f} ms, hook wall / its slowest check",
            ms(wall), ms(slowest),
            ratio(wall, slowest), f"<= {TARGET}", wall / slowest <= TARGET),
        Row("  hook wall / one such check alone", ms(wall), ms(single), ratio(wall, single)),
        Row(f"  the {CHECKS} checks one after another (sample hooks)", ms(wall), ms(seq), ratio(wall, seq)),
    ]
