"""False greens closed, end to end: what once passed without proving anything is now ``Failed``.

An ``async def`` check that was never awaited, a generator check whose body never ran, a status
expectation met by Lambda's own 200 whatever the function answered: each is driven through the
real ``hookkit.handler`` against the CodeDeploy/Lambda stand-in. Configuration errors met inside
checks end after one attempt, whatever the retries. And when the hook's own invocation fails
entirely, ``hookkit.fallback`` (its on-failure destination) reports ``Failed`` from Lambda's record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aws_standin import REPORT, AwsStandIn, access_denied, group_arn, invoked, proxy
from faultkit import DEPLOYMENT, EXECUTION, Hook, HookLog, assert_reported

import hookkit
from hookkit import ReportError
from hookkit.core.log import logger
from hookkit.hook import fallback as fallback_module
from hookkit.local.context import LocalContext


@pytest.fixture(autouse=True)
def target(hook: Hook, aws: AwsStandIn) -> None:
    hook.env(HOOKKIT_FUNCTION="orders", HOOKKIT_TARGET_VERSION="7")
    aws.publish("orders", "7", invoked(proxy(201, {"orderId": "ORD-1", "status": "CREATED"})))


# -- async checks are awaited ------------------------------------------------------------------------


def test_a_failing_async_check_is_awaited_and_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        import asyncio
        from hookkit import pre_traffic

        @pre_traffic
        async def creates_an_order(target):
            await asyncio.sleep(0)
            target.invoke({"httpMethod": "POST", "path": "/orders"}).expect(status=200)
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    assert [(c["status"], c["attempts"]) for c in summary["checks"]] == [("failed", 1)]
    assert hook_log.line("check creates_an_order: ")["message"].startswith(
        "check creates_an_order: failed: invoke orders:7 with an inline event: 1 difference(s)\n"
        "  - status: expected 200, got 201\n"
        '  answer body: {"orderId": "ORD-1", "status": "CREATED"}'
    )
    assert len(aws.calls("Invoke")) == 1  # the coroutine ran: its invoke reached Lambda


def test_a_passing_async_check_reports_succeeded(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        import asyncio
        from hookkit import pre_traffic

        @pre_traffic
        async def creates_an_order(target):
            results = await asyncio.gather(*(asyncio.to_thread(target.invoke, {"n": n}) for n in range(3)))
            for result in results:
                result.expect(status=201, fields={"/status": "CREATED"})
    """)
    summary = hook()
    assert_reported(aws, "Succeeded")
    assert summary["checks"][0]["status"] == "passed"
    assert len(aws.calls("Invoke")) == 3


def test_an_async_check_past_its_timeout_is_cancelled_and_reports_failed(hook: Hook, aws: AwsStandIn,
                                                                        hook_log: HookLog) -> None:
    hook.checks("""
        import asyncio
        from hookkit import pre_traffic

        @pre_traffic(timeout=0.3)
        async def waits_forever():
            await asyncio.Event().wait()
    """)
    hook()
    assert_reported(aws, "Failed")
    assert hook_log.line("check waits_forever: ")["message"] == (
        "check waits_forever: timed_out: did not finish within its timeout of 0.3 s"
    )


# -- what cannot be a check is refused -----------------------------------------------------------------


def test_a_generator_check_is_refused_and_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    path = hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def creates_orders(target):
            for n in range(3):
                yield target.invoke({"n": n}).expect(status=201)
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    message = hook_log.line("HOOKKIT_CHECKS: importing")["message"]
    assert message == (
        f"HOOKKIT_CHECKS: importing checks module {str(path)!r} failed: RegistrationError: check 'creates_orders' "
        f"({path}:4) is a generator function (it contains yield): calling it runs none of its body, so it could "
        "never fail. Write a plain def that returns or raises (loop inside it to check several things), or an "
        "async def"  # the message names the line already: no second "(at ...)"
    )
    assert summary["checks"] == [] and aws.calls("Invoke") == []


