"""Faults while invoking the new version: Lambda throttles, the function raises or times out, the version is gone.

The hook is told the target the way SAM users do (``HOOKKIT_FUNCTION`` and
``HOOKKIT_TARGET_VERSION``); its invokes go through boto3 to the stand-in's Lambda REST API.
"""

from __future__ import annotations

import re

import pytest
from aws_standin import (
    AwsStandIn,
    access_denied,
    function_arn,
    internal_error,
    invoked,
    proxy,
    slow,
    too_many_requests,
)
from faultkit import Hook, HookLog, assert_reported

CHECKS = """
    from hookkit import pre_traffic

    @pre_traffic(timeout={timeout})
    def creates_an_order(target):
        target.invoke({{"httpMethod": "POST", "path": "/orders"}}).expect(status=201)
"""
TIMED_OUT = {"errorType": "Sandbox.Timedout",
             "errorMessage": "RequestId: 6f0c Error: Task timed out after 3.00 seconds"}


@pytest.fixture(autouse=True)
def target(hook: Hook, aws: AwsStandIn) -> None:
    hook.env(HOOKKIT_FUNCTION="orders", HOOKKIT_TARGET_VERSION="7")
    hook.checks(CHECKS.format(timeout=2))
    aws.publish("orders", "7", invoked(proxy(201, {"orderId": "ORD-1"})))


def check_line(log: HookLog) -> str:
    return log.line("check creates_an_order: ")["message"].removeprefix("check creates_an_order: ")


def qualifiers(aws: AwsStandIn) -> list[tuple[str, str]]:
    return [(r.function, r.query["Qualifier"]) for r in aws.calls("Invoke")]


def test_a_throttled_invoke_is_retried_then_succeeds(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    aws.script("Invoke", too_many_requests(), too_many_requests(), internal_error(502))
    hook()
    assert_reported(aws, "Succeeded")
    assert qualifiers(aws) == [("orders", "7")] * 4
    assert check_line(hook_log) == "passed"


def test_an_invoke_throttled_for_the_whole_timeout_reports_failed(hook: Hook, aws: AwsStandIn,
                                                                  hook_log: HookLog) -> None:
    # the invoke's own timeout, well inside the check's: the invoker gives up, not the runner.
    # 1.5 s leaves room for a retry even when the first call pays for a cold client on a busy machine
    hook.checks(CHECKS.format(timeout=5).replace("}).expect", "}, timeout=1.5).expect"))
    aws.script("Invoke", *[too_many_requests()] * 100)
    hook()
    assert_reported(aws, "Failed")
    message = check_line(hook_log)
    assert re.fullmatch(r"error: InvokeError: invoking orders:7 failed: TooManyRequestsException: Rate Exceeded\.; "
                        r"still throttled after retrying for [01]\.\d\d s; raise the check's timeout or the "
                        r"function's concurrency", message), message
    assert len(aws.calls("Invoke")) >= 2


def test_a_function_error_reports_failed_with_the_error(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    aws.publish("orders", "7", invoked(
        {"errorType": "KeyError", "errorMessage": "'customerId'", "stackTrace": ["  File \"/var/task/app.py\""]},
        function_error="Unhandled", log="START RequestId: 6f0c\n[ERROR] KeyError: 'customerId'\nEND\n",
    ))
    hook()
    assert_reported(aws, "Failed")
    assert check_line(hook_log) == (
        # a function that raised has no status to compare: the error alone explains the failure
        "failed: invoke orders:7 with an inline event: 1 difference(s)\n"
        "  - function_error: expected None, got \"KeyError: 'customerId'\""
    )


def test_a_timeout_inside_the_function_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    aws.publish("orders", "7", invoked(TIMED_OUT, function_error="Unhandled",
                                       log="END RequestId: 6f0c\nREPORT Status: timeout\n"))
    hook()
    assert_reported(aws, "Failed")
    assert check_line(hook_log) == (
        "failed: invoke orders:7 with an inline event: 1 difference(s)\n"
        "  - function_error: expected None, got 'Sandbox.Timedout: RequestId: 6f0c Error: Task timed out after "
        "3.00 seconds'"
    )


def test_lambda_answering_slower_than_the_check_allows_reports_failed(hook: Hook, aws: AwsStandIn,
                                                                      hook_log: HookLog) -> None:
    hook.checks(CHECKS.format(timeout=0.5))
    aws.script("Invoke", slow(4, invoked(proxy(201, {}))))
    hook()
    assert_reported(aws, "Failed")
    assert aws.reports[0].at - hook.context.started < 2
    assert check_line(hook_log) == "timed_out: did not finish within its timeout of 0.5 s"


def test_a_version_that_does_not_exist_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.env(HOOKKIT_TARGET_VERSION="9")
    hook()
    assert_reported(aws, "Failed")
    assert check_line(hook_log) == (
        f"error: InvokeError: invoking orders:9 failed: ResourceNotFoundException: Function not found: "
        f"{function_arn('orders', '9')}; check that the version is published and that the deployment's target "
        "version is right"
    )
    assert qualifiers(aws) == [("orders", "9")]  # not retried


def test_a_denied_invoke_names_the_action_and_the_resource(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    aws.script("Invoke", access_denied("lambda:InvokeFunction", function_arn("orders", "7")))
    hook()
    assert_reported(aws, "Failed")
    message = check_line(hook_log)
    assert message.startswith("error: InvokeError: invoking orders:7 failed: AccessDeniedException: User: ")
    assert message.endswith(
        "; grant the hook's role lambda:InvokeFunction on arn:aws:lambda:us-east-1:123456789012:function:orders:7"
    )
    assert qualifiers(aws) == [("orders", "7")]


@pytest.mark.parametrize("depth", [500, 950, 5000])
def test_a_function_answering_absurdly_nested_json_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog,
                                                                  depth: int) -> None:
    hook.checks(CHECKS.format(timeout=5).replace("expect(status=201)", 'expect(status=201, schema={"type": "object"})'))
    aws.publish("orders", "7", invoked(proxy(201, None) | {"body": "[" * depth + "]" * depth}))
    summary = hook()
    assert_reported(aws, "Failed")
    assert summary["checks"][0]["status"] == "failed"
    assert check_line(hook_log).startswith("failed: invoke orders:7 with an inline event: 1 difference(s)\n")
