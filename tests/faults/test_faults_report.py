"""Faults in the status report itself, redelivered events, and one warm container serving two deployments.

A report is the one call a hook must not lose: each test counts the ``PutLifecycleEventHookExecutionStatus``
requests CodeDeploy received and which of them it accepted.
"""

from __future__ import annotations

import re

import pytest
from aws_standin import (
    REPORT,
    AwsStandIn,
    access_denied,
    aws_error,
    group_arn,
    internal_error,
    invoked,
    json_answer,
    slow,
    throttled,
)
from faultkit import DEPLOYMENT, EXECUTION, Hook, HookLog, assert_reported

from hookkit import ReportError

CHECKS = """
    from hookkit import pre_traffic

    @pre_traffic
    def answers(target):
        target.invoke({}).expect(status=200)
"""


@pytest.fixture(autouse=True)
def deployment(hook: Hook, aws: AwsStandIn) -> None:
    aws.deploy(DEPLOYMENT, function="orders", target="7")
    aws.publish("orders", "7")
    hook.checks(CHECKS)


def test_a_throttled_report_is_retried_until_accepted(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    aws.script(REPORT, throttled(), throttled(), internal_error(503), throttled())
    summary = hook()
    assert aws.statuses == ["Succeeded"] * 5  # four refused tries, then the one CodeDeploy accepted
    assert summary["reported"] == "reported"
    retries = [m for m in hook_log.messages if m.startswith("status report attempt")]
    assert [m.split(" failed ")[0] for m in retries] == [f"status report attempt {n}" for n in (1, 2, 3, 4)]
    assert "(An error occurred (ThrottlingException) when calling the PutLifecycleEventHookExecutionStatus " \
           "operation (reached max retries: 0): Rate exceeded)" in retries[0]
    assert all(re.search(r"; retrying in \d\.\d\d s$", m) for m in retries)
    assert hook_log.line("reported ")["message"] == "reported Succeeded to CodeDeploy"
    assert aws.reports[-1].at < hook.lambda_end


def test_already_completed_is_done_not_an_error(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    aws.script(REPORT, aws_error("LifecycleEventAlreadyCompletedException",
                                 f"The execution {EXECUTION} is already in a completed state."))
    summary = hook()
    assert aws.statuses == ["Succeeded"]
    assert summary["reported"] == "already-completed"
    line = hook_log.line("status Succeeded not recorded")
    assert line["level"] == "INFO"
    assert line["message"] == (
        "status Succeeded not recorded: CodeDeploy says this lifecycle event is already completed (a duplicate "
        "delivery of the same event); nothing to do"
    )


def test_a_denied_report_is_raised_naming_the_action_and_resource(hook: Hook, aws: AwsStandIn,
                                                                 hook_log: HookLog) -> None:
    group = group_arn("orders-app", "orders-group")
    aws.script(REPORT, access_denied("codedeploy:PutLifecycleEventHookExecutionStatus", group))
    with pytest.raises(ReportError):
        hook()  # raised, so Lambda's asynchronous retry delivers the event again
    assert aws.statuses == ["Succeeded"]  # one try: retrying cannot grant a permission
    line = hook_log.line("status Succeeded NOT reported")
    assert (line["level"], line["missing_permission"]) == ("ERROR", "codedeploy:PutLifecycleEventHookExecutionStatus")
    assert line["message"].endswith(
        f"Grant the hook's role codedeploy:PutLifecycleEventHookExecutionStatus on {group} (deployment {DEPLOYMENT})"
    )


def test_a_report_that_keeps_failing_is_raised_before_the_lambda_ends(hook: Hook, aws: AwsStandIn,
                                                                      hook_log: HookLog) -> None:
    aws.script(REPORT, *[internal_error(503)] * 500)
    with pytest.raises(ReportError):
        hook(timeout_s=1.5)
    assert len(aws.reports) >= 2
    assert aws.reports[-1].at < hook.lambda_end
    assert hook_log.line("status Succeeded NOT reported")["message"] == (
        f"status Succeeded NOT reported: the status report for deployment {DEPLOYMENT} failed: 503: Service Unavailable"
    )
    assert len([m for m in hook_log.messages if m.startswith("status report attempt")]) == len(aws.reports) - 1


def test_a_slow_report_is_waited_for(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    aws.script(REPORT, slow(1.0, json_answer({"lifecycleEventHookExecutionId": EXECUTION})))
    summary = hook(timeout_s=5)
    assert_reported(aws, "Succeeded")
    assert summary["reported"] == "reported" and summary["totalMs"] >= 1000


def test_the_same_event_delivered_twice_is_reported_once(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    first, second = hook(), hook()
    assert aws.statuses == ["Succeeded", "Succeeded"]  # each delivery reports once; CodeDeploy keeps the first
    assert (first["reported"], second["reported"]) == ("reported", "already-completed")
    assert len(aws.calls("Invoke")) == 2  # the checks ran again: a redelivery is not assumed to be a success
    assert len([m for m in hook_log.messages if m.startswith("status Succeeded not recorded")]) == 1


def test_two_deployments_in_one_warm_container_share_nothing(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        from hookkit import pre_traffic

        imports = []
        imports.append(1)  # how often this module was imported where the check runs: never twice

        @pre_traffic
        def answers(target, deployment):
            assert len(imports) == 1
            target.invoke({"for": deployment.deployment_id}).expect(status=200)
    """)
    aws.deploy("d-PAYMENTS1", function="payments", current="2", target="3", application="payments-app")
    aws.publish("payments", "3", invoked({"errorType": "ValueError", "errorMessage": "no currency"},
                                         function_error="Unhandled"))
    summaries = [hook(DEPLOYMENT, "exec-A"), hook("d-PAYMENTS1", "exec-B"), hook(DEPLOYMENT, "exec-C")]

    assert [
        (r.body["deploymentId"], r.body["lifecycleEventHookExecutionId"], r.body["status"]) for r in aws.reports
    ] == [
        (DEPLOYMENT, "exec-A", "Succeeded"), ("d-PAYMENTS1", "exec-B", "Failed"), (DEPLOYMENT, "exec-C", "Succeeded"),
    ]
    assert [(r.function, r.query["Qualifier"], r.body) for r in aws.calls("Invoke")] == [
        ("orders", "7", b'{"for": "d-FAULT0001"}'), ("payments", "3", b'{"for": "d-PAYMENTS1"}'),
        ("orders", "7", b'{"for": "d-FAULT0001"}'),
    ]
    # each delivery discovered its own deployment
    assert [r.body["deploymentId"] for r in aws.calls("ListDeploymentTargets")] == [
        DEPLOYMENT, "d-PAYMENTS1", DEPLOYMENT
    ]
    assert [s["verdict"] for s in summaries] == ["Succeeded", "Failed", "Succeeded"]
    # every log line carries the ids of the delivery that wrote it, and none outlives it
    by_execution = {}
    for record in hook_log.records:
        by_execution.setdefault(record["execution_id"], set()).add(record["deployment_id"])
    assert by_execution == {"exec-A": {DEPLOYMENT}, "exec-B": {"d-PAYMENTS1"}, "exec-C": {DEPLOYMENT}}
    assert hook.containers == 1  # one warm container served all three
    assert hook.deliver({"DeploymentId": DEPLOYMENT})["reported"] is False  # a fourth, unusable, delivery
    assert hook_log.records[-1]["message"] == "unusable hook event, no status can be reported"
    assert not {"deployment_id", "execution_id", "phase"} & set(hook_log.records[-1])


def test_a_report_whose_answer_was_lost_and_whose_retry_is_already_completed_was_probably_recorded(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog
) -> None:
    """CodeDeploy records the status but answers after the client's read timeout; the retry is told
    the event is already completed: by this delivery's own first attempt, not by a duplicate delivery."""
    hook.env(HOOKKIT_REPORT_RESERVE_MS="5000")
    aws.script(REPORT, lambda request: slow(2.5, aws._report(request.body)))
    summary = hook(timeout_s=10.0)
    assert aws.statuses == ["Succeeded", "Succeeded"]
    assert summary["reported"] == "probably-reported"
    line = hook_log.line("status Succeeded probably recorded by the earlier attempt of this delivery")
    assert line["level"] == "INFO"
    assert not [m for m in hook_log.messages if "duplicate delivery" in m]


@pytest.mark.parametrize("code", ["DeploymentDoesNotExistException", "InvalidDeploymentIdException",
                                  "InvalidLifecycleEventHookExecutionIdException"])
def test_a_deployment_codedeploy_does_not_know_is_logged_once_and_not_raised(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, code: str
) -> None:
    """No retry can fix it: raising would make Lambda run every check (smoke calls included) again, then
    hand the event to the fallback, which would be refused the same way."""
    aws.script(REPORT, aws_error(code, "no such thing"))
    summary = hook()
    assert aws.statuses == ["Succeeded"]  # once: not retried
    assert summary["reported"] == "refused"
    line = hook_log.line("status Succeeded NOT reported, and never can be: ")
    assert line["level"] == "ERROR" and line["error_code"] == code
    ids = f"deployment {DEPLOYMENT}, lifecycle event hook execution {EXECUTION}; {code}: no such thing"
    assert ids in line["message"]
    assert "region" in line["message"]
