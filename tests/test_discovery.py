from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import NoRegionError
from botocore.stub import Stubber

from hookkit.core.deployment import Deployment, EcsTarget, LambdaTarget
from hookkit.core.errors import ConfigurationError, DiscoveryError, TargetError
from hookkit.core.phases import Phase
from hookkit.hook.discovery import discover, find_current_version

FIXTURES = Path(__file__).parent / "fixtures" / "appspec"
DEP = "d-ABCDEF123"
EXEC = "a1b2c3d4-0000-4444-8888-123456789012"
APP = "orders-app"
SHA = "f" * 64
HOOK = "CodeDeployHook_orders_pre"
ENV = {"HOOKKIT_FUNCTION": "orders", "HOOKKIT_TARGET_VERSION": "8"}
DENIED = "User: arn:aws:sts::123456789012:assumed-role/hook/x is not authorized to perform: {}"
NOT_SET = "environment: HOOKKIT_FUNCTION and HOOKKIT_TARGET_VERSION not set"

ORDERS_APPSPEC = json.dumps(
    {
        "version": 0.0,
        "Resources": [
            {
                "orders": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {"Name": "orders", "Alias": "live", "CurrentVersion": "7",
                                   "TargetVersion": "8"},
                }
            }
        ],
        "Hooks": [{"BeforeAllowTraffic": HOOK}, {"AfterAllowTraffic": "CodeDeployHook_post"}],
    }
)


