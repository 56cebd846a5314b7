"""Faults while finding what the hook guards: CodeDeploy's read calls fail, or describe no Lambda target.

The checks ask for ``target``, so the deployment is discovered through CodeDeploy (no
``HOOKKIT_FUNCTION``/``HOOKKIT_TARGET_VERSION``): deployment targets first, then the AppSpec.
"""

from __future__ import annotations

import pytest
import yaml
from aws_standin import AwsStandIn, access_denied, group_arn, json_answer, throttled
from faultkit import DEPLOYMENT, Hook, HookLog, assert_reported

CHECKS = """
    from hookkit import pre_traffic

    @pre_traffic
    def answers(target):
        target.invoke({}).expect(status=200)
"""
NOT_FOUND = "The deployment d-FAULT0001 could not be found."
GROUP = group_arn("orders-app", "orders-group")
NO_TARGETS = json_answer({"targetIds": []})
ECS_APPSPEC = yaml.safe_dump({
    "version": 0.0,
    "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
        "TaskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/orders:3",
        "LoadBalancerInfo": {"ContainerName": "orders", "ContainerPort": 8080}}}}],
    "Hooks": [{"AfterAllowTestTraffic": "CodeDeployHook_orders-PreTraffic"}],
})


@pytest.fixture(autouse=True)
def checks(hook: Hook, aws: AwsStandIn) -> None:
    hook.checks(CHECKS)
    aws.publish("orders", "7")


def check_error(log: HookLog) -> str:
    line = log.line("check answers: error: ")
    assert (line["level"], line["outcome"]) == ("ERROR", "error")
    return line["message"].removeprefix("check answers: error: ")


def test_a_deployment_codedeploy_does_not_know_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook()
    assert_reported(aws, "Failed")
    assert check_error(hook_log) == (
        f"DiscoveryError: deployment {DEPLOYMENT}: could not find the function and version to check. Tried "
        "environment: HOOKKIT_FUNCTION and HOOKKIT_TARGET_VERSION not set; "
        f"deployment-targets: DeploymentDoesNotExistException from ListDeploymentTargets: {NOT_FOUND} (is the hook "
        "running in the deployment's account and region?); "
        f"appspec: DeploymentDoesNotExistException from GetDeployment: {NOT_FOUND} (is the hook running in the "
        "deployment's account and region?). Fix: set HOOKKIT_FUNCTION and HOOKKIT_TARGET_VERSION on the hook "
        "function, or fix the CodeDeploy errors listed (the hook's role needs codedeploy:ListDeploymentTargets, "
        "codedeploy:BatchGetDeploymentTargets, codedeploy:GetDeployment, codedeploy:GetApplicationRevision)"
    )
    assert aws.calls("Invoke") == []


def test_denied_discovery_names_each_action_and_resource_to_grant(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog
) -> None:
    aws.deploy(DEPLOYMENT)
    aws.script("ListDeploymentTargets", access_denied("codedeploy:ListDeploymentTargets", GROUP))
    aws.script("GetDeployment", access_denied("codedeploy:GetDeployment", GROUP))
    hook()
    assert_reported(aws, "Failed")
    message = check_error(hook_log)
    assert (
        f"deployment-targets: AccessDeniedException: grant codedeploy:ListDeploymentTargets on {GROUP} to the "
        "hook's role (User: arn:aws:sts::123456789012:assumed-role/orders-hook-role/CodeDeployHook_orders-PreTraffic "
        "is not authorized to perform: codedeploy:ListDeploymentTargets on resource: "
    ) in message
    assert f"appspec: AccessDeniedException: grant codedeploy:GetDeployment on {GROUP} to the hook's role (" in message
    # one call each: a denied call is not retried, by botocore or by hookkit
    assert [r.operation for r in aws.requests] == ["ListDeploymentTargets", "GetDeployment",
                                                   "PutLifecycleEventHookExecutionStatus"]


def test_throttled_discovery_is_retried_by_botocore_then_succeeds(hook: Hook, aws: AwsStandIn,
                                                                  hook_log: HookLog) -> None:
    aws.deploy(DEPLOYMENT, function="orders", target="7")
    aws.script("ListDeploymentTargets", throttled(), throttled())
    hook(timeout_s=10)
    assert_reported(aws, "Succeeded")
    assert len(aws.calls("ListDeploymentTargets")) == 3  # hookkit does not retry discovery itself: botocore did
    assert hook_log.line("check answers: ")["message"] == "check answers: passed"
    assert [(r.function, r.query["Qualifier"]) for r in aws.calls("Invoke")] == [("orders", "7")]