def test_a_check_handing_back_a_generator_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        from hookkit import pre_traffic

        def each_order(target):
            for n in range(3):
                yield target.invoke({"n": n}).expect(status=500)

        @pre_traffic
        def creates_orders(target):
            return each_order(target)
    """)
    hook()
    assert_reported(aws, "Failed")
    assert hook_log.line("check creates_orders: ")["message"].startswith(
        "check creates_orders: error: the check returned a generator object, whose body has not run"
    )
    assert aws.calls("Invoke") == []


# -- a status is an API Gateway proxy response's, never Lambda's 200 --------------------------------------


@pytest.mark.parametrize(
    ("answer", "what", "body"),
    [
        (None, "the function answered null", "null"),
        (b"Internal Server Error", "the function answered text that is not JSON", "Internal Server Error"),
        ({"statusCode": "500", "body": '{"message": "boom"}'}, "its statusCode is str '500', not an integer",
         '{"statusCode": "500", "body": "{\\"message\\": \\"boom\\"}"}'),
        ({"orderId": "ORD-1"}, "the function answered a JSON object without statusCode", '{"orderId": "ORD-1"}'),
    ],
    ids=["null", "not-json", "string-status", "no-status"],
)
def test_an_answer_that_is_not_a_proxy_response_fails_a_status_expectation(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, answer: Any, what: str, body: str
) -> None:
    aws.publish("orders", "7", invoked(answer))
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def answers(target):
            result = target.invoke({"action": "status", "orderId": "ORD-1"}).expect(status=200)
            assert result.status_code == 200
    """)
    hook()
    assert_reported(aws, "Failed")
    lines = hook_log.line("check answers: ")["message"].splitlines()
    assert lines[:3] == [
        "check answers: failed: invoke orders:7 with an inline event: 1 difference(s)",
        f"  - status: expected 200, got {'no API Gateway proxy response: ' + what!r}",
        f"  answer body: {body}",
    ]
    assert lines[3].startswith("  status is the statusCode of an API Gateway proxy response, and this answer is not "
                               "one; for a function invoked directly")


def test_a_direct_function_checked_by_its_answer_reports_succeeded(hook: Hook, aws: AwsStandIn) -> None:
    aws.publish("orders", "7", invoked({"batchItemFailures": []}))
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def handles_a_batch(target):
            target.invoke({"Records": []}).expect(fields={"/batchItemFailures": []})

        @pre_traffic
        def answers(target):
            assert target.invoke({"Records": []}).expect_no_function_error().status_code is None
    """)
    hook()
    assert_reported(aws, "Succeeded")


def test_a_500_says_what_it_answered(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    aws.publish("orders", "7", invoked(proxy(500, {"message": "Internal error", "token": "tok-123",
                                                   "detail": "DynamoDB table orders-v2 not found"})))
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def answers(target):
            target.invoke({"httpMethod": "GET", "path": "/orders/ORD-1"}).expect(status=200)
    """)
    hook()
    assert_reported(aws, "Failed")
    assert hook_log.line("check answers: ")["message"] == (
        "check answers: failed: invoke orders:7 with an inline event: 1 difference(s)\n"
        "  - status: expected 200, got 500\n"
        '  answer body: {"message": "Internal error", "token": "[REDACTED]", '
        '"detail": "DynamoDB table orders-v2 not found"}'
    )
    assert "tok-123" not in hook_log.text()


