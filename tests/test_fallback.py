"""``hookkit.fallback``: a hook invocation that failed entirely is reported ``Failed``, once.

The records are shaped as Lambda documents them for an asynchronous invocation's destination
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html): the original
CodeDeploy event in ``requestPayload``, why Lambda gave up in ``requestContext.condition``, and
the error it recorded in ``responseContext`` / ``responsePayload``.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import hookkit
from hookkit import EventError, ReportError
from hookkit.core.log import logger
from hookkit.hook import fallback as fallback_module
from hookkit.hook.clients import Clients
from hookkit.hook.fallback import FallbackHandler, parse_record, what_to_check
from hookkit.local.context import LocalContext

HOOK_ARN = "arn:aws:lambda:us-east-1:123456789012:function:CodeDeployHook_orders-PreTraffic-1a2b3c4d:$LATEST"


def record(**changes: Any) -> dict[str, Any]:
    """The documented failure record of a hook that ran out of memory three times."""
    base = {
        "version": "1.0",
        "timestamp": "2019-11-14T18:16:05.568Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": HOOK_ARN,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 2,
        },
        "requestPayload": {"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "exec-1"},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorType": "Runtime.OutOfMemory",
            "errorMessage": "RequestId: e4b46cbf Error: Runtime exited with error: signal: killed",
        },
    }
    for path, value in changes.items():
        node = base
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        if value is DROP:
            del node[last]
        else:
            node[last] = value
    return base


DROP = object()


class Lines(logging.Handler):
    """The fallback's log lines as CloudWatch receives them (Powertools' JSON)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[dict[str, Any]] = []

    def emit(self, entry: logging.LogRecord) -> None:
        self.records.append(json.loads(logger.registered_formatter.format(entry)))

    def at(self, level: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["level"] == level]


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    logging.getLogger(logger.name).addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger(logger.name).removeHandler(handler)


def fallback_for(codedeploy: Any) -> FallbackHandler:
    return FallbackHandler(clients=Clients(codedeploy=codedeploy.client))


# --- reporting ------------------------------------------------------------------------------------


def test_a_hook_that_died_is_reported_failed_once_saying_why(codedeploy, lines) -> None:
    codedeploy.stubber.add_response(
        "put_lifecycle_event_hook_execution_status", {"lifecycleEventHookExecutionId": "exec-1"},
        {"deploymentId": "d-ABCDEF123", "lifecycleEventHookExecutionId": "exec-1", "status": "Failed"},
    )
    summary = fallback_for(codedeploy)(record(), LocalContext(timeout_s=30))
    assert codedeploy.statuses == ["Failed"]
    codedeploy.stubber.assert_no_pending_responses()
    assert summary == {
        "deploymentId": "d-ABCDEF123", "lifecycleEventHookExecutionId": "exec-1", "verdict": "Failed",
        "condition": "RetriesExhausted", "reported": "reported",
        "error": "Runtime.OutOfMemory: RequestId: e4b46cbf Error: Runtime exited with error: signal: killed",
    }
    (error,) = lines.at("ERROR")
    assert error["message"] == (
        "the hook's invocation failed (RetriesExhausted after 2 attempt(s)): Runtime.OutOfMemory: RequestId: "
        "e4b46cbf Error: Runtime exited with error: signal: killed; reporting Failed; the hook's process died "
        "(out of memory, or killed): raise its MemorySize, and check the checks"
    )
    assert (error["condition"], error["approximate_invoke_count"], error["hook_function"]) == (
        "RetriesExhausted", 2, HOOK_ARN)
    assert (error["deployment_id"], error["execution_id"]) == ("d-ABCDEF123", "exec-1")
    assert [r["message"] for r in lines.at("INFO")] == ["reported Failed to CodeDeploy"]


def test_a_lifecycle_event_the_hook_already_reported_is_done(codedeploy, lines) -> None:
    codedeploy.fail("LifecycleEventAlreadyCompletedException")
    summary = fallback_for(codedeploy)(record(), LocalContext(timeout_s=30))
    assert codedeploy.statuses == ["Failed"]
    assert summary["reported"] == "already-completed"
    assert "already completed (the hook reported before its invocation failed)" in lines.at("INFO")[0]["message"]


def test_a_throttled_report_is_retried_within_the_fallbacks_time(codedeploy) -> None:
    codedeploy.fail("ThrottlingException", times=2)
    codedeploy.accept()
    summary = fallback_for(codedeploy)(record(), LocalContext(timeout_s=30))
    assert codedeploy.statuses == ["Failed", "Failed", "Failed"]
    assert summary["reported"] == "reported"