def test_discovery_throttled_past_the_deadline_is_still_reported_in_time(hook: Hook, aws: AwsStandIn,
                                                                        hook_log: HookLog) -> None:
    aws.deploy(DEPLOYMENT)
    aws.script("ListDeploymentTargets", *[throttled()] * 10)
    aws.script("GetDeployment", *[throttled()] * 10)
    hook(timeout_s=1.5)
    assert_reported(aws, "Failed")
    assert aws.reports[0].at < hook.lambda_end
    assert hook_log.line("check answers: ")["message"] == (
        "check answers: timed_out: still running at the hook's deadline (time kept in reserve for the report)"
    )
    assert aws.calls("Invoke") == []


def test_a_garbage_appspec_reports_failed_saying_where(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    aws.deploy(DEPLOYMENT, appspec="Resources: [{orders: {Type: AWS::Lambda::Function\nHooks: ]")
    aws.script("ListDeploymentTargets", NO_TARGETS)
    hook()
    assert_reported(aws, "Failed")
    message = check_error(hook_log)
    assert "deployment-targets: ListDeploymentTargets returned no targets (deployment not started?)" in message
    assert ("appspec: AppSpec: neither JSON nor YAML at line 2, column 6: expected ',' or '}', but got ':'; fix the "
            "document's syntax.") in message


def test_an_appspec_revision_without_content_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    aws.deploy(DEPLOYMENT, appspec=None)
    aws.script("ListDeploymentTargets", NO_TARGETS)
    hook()
    assert_reported(aws, "Failed")
    assert ("appspec: GetApplicationRevision returned no AppSpec content (revision type AppSpecContent); hookkit "
            "reads String and AppSpecContent revisions only") in check_error(hook_log)


def test_an_ecs_deployment_fails_lambda_checks_saying_so(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    aws.deploy(DEPLOYMENT, appspec=ECS_APPSPEC)
    aws.script("ListDeploymentTargets", json_answer({"targetIds": ["orders-cluster:orders-service"]}))
    aws.script("BatchGetDeploymentTargets", json_answer({"deploymentTargets": [{
        "deploymentTargetType": "ECSTarget",
        "ecsTarget": {"deploymentId": DEPLOYMENT, "targetId": "orders-cluster:orders-service", "status": "InProgress",
                      "lifecycleEvents": [{"lifecycleEventName": "AfterAllowTestTraffic", "status": "InProgress"}]},
    }]}))
    hook()
    assert_reported(aws, "Failed")
    assert check_error(hook_log) == (
        f"TargetError: deployment {DEPLOYMENT} is not a Lambda deployment (EcsTarget); target.invoke and "
        "target.compare need a Lambda function"
    )
    assert aws.calls("Invoke") == []


def test_an_unknown_phase_reports_failed_naming_the_setting(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    """No HOOKKIT_PHASE, an AppSpec naming other hooks, and no hook event in progress: nothing to go on."""
    aws.deploy(DEPLOYMENT, in_progress="AllowTraffic", appspec=yaml.safe_dump({
        "Resources": [{"orders": {"Type": "AWS::Lambda::Function", "Properties": {
            "Name": "orders", "Alias": "live", "CurrentVersion": 6, "TargetVersion": 7}}}],
        "Hooks": [{"BeforeAllowTraffic": "CodeDeployHook_someone-else"}],
    }))
    hook.unset("HOOKKIT_PHASE")
    summary = hook()
    assert_reported(aws, "Failed")
    line = hook_log.line("could not tell")
    assert line["level"] == "ERROR"
    assert line["message"] == summary["reason"] == (
        "could not tell which lifecycle event this hook runs for: set HOOKKIT_PHASE (BeforeAllowTraffic or "
        "AfterAllowTraffic) on the hook function"
    )


def test_the_phase_and_target_come_from_codedeploy_alone(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    """The baseline: no HOOKKIT_PHASE, no target variables; the AppSpec names this hook for BeforeAllowTraffic."""
    aws.deploy(DEPLOYMENT, function="orders", target="7")
    hook.unset("HOOKKIT_PHASE")
    summary = hook()
    assert_reported(aws, "Succeeded")
    assert summary["phase"] == "BeforeAllowTraffic"
    assert hook_log.line("running 1 check(s)")["phase"] == "BeforeAllowTraffic"