# -- configuration errors are reported after one attempt ---------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('target.invoke("events/create_ordre.json")',
         "target.invoke('events/create_ordre.json') (relative event paths start at the checks module's folder "),
        ('target.invoke({}).expect(schema={"type": "order"})',
         "ConfigurationError: inline schema is not a valid JSON Schema for Draft202012Validator"),
        ('target.compare({})',
         "TargetError: the current version of orders is unknown: CodeDeploy's target is orders:8 (current 6), "
         "not orders:7; set HOOKKIT_CURRENT_VERSION on the hook function"),
    ],
    ids=["missing-event-file", "not-a-schema", "no-current-version"],
)
def test_a_configuration_error_in_a_check_is_reported_failed_after_one_attempt(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, body: str, says: str
) -> None:
    aws.deploy(DEPLOYMENT, function="orders", current="6", target="8")  # CodeDeploy deploys another version
    (hook.folder / "events").mkdir()
    (hook.folder / "events" / "create_order.json").write_text("{}")
    hook.checks(f"""
        from hookkit import pre_traffic

        @pre_traffic(retries=2, retry_delay=0)
        def misconfigured(target):
            {body}
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    (check,) = summary["checks"]
    assert (check["status"], check["attempts"], check["configurationError"]) == ("error", 1, True)
    message = hook_log.line("check misconfigured: ")["message"]
    assert says in message
    if "create_ordre" in body:
        assert message.endswith("not found; did you mean 'create_order.json'? check the file name and folder")
        assert aws.calls("Invoke") == []


# -- the last resort: the hook's invocation failed entirely ---------------------------------------------------

HOOK_ARN = "arn:aws:lambda:us-east-1:123456789012:function:CodeDeployHook_orders-PreTraffic:$LATEST"


def invocation_record(error_type: str, message: str, condition: str = "RetriesExhausted") -> dict[str, Any]:
    """What Lambda sends the on-failure destination once it gives up on a hook delivery."""
    return {
        "version": "1.0",
        "timestamp": "2026-05-02T09:30:00.000Z",
        "requestContext": {"requestId": "6f0c4b2e-0000-4000-8000-000000000000", "functionArn": HOOK_ARN,
                           "condition": condition, "approximateInvokeCount": 2},
        "requestPayload": {"DeploymentId": DEPLOYMENT, "LifecycleEventHookExecutionId": EXECUTION},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": error_type, "errorMessage": message},
    }


class _Lines(logging.Handler):
    """Hands the fallback's log lines, formatted as CloudWatch gets them, to ``hook_log``."""

    def __init__(self, log: HookLog) -> None:
        super().__init__(logging.DEBUG)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log.take(logger.registered_formatter.format(record))


@pytest.fixture
def fallback(aws: AwsStandIn, hook_log: HookLog, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A new container of the fallback function, in this process (unlike the hook's, it forks
    nothing): its clients are made from this test's environment, its log lines go to ``hook_log``."""
    monkeypatch.setattr(fallback_module, "_default_fallback", fallback_module.FallbackHandler())
    lines = _Lines(hook_log)
    logging.getLogger(logger.name).addHandler(lines)

    def deliver(record: Any) -> dict[str, Any]:
        return hookkit.fallback(record, LocalContext(function_name="HookFallback", timeout_s=5))

    try:
        yield deliver
    finally:
        logging.getLogger(logger.name).removeHandler(lines)


@pytest.mark.parametrize(
    ("error_type", "message", "look"),
    [
        ("Runtime.ImportModuleError", "Unable to import module 'hookkit': No module named 'hookkit'",
         "the hook could not start: check its Handler (hookkit.handler), Layers and Runtime"),
        ("Runtime.OutOfMemory", "RequestId: 6f0c Error: Runtime exited with error: signal: killed",
         "the hook's process died (out of memory, or killed): raise its MemorySize"),
        ("Sandbox.Timedout", "RequestId: 6f0c Error: Task timed out after 120.00 seconds",
         "the hook ran out of time: raise its Timeout"),
    ],
    ids=["init-failure", "out-of-memory", "lambda-timeout"],
)
def test_a_hook_invocation_that_failed_entirely_is_reported_failed_by_the_fallback(
    aws: AwsStandIn, hook_log: HookLog, fallback: Any, error_type: str, message: str, look: str
) -> None:
    summary = fallback(invocation_record(error_type, message))
    assert_reported(aws, "Failed")
    assert summary["reported"] == "reported"
    line = hook_log.line("the hook's invocation failed")
    assert line["level"] == "ERROR"
    assert line["message"].startswith(
        f"the hook's invocation failed (RetriesExhausted after 2 attempt(s)): {error_type}: {message}; "
        f"reporting Failed; {look}"
    )
    assert (line["condition"], line["hook_function"], line["deployment_id"]) == ("RetriesExhausted", HOOK_ARN,
                                                                                 DEPLOYMENT)
    assert hook_log.line("reported Failed to CodeDeploy")["level"] == "INFO"


def test_the_fallback_after_a_hook_that_had_reported_changes_nothing(hook: Hook, aws: AwsStandIn,
                                                                     hook_log: HookLog, fallback: Any) -> None:
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def creates_an_order(target):
            target.invoke({}).expect(status=201)
    """)
    hook()  # reported Succeeded, then (say) the container died before the invocation returned
    fallback(invocation_record("Runtime.ExitError", "RequestId: 6f0c Error: Runtime exited with error: exit status 1"))
    assert aws.statuses == ["Succeeded", "Failed"]  # CodeDeploy keeps the first and refuses the second
    assert "already completed (the hook reported before its invocation failed)" in hook_log.line(
        "status Failed not recorded")["message"]


def test_a_record_the_fallback_cannot_read_is_one_error_and_no_report(aws: AwsStandIn, hook_log: HookLog,
                                                                      fallback: Any) -> None:
    summary = fallback({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})
    assert aws.reports == []
    assert summary["reported"] is False
    (line,) = hook_log.records
    assert (line["level"], line["message"]) == (
        "ERROR",
        "unusable invocation record, no status can be reported: the invocation record has no requestContext "
        "object; hookkit.fallback must be a hook's on-failure destination (SAM: EventInvokeConfig."
        "DestinationConfig.OnFailure {Type: Lambda, Destination: !GetAtt HookFallback.Arn} on the hook function)",
    )


def test_a_denied_fallback_report_is_raised_so_lambda_delivers_the_record_again(aws: AwsStandIn, hook_log: HookLog,
                                                                                fallback: Any) -> None:
    aws.script(REPORT, access_denied("codedeploy:PutLifecycleEventHookExecutionStatus",
                                     group_arn("orders-app", "orders-group")))
    with pytest.raises(ReportError, match=r"Grant the hook's role codedeploy:PutLifecycleEventHookExecutionStatus"):
        fallback(invocation_record("Sandbox.Timedout", "Task timed out after 120.00 seconds"))
    assert aws.statuses == ["Failed"]
    assert hook_log.line("status Failed NOT reported")["missing_permission"] == (
        "codedeploy:PutLifecycleEventHookExecutionStatus"
    )