def test_a_denied_report_is_raised_naming_the_permission_so_lambda_delivers_again(codedeploy, lines) -> None:
    codedeploy.fail("AccessDeniedException", message="User: x is not authorized to perform: "
                    "codedeploy:PutLifecycleEventHookExecutionStatus on resource: arn:aws:codedeploy:g")
    with pytest.raises(ReportError, match=r"codedeploy:PutLifecycleEventHookExecutionStatus on arn:aws:codedeploy:g"):
        fallback_for(codedeploy)(record(), LocalContext(timeout_s=30))
    assert lines.at("ERROR")[-1]["missing_permission"] == "codedeploy:PutLifecycleEventHookExecutionStatus"


def test_the_report_keeps_retrying_only_until_just_before_the_fallback_ends(codedeploy) -> None:
    codedeploy.fail("ThrottlingException", times=200)
    context = LocalContext(timeout_s=1.5)
    with pytest.raises(ReportError):
        fallback_for(codedeploy)(record(), context)
    assert codedeploy.reports[-1]["at"] < context.started + context.timeout_s


def test_a_context_that_cannot_say_its_time_still_gets_one_report(codedeploy, lines) -> None:
    class Broken:
        def get_remaining_time_in_millis(self) -> int:
            raise RuntimeError("no clock")

    codedeploy.accept()
    fallback_for(codedeploy)(record(), Broken())
    assert codedeploy.statuses == ["Failed"]
    assert "cannot read the Lambda context's remaining time" in lines.at("WARNING")[0]["message"]


def test_hookkit_fallback_is_the_ready_handler_and_import_hookkit_stays_cheap(codedeploy, monkeypatch) -> None:
    codedeploy.accept()
    monkeypatch.setattr(fallback_module, "_default_fallback", fallback_for(codedeploy))
    assert hookkit.fallback(record(), LocalContext(timeout_s=30))["reported"] == "reported"
    assert codedeploy.statuses == ["Failed"]
    assert "fallback" in hookkit.__all__


# --- what Lambda recorded ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "hint"),
    [
        ({"responsePayload": {"errorType": "Runtime.ImportModuleError",
                              "errorMessage": "Unable to import module 'hookkit': No module named 'hookkit'"}},
         "Runtime.ImportModuleError: Unable to import module 'hookkit': No module named 'hookkit'",
         "the hook could not start: check its Handler (hookkit.handler), Layers and Runtime"),
        ({"responsePayload": {"errorType": "Sandbox.Timedout",
                              "errorMessage": "RequestId: 6f0c Error: Task timed out after 120.00 seconds"}},
         "Sandbox.Timedout: RequestId: 6f0c Error: Task timed out after 120.00 seconds",
         "the hook ran out of time: raise its Timeout"),
        ({"responsePayload": {"errorMessage": "RequestId: e4b4 Process exited before completing request"}},
         "RequestId: e4b4 Process exited before completing request", "read the hook's own log for this request"),
        ({"responsePayload": DROP, "responseContext": DROP, "requestContext__condition": "EventAgeExceeded"},
         None, "the event waited in Lambda's queue past its maximum age"),
        ({"responsePayload": None}, "Unhandled function error (no response recorded)",
         "read the hook's own log for this request"),
        ({"responsePayload": "Task timed out after 3.00 seconds"}, "Task timed out after 3.00 seconds",
         "the hook ran out of time"),
    ],
    ids=["init", "timeout", "exited", "event-age", "null-payload", "text-payload"],
)
def test_the_recorded_error_is_read_and_says_where_to_look(changes, error, hint) -> None:
    failed = parse_record(record(**changes))
    assert failed.error == error
    assert what_to_check(failed).startswith(hint)


def test_the_recorded_error_is_redacted_and_cut() -> None:
    failed = parse_record(record(responsePayload={
        "errorType": "ConnectionError",
        "errorMessage": "postgres://app:hunter2@db.internal/orders refused; Authorization: Bearer abc.def "
                        + "x" * 2000,
    }))
    assert "hunter2" not in failed.error and "abc.def" not in failed.error
    assert failed.error.endswith(" characters)") and len(failed.error) < 1100


def test_an_unknown_failure_condition_still_reports_failed(codedeploy) -> None:
    codedeploy.accept()
    summary = fallback_for(codedeploy)(record(requestContext__condition="SomethingNew"), LocalContext(timeout_s=30))
    assert (codedeploy.statuses, summary["condition"]) == (["Failed"], "SomethingNew")


