"""No false greens: ``Succeeded`` only when at least one blocking check ran and every blocking check passed.

A wrong ``Succeeded`` lets a broken version take all the traffic, so every way a run can end
without proof (skipped, timed out, non-blocking only, an exception raised where it is easy to
lose) is driven through the real handler and must end in ``Failed``.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_standin import AwsStandIn
from faultkit import Hook, HookLog, assert_reported
from hypothesis import given
from hypothesis import strategies as st

from hookkit import HookRegistry
from hookkit.hook.clients import Clients
from hookkit.hook.handler import HookHandler
from hookkit.local.context import LocalContext


@pytest.fixture(autouse=True)
def target(hook: Hook, aws: AwsStandIn) -> None:
    hook.env(HOOKKIT_FUNCTION="orders", HOOKKIT_TARGET_VERSION="7")
    aws.publish("orders", "7")


def test_checks_never_started_are_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    """33 checks, at most 32 at once: the last one waits for a slot that never frees before the deadline."""
    hook.checks("""
        import time
        from hookkit import pre_traffic

        for n in range(33):
            pre_traffic(lambda: time.sleep(5), name=f"waits_{n:02}")
    """)
    summary = hook(timeout_s=1.5)
    assert_reported(aws, "Failed")
    assert aws.reports[0].at < hook.lambda_end
    assert [c["status"] for c in summary["checks"]] == ["timed_out"] * 32 + ["skipped"]
    assert hook_log.line("check waits_32: ")["message"] == (
        "check waits_32: skipped: not started: the hook's deadline came first"
    )
    assert summary["reason"].startswith("33 of 33 blocking check(s) did not pass: waits_00 (timed_out), ")
    assert aws.calls("Invoke") == []


def test_only_non_blocking_checks_is_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic(blocking=False)
        def latency_is_fine(target):
            target.invoke({}).expect(status=200)
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    assert summary["checks"][0]["status"] == "passed"
    assert hook_log.line("BeforeAllowTraffic: Failed")["message"] == (
        "BeforeAllowTraffic: Failed (1 passed) - no blocking check ran; non-blocking checks alone cannot approve "
        "a deployment"
    )


def test_every_check_timed_out_is_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        import time
        from hookkit import pre_traffic

        @pre_traffic(timeout=0.2)
        def slow_one():
            time.sleep(1)

        @pre_traffic(timeout=0.2, blocking=False)
        def slow_two():
            time.sleep(1)
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    assert [c["status"] for c in summary["checks"]] == ["timed_out", "timed_out"]
    assert summary["reason"] == "1 of 1 blocking check(s) did not pass: slow_one (timed_out)"


def test_a_blocking_check_not_passing_beside_passing_non_blocking_ones_is_failed(hook: Hook, aws: AwsStandIn) -> None:
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic(blocking=False)
        def extra_one():
            pass

        @pre_traffic(blocking=False)
        def extra_two():
            pass

        @pre_traffic(retries=2, retry_delay=0)
        def the_real_one():
            return False
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    assert [(c["name"], c["status"], c["attempts"]) for c in summary["checks"]] == [
        ("extra_one", "passed", 1), ("extra_two", "passed", 1), ("the_real_one", "failed", 3)]


def test_a_check_raising_inside_finally_is_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def cleans_up(target):
            try:
                target.invoke({}).expect(status=200)
                return True
            finally:
                raise RuntimeError("could not delete the test order")
    """)
    hook()
    assert_reported(aws, "Failed")
    assert hook_log.line("check cleans_up: ")["message"] == (
        "check cleans_up: error: RuntimeError: could not delete the test order (at orders_checks.py:10)"
    )


def test_a_check_raising_inside_a_pool_thread_is_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        from concurrent.futures import ThreadPoolExecutor
        from hookkit import pre_traffic

        @pre_traffic
        def in_parallel(target):
            def one(n):
                result = target.invoke({"n": n})
                assert n != 2, f"order {n} was not created"
                return result
            with ThreadPoolExecutor(3) as pool:
                list(pool.map(one, range(3)))
    """)
    hook()
    assert_reported(aws, "Failed")
    assert hook_log.line("check in_parallel: ")["message"] == (
        "check in_parallel: failed: order 2 was not created (at orders_checks.py:9)"
    )


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_check_raising_inside_its_own_thread_is_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        import threading
        from hookkit import pre_traffic

        @pre_traffic
        def in_background(target):
            def work():
                target.invoke({}).expect(status=500)  # fails: the function answers 200
            thread = threading.Thread(target=work)
            thread.start()
            thread.join()
    """)
    hook()
    assert_reported(aws, "Failed")


# -- the verdict, over any mix of check behaviours ------------------------------------------------

BEHAVIOURS = {
    "passes": "return None",
    "returns_true": "return True",
    "returns_false": "return False",
    "asserts": "assert 1 == 2, 'no'",
    "raises": "raise ValueError('boom')",
    "exits": "raise SystemExit(1)",
    "raises_in_finally": "try:\n        return True\n    finally:\n        raise OSError('cleanup')",
}
PASSING = {"passes", "returns_true"}


class Reports:
    """CodeDeploy's report call, in memory, so hypothesis can run thousands of hook deliveries."""

    def __init__(self) -> None:
        self.statuses: list[str] = []

    def put_lifecycle_event_hook_execution_status(self, **params: Any) -> dict[str, Any]:
        self.statuses.append(params["status"])
        return {"lifecycleEventHookExecutionId": params["lifecycleEventHookExecutionId"]}


def make_check(behaviour: str):
    namespace: dict[str, Any] = {}
    exec(f"def check():\n    {BEHAVIOURS[behaviour]}\n", namespace)
    return namespace["check"]


@pytest.mark.property
@given(st.lists(st.tuples(st.sampled_from(sorted(BEHAVIOURS)), st.booleans()), max_size=6))
def test_the_reported_verdict_is_succeeded_only_when_every_blocking_check_passed(
    checks: list[tuple[str, bool]],
) -> None:
    registry = HookRegistry()
    for index, (behaviour, blocking) in enumerate(checks):
        registry.pre_traffic(make_check(behaviour), name=f"{index}-{behaviour}", blocking=blocking)
    reports = Reports()
    # in this process's threads: thousands of deliveries; tests/test_supervisor.py drives the same verdicts
    # through child processes
    handler = HookHandler(registry, phase="pre", clients=Clients(codedeploy=reports), reserve_ms=100,
                          environ={"POWERTOOLS_METRICS_DISABLED": "true"}, isolation="thread")
    summary = handler({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e-1"}, LocalContext(timeout_s=10))
    blocking = [behaviour for behaviour, is_blocking in checks if is_blocking]
    deserved = "Succeeded" if blocking and all(b in PASSING for b in blocking) else "Failed"
    assert reports.statuses == [deserved]
    assert summary["verdict"] == deserved
    assert [c["status"] == "passed" for c in summary["checks"]] == [b in PASSING for b, _ in checks]