class Factory:
    """A client factory that counts how often discovery asked for a client."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.client


@pytest.fixture
def stub() -> Iterator[Stubber]:
    client = boto3.client("codedeploy", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def factory(stub: Stubber) -> Factory:
    return Factory(stub.client)


def stub_targets(stub: Stubber, *targets: dict[str, Any]) -> None:
    ids = [t.get("lambdaTarget", t.get("ecsTarget", {})).get("targetId", "t") for t in targets]
    stub.add_response("list_deployment_targets", {"targetIds": ids}, {"deploymentId": DEP})
    stub.add_response(
        "batch_get_deployment_targets",
        {"deploymentTargets": list(targets)},
        {"deploymentId": DEP, "targetIds": ids},
    )


def lambda_target(
    info: dict[str, Any] | None = None, events: dict[str, str] | None = None
) -> dict[str, Any]:
    info = {"functionName": "orders", "functionAlias": "live", "currentVersion": "7",
            "targetVersion": "8", "targetVersionWeight": 0.0} if info is None else info
    events = {"BeforeAllowTraffic": "InProgress", "AllowTraffic": "Pending",
              "AfterAllowTraffic": "Pending"} if events is None else events
    return {
        "deploymentTargetType": "LambdaTarget",
        "lambdaTarget": {
            "deploymentId": DEP,
            "targetId": "orders",
            "status": "InProgress",
            "lambdaFunctionInfo": info,
            "lifecycleEvents": [{"lifecycleEventName": n, "status": s} for n, s in events.items()],
        },
    }


def ecs_target(events: dict[str, str]) -> dict[str, Any]:
    return {
        "deploymentTargetType": "ECSTarget",
        "ecsTarget": {
            "deploymentId": DEP,
            "targetId": "cluster:orders-svc",
            "status": "InProgress",
            "lifecycleEvents": [{"lifecycleEventName": n, "status": s} for n, s in events.items()],
        },
    }


def stub_deployment(stub: Stubber, revision_type: str = "AppSpecContent") -> dict[str, Any]:
    revision: dict[str, Any] = {"revisionType": revision_type}
    if revision_type == "AppSpecContent":
        revision["appSpecContent"] = {"sha256": SHA}
    elif revision_type == "String":
        revision["string"] = {"sha256": SHA}
    else:
        revision["s3Location"] = {"bucket": "b", "key": "appspec.yaml", "bundleType": "YAML"}
    stub.add_response(
        "get_deployment",
        {"deploymentInfo": {"applicationName": APP, "deploymentId": DEP, "revision": revision,
                            "computePlatform": "Lambda"}},
        {"deploymentId": DEP},
    )
    return revision


def stub_appspec(stub: Stubber, content: str, revision_type: str = "AppSpecContent") -> None:
    revision = stub_deployment(stub, revision_type)
    key = {"AppSpecContent": "appSpecContent", "String": "string"}[revision_type]
    answered = dict(revision, **{key: {"content": content, "sha256": SHA}})
    stub.add_response(
        "get_application_revision",
        {"applicationName": APP, "revision": answered},
        {"applicationName": APP, "revision": revision},
    )


def deny(stub: Stubber, method: str, action: str) -> None:
    stub.add_client_error(method, "AccessDeniedException", DENIED.format(action), 400)


ORDERS = LambdaTarget("orders", "8", alias="live", current_version="7")


# --- step 1: environment ------------------------------------------------------------------------


def test_environment_and_explicit_phase_never_create_a_client() -> None:
    def no_client() -> Any:
        raise AssertionError("discovery created a CodeDeploy client it did not need")

    env = ENV | {"HOOKKIT_CURRENT_VERSION": "7", "HOOKKIT_ALIAS": "live"}
    found = discover(DEP, EXEC, codedeploy=no_client, environ=env, phase=Phase.AFTER_ALLOW_TRAFFIC)
    assert found == Deployment(
        deployment_id=DEP,
        execution_id=EXEC,
        phase=Phase.AFTER_ALLOW_TRAFFIC,
        target=ORDERS,
        source="environment",
        notes=("phase: from the phase argument",),
    )


def test_phase_argument_accepts_sam_names_and_refuses_unknown_before_any_call() -> None:
    found = discover(DEP, EXEC, codedeploy=Factory(None), environ=ENV, phase="PreTraffic")
    assert found.phase is Phase.BEFORE_ALLOW_TRAFFIC
    factory = Factory(None)
    with pytest.raises(ConfigurationError) as caught:
        discover(DEP, EXEC, codedeploy=factory, environ={}, phase="during")
    assert str(caught.value).startswith("phase argument: unknown phase 'during'; use one of ")
    assert factory.calls == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HOOKKIT_FUNCTION": "orders"},
         "HOOKKIT_FUNCTION is set to 'orders' but HOOKKIT_TARGET_VERSION is not set (or empty); "
         "set HOOKKIT_TARGET_VERSION to the published version being deployed, or unset "
         "HOOKKIT_FUNCTION to let hookkit ask CodeDeploy"),
        ({"HOOKKIT_FUNCTION": "orders", "HOOKKIT_TARGET_VERSION": " "},
         "HOOKKIT_FUNCTION is set to 'orders' but HOOKKIT_TARGET_VERSION is not set (or empty); "
         "set HOOKKIT_TARGET_VERSION to the published version being deployed, or unset "
         "HOOKKIT_FUNCTION to let hookkit ask CodeDeploy"),
        ({"HOOKKIT_TARGET_VERSION": "8"},
         "HOOKKIT_TARGET_VERSION is set but HOOKKIT_FUNCTION is not set (or empty); set "
         "HOOKKIT_FUNCTION to the deployed function's name, or unset HOOKKIT_TARGET_VERSION to "
         "let hookkit ask CodeDeploy"),
        ({"HOOKKIT_FUNCTION": "orders", "HOOKKIT_TARGET_VERSION": "$LATEST"},
         "HOOKKIT_TARGET_VERSION: $LATEST is not a published version; publish a version (SAM: "
         "AutoPublishAlias) and give its number, so the hook invokes exactly the deployed code"),
        (ENV | {"HOOKKIT_CURRENT_VERSION": "live"},
         "HOOKKIT_CURRENT_VERSION: 'live' is not a published version number; give the number "
         "(such as \"2\"), not an alias or an ARN"),
    ],
)
def test_half_or_wrong_environment_is_a_configuration_error(
    env: dict[str, str], message: str
) -> None:
    factory = Factory(None)
    with pytest.raises(ConfigurationError) as caught:
        discover(DEP, EXEC, codedeploy=factory, environ=env, phase=Phase.BEFORE_ALLOW_TRAFFIC)
    assert str(caught.value) == message
    assert factory.calls == 0


# --- the phase rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "own_name",
    [
        HOOK,
        f"{HOOK}:live",
        f"arn:aws:lambda:us-east-1:123456789012:function:{HOOK}",
        f"arn:aws:lambda:us-east-1:123456789012:function:{HOOK}:3",
        f"123456789012:function:{HOOK}",
    ],
)
def test_phase_from_the_appspec_hook_naming_this_function(
    stub: Stubber, factory: Factory, own_name: str
) -> None:
    stub_appspec(stub, ORDERS_APPSPEC)
    found = discover(DEP, EXEC, codedeploy=factory, environ=ENV, hook_function_name=own_name)
    assert found.phase is Phase.BEFORE_ALLOW_TRAFFIC
    assert found.source == "environment"
    assert found.target == LambdaTarget("orders", "8")
    assert found.notes == (f"phase: from the AppSpec hook naming {HOOK}",)
    assert factory.calls == 1


def test_hook_name_defaults_to_lambdas_own_function_name_and_matches_arn_in_appspec(
    stub: Stubber, factory: Factory
) -> None:
    stub_appspec(stub, (FIXTURES / "lambda_numeric_versions.yaml").read_text(), "String")
    env = ENV | {"AWS_LAMBDA_FUNCTION_NAME": "CodeDeployHook_orders_pre"}
    found = discover(DEP, EXEC, codedeploy=factory, environ=env)
    assert found.phase is Phase.BEFORE_ALLOW_TRAFFIC
    assert found.notes == ("phase: from the AppSpec hook naming CodeDeployHook_orders_pre",)


def test_phase_from_the_lifecycle_event_in_progress_when_appspec_does_not_name_this_hook(
    stub: Stubber, factory: Factory
) -> None:
    stub_appspec(stub, ORDERS_APPSPEC)
    stub_targets(stub, lambda_target(events={"BeforeAllowTraffic": "Succeeded",
                                             "AllowTraffic": "Succeeded",
                                             "AfterAllowTraffic": "InProgress"}))
    found = discover(DEP, EXEC, codedeploy=factory, environ=ENV, hook_function_name="other")
    assert found.phase is Phase.AFTER_ALLOW_TRAFFIC
    assert found.notes == ("phase: from the lifecycle event in progress",)
    assert factory.calls == 1


def test_appspec_hook_wins_over_the_lifecycle_event_in_progress(
    stub: Stubber, factory: Factory
) -> None:
    stub_targets(stub, lambda_target())  # says BeforeAllowTraffic is in progress
    stub_appspec(stub, ORDERS_APPSPEC)
    found = discover(DEP, EXEC, codedeploy=factory, environ={},
                     hook_function_name="CodeDeployHook_post")
    assert found.phase is Phase.AFTER_ALLOW_TRAFFIC
    assert found.source == "deployment-targets"
    assert factory.calls == 1


def test_phase_unknown_is_none_with_the_reasons(stub: Stubber, factory: Factory) -> None:
    both = ORDERS_APPSPEC.replace("CodeDeployHook_post", HOOK)
    stub_appspec(stub, both)
    stub_targets(stub, lambda_target(events={"BeforeAllowTraffic": "Succeeded",
                                             "AllowTraffic": "InProgress"}))
    found = discover(DEP, EXEC, codedeploy=factory, environ=ENV, hook_function_name=HOOK)
    assert found.phase is None
    assert found.notes == (
        f"phase: unknown; appspec: {HOOK} is named by 2 hooks (BeforeAllowTraffic, "
        "AfterAllowTraffic); deployment-targets: 0 hook lifecycle events in progress",
    )


def test_phase_unknown_without_own_name_and_with_targets_denied(
    stub: Stubber, factory: Factory
) -> None:
    deny(stub, "list_deployment_targets", "codedeploy:ListDeploymentTargets")
    found = discover(DEP, EXEC, codedeploy=factory, environ=ENV)
    assert found.phase is None
    assert found.target == LambdaTarget("orders", "8")
    assert found.notes == (
        "phase: unknown; appspec: this hook's function name is unknown; deployment-targets: "
        "AccessDeniedException: grant codedeploy:ListDeploymentTargets to the hook's role "
        f"({DENIED.format('codedeploy:ListDeploymentTargets')})",
    )


# --- step 2: deployment targets -----------------------------------------------------------------


def test_deployment_targets_give_the_target_and_the_phase(stub: Stubber, factory: Factory) -> None:
    stub_targets(stub, lambda_target())
    found = discover(DEP, EXEC, codedeploy=factory, environ={"HOOKKIT_FUNCTION": ""})
    assert found == Deployment(
        deployment_id=DEP,
        execution_id=EXEC,
        phase=Phase.BEFORE_ALLOW_TRAFFIC,
        target=ORDERS,
        source="deployment-targets",
        notes=(NOT_SET, "phase: from the lifecycle event in progress"),
    )
    assert factory.calls == 1


def test_deployment_targets_are_read_across_pages(stub: Stubber, factory: Factory) -> None:
    stub.add_response("list_deployment_targets", {"targetIds": [], "nextToken": "page2"},
                      {"deploymentId": DEP})
    stub.add_response("list_deployment_targets", {"targetIds": ["orders"]},
                      {"deploymentId": DEP, "nextToken": "page2"})
    stub.add_response("batch_get_deployment_targets", {"deploymentTargets": [lambda_target()]},
                      {"deploymentId": DEP, "targetIds": ["orders"]})
    found = discover(DEP, EXEC, codedeploy=factory, environ={}, phase="pre")
    assert found.target == ORDERS


# --- step 3: AppSpec ----------------------------------------------------------------------------


def test_appspec_wins_when_targets_are_denied(stub: Stubber, factory: Factory) -> None:
    deny(stub, "list_deployment_targets", "codedeploy:ListDeploymentTargets")
    stub_appspec(stub, (FIXTURES / "lambda_hooks.yaml").read_text())
    found = discover(DEP, EXEC, codedeploy=factory, environ={},
                     hook_function_name="LambdaFunctionToValidateAfterTrafficShift")
    assert found == Deployment(
        deployment_id=DEP,
        execution_id=EXEC,
        phase=Phase.AFTER_ALLOW_TRAFFIC,
        target=LambdaTarget("myLambdaFunction", "2", alias="myLambdaFunctionAlias",
                            current_version="1"),
        source="appspec",
        notes=(
            NOT_SET,
            "deployment-targets: AccessDeniedException: grant codedeploy:ListDeploymentTargets "
            f"to the hook's role ({DENIED.format('codedeploy:ListDeploymentTargets')})",
            "phase: from the AppSpec hook naming LambdaFunctionToValidateAfterTrafficShift",
        ),
    )
    assert factory.calls == 1


def test_appspec_wins_when_targets_give_latest(stub: Stubber, factory: Factory) -> None:
    info = {"functionName": "orders", "currentVersion": "7", "targetVersion": "$LATEST"}
    stub_targets(stub, lambda_target(info))
    stub_appspec(stub, (FIXTURES / "lambda.json").read_text(), "String")
    found = discover(DEP, EXEC, codedeploy=factory, environ={}, phase=Phase.BEFORE_ALLOW_TRAFFIC)
    assert found.source == "appspec"
    assert found.target_version == "2"
    assert found.notes[1] == (
        "deployment-targets: lambdaFunctionInfo.targetVersion: $LATEST is not a published "
        "version; publish a version (SAM: AutoPublishAlias) and give its number, so the hook "
        "invokes exactly the deployed code"
    )


def test_ecs_deployment_gives_an_ecs_target_and_the_phase_in_progress(
    stub: Stubber, factory: Factory
) -> None:
    stub_targets(stub, ecs_target({"BeforeInstall": "Succeeded", "Install": "Succeeded",
                                   "AfterInstall": "Succeeded",
                                   "AfterAllowTestTraffic": "InProgress"}))
    stub_appspec(stub, (FIXTURES / "ecs_load_balancer.yaml").read_text())
    found = discover(DEP, EXEC, codedeploy=factory, environ={})
    assert found.target == EcsTarget(
        "arn:aws:ecs:us-east-1:111222333444:task-definition/my-task-definition-family-name:1",
        "SampleApplicationName",
        80,
    )
    assert found.source == "appspec"
    assert found.phase is Phase.AFTER_ALLOW_TEST_TRAFFIC
    assert found.function_name is None
    assert found.notes == (
        NOT_SET,
        "deployment-targets: no Lambda function among the deployment's targets (found ecsTarget)",
        "phase: from the lifecycle event in progress",
    )


# --- every step failing -------------------------------------------------------------------------


def test_all_denied_lists_every_step_and_the_actions_to_grant(
    stub: Stubber, factory: Factory
) -> None:
    deny(stub, "list_deployment_targets", "codedeploy:ListDeploymentTargets")
    stub_deployment(stub)
    deny(stub, "get_application_revision", "codedeploy:GetApplicationRevision")
    with pytest.raises(DiscoveryError) as caught:
        discover(DEP, EXEC, codedeploy=factory, environ={}, phase=Phase.BEFORE_ALLOW_TRAFFIC)
    assert caught.value.attempts == [
        ("environment", "HOOKKIT_FUNCTION and HOOKKIT_TARGET_VERSION not set"),
        ("deployment-targets", "AccessDeniedException: grant codedeploy:ListDeploymentTargets "
         f"to the hook's role ({DENIED.format('codedeploy:ListDeploymentTargets')})"),
        ("appspec", "AccessDeniedException: grant codedeploy:GetApplicationRevision to the "
         f"hook's role ({DENIED.format('codedeploy:GetApplicationRevision')})"),
    ]
    assert str(caught.value) == (
        f"deployment {DEP}: could not find the function and version to check. Tried "
        + "; ".join(f"{step}: {result}" for step, result in caught.value.attempts)
        + ". Fix: set HOOKKIT_FUNCTION and HOOKKIT_TARGET_VERSION on the hook function, or fix "
        "the CodeDeploy errors listed (the hook's role needs codedeploy:ListDeploymentTargets, "
        "codedeploy:BatchGetDeploymentTargets, codedeploy:GetDeployment, "
        "codedeploy:GetApplicationRevision)"
    )
    assert factory.calls == 1


def test_batch_get_and_get_deployment_denied_name_their_actions(
    stub: Stubber, factory: Factory
) -> None:
    stub.add_response("list_deployment_targets", {"targetIds": ["orders"]}, {"deploymentId": DEP})
    deny(stub, "batch_get_deployment_targets", "codedeploy:BatchGetDeploymentTargets")
    deny(stub, "get_deployment", "codedeploy:GetDeployment")
    with pytest.raises(DiscoveryError) as caught:
        discover(DEP, EXEC, codedeploy=factory, environ={}, phase=Phase.BEFORE_ALLOW_TRAFFIC)
    assert [result.split(" (")[0] for _, result in caught.value.attempts[1:]] == [
        "AccessDeniedException: grant codedeploy:BatchGetDeploymentTargets to the hook's role",
        "AccessDeniedException: grant codedeploy:GetDeployment to the hook's role",
    ]


def test_deployment_not_found(stub: Stubber, factory: Factory) -> None:
    for method in ("list_deployment_targets", "get_deployment"):
        stub.add_client_error(method, "DeploymentDoesNotExistException",
                              f"The deployment {DEP} could not be found.", 400)
    with pytest.raises(DiscoveryError) as caught:
        discover(DEP, EXEC, codedeploy=factory, environ={}, phase=Phase.BEFORE_ALLOW_TRAFFIC)
    assert caught.value.attempts[1:] == [
        ("deployment-targets", "DeploymentDoesNotExistException from ListDeploymentTargets: The "
         f"deployment {DEP} could not be found. (is the hook running in the deployment's account "
         "and region?)"),
        ("appspec", "DeploymentDoesNotExistException from GetDeployment: The deployment "
         f"{DEP} could not be found. (is the hook running in the deployment's account and "
         "region?)"),
    ]


def test_garbage_appspec_and_no_targets(stub: Stubber, factory: Factory) -> None:
    stub.add_response("list_deployment_targets", {"targetIds": []}, {"deploymentId": DEP})
    stub_appspec(stub, "Resources: [{fn: {Type: AWS::Lambda::Function, Properties: {Name: fn}}}]")
    with pytest.raises(DiscoveryError) as caught:
        discover(DEP, EXEC, codedeploy=factory, environ={}, phase=Phase.BEFORE_ALLOW_TRAFFIC)
    assert caught.value.attempts[1:] == [
        ("deployment-targets", "ListDeploymentTargets returned no targets (deployment not "
         "started?)"),
        ("appspec", "AppSpec Resources[0].fn.Properties.TargetVersion: missing; give the "
         "published version the deployment moves traffic to, such as \"2\""),
    ]


def test_s3_revision_has_no_content_to_read(stub: Stubber, factory: Factory) -> None:
    stub.add_response("list_deployment_targets", {"targetIds": []}, {"deploymentId": DEP})
    revision = stub_deployment(stub, "S3")
    stub.add_response("get_application_revision", {"applicationName": APP, "revision": revision},
                      {"applicationName": APP, "revision": revision})
    with pytest.raises(DiscoveryError) as caught:
        discover(DEP, EXEC, codedeploy=factory, environ={}, phase=Phase.BEFORE_ALLOW_TRAFFIC)
    assert caught.value.attempts[2] == (
        "appspec", "GetApplicationRevision returned no AppSpec content (revision type S3); "
        "hookkit reads String and AppSpecContent revisions only",
    )


def test_client_that_cannot_be_created_is_reported_per_step() -> None:
    calls = []

    def no_region() -> Any:
        calls.append(1)
        raise NoRegionError()

    with pytest.raises(DiscoveryError) as caught:
        discover(DEP, EXEC, codedeploy=no_region, environ={}, phase=Phase.BEFORE_ALLOW_TRAFFIC)
    failure = "NoRegionError creating the CodeDeploy client: You must specify a region."
    assert caught.value.attempts == [
        ("environment", "HOOKKIT_FUNCTION and HOOKKIT_TARGET_VERSION not set"),
        ("deployment-targets", failure),
        ("appspec", failure),
    ]
    assert len(calls) == 2


def test_more_targets_than_one_batch_are_fetched_in_batches_of_25(
    stub: Stubber, factory: Factory
) -> None:
    ids = [f"t{i}" for i in range(30)]
    stub.add_response("list_deployment_targets", {"targetIds": ids}, {"deploymentId": DEP})
    stub.add_response("batch_get_deployment_targets", {"deploymentTargets": []},
                      {"deploymentId": DEP, "targetIds": ids[:25]})
    stub.add_response("batch_get_deployment_targets", {"deploymentTargets": [lambda_target()]},
                      {"deploymentId": DEP, "targetIds": ids[25:]})
    found = discover(DEP, EXEC, codedeploy=factory, environ={})
    assert (found.target, found.phase) == (ORDERS, Phase.BEFORE_ALLOW_TRAFFIC)


def test_connection_failure_names_the_call() -> None:
    with socket.socket() as sock:  # a port nobody listens on once this socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("codedeploy", region_name="us-east-1", endpoint_url=endpoint,
                          config=Config(retries={"total_max_attempts": 1}, connect_timeout=1))
    with pytest.raises(DiscoveryError) as caught:
        discover(DEP, EXEC, codedeploy=lambda: client, environ={},
                 phase=Phase.BEFORE_ALLOW_TRAFFIC)
    failure = f'Could not connect to the endpoint URL: "{endpoint}/"'
    assert caught.value.attempts[1:] == [
        ("deployment-targets",
         f"EndpointConnectionError calling ListDeploymentTargets: {failure}"),
        ("appspec", f"EndpointConnectionError calling GetDeployment: {failure}"),
    ]


# --- the current version, on demand -------------------------------------------------------------


def test_find_current_version_reads_the_deployment_targets(stub: Stubber, factory: Factory) -> None:
    stub_targets(stub, lambda_target())
    assert find_current_version(DEP, LambdaTarget("orders", "8"), codedeploy=factory) == "7"


def test_find_current_version_refuses_a_different_target(stub: Stubber, factory: Factory) -> None:
    stub_targets(stub, lambda_target())
    with pytest.raises(  # CodeDeploy answered: no retry of the check can change it
        TargetError, match=r"CodeDeploy's target is orders:8.*not payments:8; set HOOKKIT_CURRENT_VERSION on the hook"
    ):
        find_current_version(DEP, LambdaTarget("payments", "8"), codedeploy=factory)


def test_find_current_version_denied_says_what_to_set(stub: Stubber, factory: Factory) -> None:
    deny(stub, "list_deployment_targets", "codedeploy:ListDeploymentTargets")
    with pytest.raises(DiscoveryError, match=r"codedeploy:ListDeploymentTargets.*set HOOKKIT_CURRENT_VERSION"):
        find_current_version(DEP, LambdaTarget("orders", "8"), codedeploy=factory)


def test_target_current_is_looked_up_only_when_used(stub: Stubber, factory: Factory) -> None:
    from hookkit.checks.target import Target

    deployment = discover(DEP, "exec-1", codedeploy=factory, phase="pre",
                          environ={"HOOKKIT_FUNCTION": "orders", "HOOKKIT_TARGET_VERSION": "8"})
    asked = []

    def find() -> str:
        asked.append(1)
        return find_current_version(DEP, deployment.target, codedeploy=factory)

    target = Target.deployed(deployment, lambda: None, find_current=find)
    assert (asked, factory.calls) == ([], 0)
    stub_targets(stub, lambda_target())
    assert target.current.version == "7" and target.current.version == "7"
    assert asked == [1]