# --- records that name nothing to report to -------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (None, "the invocation record must be a JSON object, got NoneType"),
        (["a"], "the invocation record must be a JSON object, got list"),
        ({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e-1"},
         "the invocation record has no requestContext"),
        (record(requestContext__condition=DROP), "requestContext.condition must be a non-empty string, got None"),
        (record(requestContext__condition=""), "requestContext.condition must be a non-empty string, got ''"),
        (record(requestContext__condition="Success"), "of a successful invocation (condition Success)"),
        (record(requestPayload=DROP), "the invocation record has no requestPayload"),
        (record(requestPayload={"Records": []}), "requestPayload: the hook event's DeploymentId is missing"),
        (record(requestPayload__LifecycleEventHookExecutionId=" "),
         "requestPayload: the hook event's LifecycleEventHookExecutionId must be a non-empty string"),
    ],
)
def test_a_record_that_names_no_lifecycle_event_is_one_clear_error_and_no_report(codedeploy, lines, bad, says) -> None:
    summary = fallback_for(codedeploy)(bad, LocalContext(timeout_s=30))
    assert codedeploy.reports == []
    assert summary["reported"] is False and says in summary["error"]
    (error,) = lines.records
    assert error["level"] == "ERROR"
    assert error["message"].startswith("unusable invocation record, no status can be reported: ")
    assert says in error["message"]


def test_a_wiring_mistake_is_named_with_its_fix() -> None:
    with pytest.raises(EventError, match=r"EventInvokeConfig\.DestinationConfig\.OnFailure"):
        parse_record({"Records": [{"body": "an SQS message"}]})
    with pytest.raises(EventError, match=r"Wire hookkit\.fallback as the OnFailure destination, not OnSuccess"):
        parse_record(record(requestContext__condition="Success"))


# --- any record at all --------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
IDS = st.none() | st.text(max_size=8) | st.sampled_from(["d-1", "exec-1", " "]) | JSON
CONDITIONS = st.none() | st.sampled_from(["RetriesExhausted", "EventAgeExceeded", "Success", "", "  "]) | JSON


def mutated(base: dict[str, Any], draw: Any) -> Any:
    """A documented record with any of its parts replaced by anything, or dropped."""
    value = copy.deepcopy(base)
    for path in draw(st.lists(st.sampled_from([
        "requestContext", "requestContext__condition", "requestContext__approximateInvokeCount",
        "requestContext__functionArn", "requestPayload", "requestPayload__DeploymentId",
        "requestPayload__LifecycleEventHookExecutionId", "responseContext", "responsePayload",
        "responsePayload__errorMessage", "responsePayload__errorType",
    ]), max_size=4)):
        node = value
        *parents, last = path.split("__")
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        choice = draw(st.sampled_from(["drop", "ids", "condition", "json"]))
        if choice == "drop":
            node.pop(last, None)
        else:
            node[last] = draw({"ids": IDS, "condition": CONDITIONS, "json": JSON}[choice])
    return value


class Accepting:
    """CodeDeploy's report call in memory, so hypothesis can deliver thousands of records."""

    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []

    def put_lifecycle_event_hook_execution_status(self, **params: Any) -> dict[str, Any]:
        self.reports.append(params)
        return {"lifecycleEventHookExecutionId": params["lifecycleEventHookExecutionId"]}


@pytest.mark.property
@given(st.data())
def test_any_record_gives_exactly_one_failed_report_or_one_clear_error(data: st.DataObject) -> None:
    documented = data.draw(st.booleans())
    candidate = mutated(record(), data.draw) if documented else data.draw(JSON)
    reports = Accepting()
    collected = Lines()
    logging.getLogger(logger.name).addHandler(collected)
    try:
        summary = FallbackHandler(clients=Clients(codedeploy=reports))(candidate, LocalContext(timeout_s=5))
    finally:
        logging.getLogger(logger.name).removeHandler(collected)
    try:
        expected = parse_record(candidate)
    except EventError:
        assert reports.reports == []
        assert summary["reported"] is False
        assert [r["level"] for r in collected.records] == ["ERROR"]
        return
    assert reports.reports == [{"deploymentId": expected.event.deployment_id,
                                "lifecycleEventHookExecutionId": expected.event.execution_id, "status": "Failed"}]
    assert summary["reported"] == "reported"
    assert [r["level"] for r in collected.records] == ["ERROR", "INFO"]
    json.dumps(summary)
