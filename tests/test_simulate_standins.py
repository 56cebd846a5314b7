"""The rehearsal's CodeDeploy and Lambda stand-ins, through real boto3 clients on 127.0.0.1."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from hookkit.checks.invocation import Invocation
from hookkit.ci.simulate.clock import VirtualClock
from hookkit.ci.simulate.metrics import MetricStore, dimensions
from hookkit.ci.simulate.router import LambdaRouter
from hookkit.ci.simulate.server import serving
from hookkit.ci.simulate.standins import StandIns
from hookkit.ci.simulate.state import FROZEN, DeploymentState
from hookkit.core.deployment import LambdaTarget
from hookkit.core.phases import Phase
from hookkit.hook.appspec import parse_appspec


@dataclass
class Build:
    """A build that answers with its version and says what it received."""

    version: str
    payloads: list[bytes] = field(default_factory=list)

    def invoke(self, payload: bytes, *, qualifier: str, timeout: float) -> Invocation:
        self.payloads.append(payload)
        if b"crash" in payload:
            return Invocation(200, b'{"errorType": "ValueError", "errorMessage": "crash"}', "Unhandled",
                              "START\nboom\nEND\n", qualifier, 2.0)
        return Invocation(200, json.dumps({"version": self.version}).encode(), None, "START\nEND\n", qualifier, 1.0)


@pytest.fixture
def world() -> Iterator[tuple[StandIns, DeploymentState, list[tuple[Phase, str]], MetricStore]]:
    reports: list[tuple[Phase, str]] = []
    state = DeploymentState(
        deployment_id="d-TEST00001", application="app", group="group", config_name="AllAtOnce", function="orders",
        alias="live", current="1", target="2", region="us-east-1",
        hooks={Phase.BEFORE_ALLOW_TRAFFIC: "CodeDeployHook_pre", Phase.AFTER_ALLOW_TRAFFIC: "CodeDeployHook_post"},
        on_report=lambda phase, status: reports.append((phase, status)),
    )
    metrics = MetricStore()
    router = LambdaRouter(function="orders", alias="live", builds={"1": Build("1"), "2": Build("2")}, timeout=3,
                          state=state, metrics=metrics, clock=VirtualClock(None), seed=1)
    server = StandIns(state, router)
    with serving(server):
        yield server, state, reports, metrics


def client(service: str, server: StandIns):
    return boto3.client(service, endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x", config=Config(retries={"total_max_attempts": 1}))


def test_a_status_report_is_accepted_exactly_once(world):
    server, state, reports, _ = world
    codedeploy = client("codedeploy", server)
    execution = state.open_execution(Phase.BEFORE_ALLOW_TRAFFIC)
    answer = codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId="d-TEST00001", lifecycleEventHookExecutionId=execution, status="Succeeded")
    assert answer["lifecycleEventHookExecutionId"] == execution
    for status in ("Succeeded", "Failed"):
        with pytest.raises(ClientError) as again:
            codedeploy.put_lifecycle_event_hook_execution_status(
                deploymentId="d-TEST00001", lifecycleEventHookExecutionId=execution, status=status)
        assert again.value.response["Error"]["Code"] == "LifecycleEventAlreadyCompletedException"
    assert reports == [(Phase.BEFORE_ALLOW_TRAFFIC, "Succeeded")]
    assert state.lifecycle["BeforeAllowTraffic"] == "Succeeded"


@pytest.mark.parametrize(("deployment", "execution", "status", "code"), [
    ("d-OTHER0001", "known", "Succeeded", "DeploymentDoesNotExistException"),
    ("d-TEST00001", "unknown", "Succeeded", "InvalidLifecycleEventHookExecutionIdException"),
    ("d-TEST00001", "known", "InProgress", "InvalidLifecycleEventHookExecutionStatusException"),
])
def test_bad_reports_get_codedeploys_errors(world, deployment, execution, status, code):
    server, state, reports, _ = world
    known = state.open_execution(Phase.AFTER_ALLOW_TRAFFIC)
    with pytest.raises(ClientError) as refused:
        client("codedeploy", server).put_lifecycle_event_hook_execution_status(
            deploymentId=deployment, lifecycleEventHookExecutionId=known if execution == "known" else "nope",
            status=status)
    assert refused.value.response["Error"]["Code"] == code
    assert reports == []


def test_a_report_after_codedeploys_hour_is_already_completed(world):
    server, state, reports, _ = world
    execution = state.open_execution(Phase.BEFORE_ALLOW_TRAFFIC)
    assert state.expire(execution)
    with pytest.raises(ClientError, match="LifecycleEventAlreadyCompletedException"):
        client("codedeploy", server).put_lifecycle_event_hook_execution_status(
            deploymentId="d-TEST00001", lifecycleEventHookExecutionId=execution, status="Succeeded")
    assert reports == [] and state.lifecycle["BeforeAllowTraffic"] == "Failed"


def test_discovery_reads_the_appspec_and_the_deployment_targets(world):
    server, state, _, _ = world
    codedeploy = client("codedeploy", server)
    state.open_execution(Phase.BEFORE_ALLOW_TRAFFIC)
    info = codedeploy.get_deployment(deploymentId="d-TEST00001")["deploymentInfo"]
    assert "content" not in info["revision"]["appSpecContent"]  # as CodeDeploy: GetDeployment has no content
    revision = codedeploy.get_application_revision(applicationName=info["applicationName"], revision=info["revision"])
    appspec = parse_appspec(revision["revision"]["appSpecContent"]["content"])
    assert appspec.target == LambdaTarget("orders", "2", alias="live", current_version="1")
    assert appspec.hooks == {Phase.BEFORE_ALLOW_TRAFFIC: "CodeDeployHook_pre",
                             Phase.AFTER_ALLOW_TRAFFIC: "CodeDeployHook_post"}
    ids = codedeploy.list_deployment_targets(deploymentId="d-TEST00001")["targetIds"]
    (target,) = codedeploy.batch_get_deployment_targets(deploymentId="d-TEST00001", targetIds=ids)["deploymentTargets"]
    info = target["lambdaTarget"]["lambdaFunctionInfo"]
    assert (info["functionName"], info["functionAlias"], info["currentVersion"], info["targetVersion"]) == (
        "orders", "live", "1", "2")
    events = {e["lifecycleEventName"]: e["status"] for e in target["lambdaTarget"]["lifecycleEvents"]}
    assert events == {"BeforeAllowTraffic": "InProgress", "AllowTraffic": "Pending", "AfterAllowTraffic": "Pending"}
    with pytest.raises(ClientError, match="DeploymentDoesNotExistException"):
        codedeploy.get_deployment(deploymentId="d-NOPE")


def test_lambda_invoke_routes_by_qualifier_and_answers_like_lambda(world):
    server, _, _, metrics = world
    lam = client("lambda", server)
    for qualifier in ("1", "2"):
        answer = lam.invoke(FunctionName="orders", Qualifier=qualifier, Payload=b"{}", LogType="Tail")
        assert json.loads(answer["Payload"].read()) == {"version": qualifier}
        assert answer["ExecutedVersion"] == qualifier and "FunctionError" not in answer
        assert base64.b64decode(answer["LogResult"]) == b"START\nEND\n"
    arn = "arn:aws:lambda:us-east-1:123456789012:function:orders:2"
    crashed = lam.invoke(FunctionName=arn, Payload=b'"crash"')
    assert crashed["FunctionError"] == "Unhandled" and crashed["ExecutedVersion"] == "2"
    assert "LogResult" not in crashed  # only with LogType=Tail
    version_2 = dimensions(FunctionName="orders", Resource="orders:2")
    assert metrics.values("AWS/Lambda", "Errors", version_2, 0, 1e9) == [0.0, 1.0]
    for name, qualifier in (("orders", "7"), ("payments", "1")):
        with pytest.raises(ClientError) as missing:
            lam.invoke(FunctionName=name, Qualifier=qualifier, Payload=b"{}")
        assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert lam.invoke(FunctionName="orders", Qualifier="1", InvocationType="DryRun")["StatusCode"] == 204


def test_the_alias_follows_codedeploys_weights(world):
    server, state, _, metrics = world
    lam = client("lambda", server)
    versions = [lam.invoke(FunctionName="orders", Qualifier="live", Payload=b"{}")["ExecutedVersion"]
                for _ in range(5)]
    assert versions == ["1"] * 5
    state.set_weight(1.0)
    assert lam.invoke(FunctionName="orders:live", Payload=b"{}")["ExecutedVersion"] == "2"
    by_alias = dimensions(FunctionName="orders", Resource="orders:live")
    assert len(metrics.values("AWS/Lambda", "Invocations", by_alias, 0, 1e9)) == 6


def test_other_services_are_refused_not_called(world):
    server, _, _, _ = world
    with pytest.raises(ClientError) as refused:
        client("dynamodb", server).get_item(TableName="orders", Key={"id": {"S": "1"}})
    assert "does not serve DynamoDB_20120810 GetItem" in str(refused.value)
    with pytest.raises(ClientError):
        client("cloudformation", server).describe_stacks(StackName="local")
    assert server.refused[-1] == "cloudformation DescribeStacks"


def test_a_report_from_an_environment_lambda_would_have_frozen_is_refused_and_leaves_the_event_open():
    reports, frozen = [], []
    running = {Phase.BEFORE_ALLOW_TRAFFIC: False}
    state = DeploymentState(
        deployment_id="d-TEST00001", application="app", group="group", config_name="AllAtOnce", function="orders",
        alias="live", current="1", target="2", region="us-east-1", hooks={Phase.BEFORE_ALLOW_TRAFFIC: "pre"},
        on_report=lambda phase, status: reports.append((phase, status)), running=running.__getitem__,
        on_frozen=lambda phase, status: frozen.append((phase, status)),
    )
    execution = state.open_execution(Phase.BEFORE_ALLOW_TRAFFIC)
    refusal = state.report("d-TEST00001", execution, "Succeeded")
    assert refusal is not None and refusal.code == FROZEN
    assert frozen == [(Phase.BEFORE_ALLOW_TRAFFIC, "Succeeded")] and reports == []
    assert state.lifecycle["BeforeAllowTraffic"] == "InProgress"
    running[Phase.BEFORE_ALLOW_TRAFFIC] = True  # a retry's invocation runs: its report counts
    assert state.report("d-TEST00001", execution, "Failed") is None
    assert reports == [(Phase.BEFORE_ALLOW_TRAFFIC, "Failed")]


def test_a_client_that_hangs_up_is_no_traceback_but_a_real_error_still_is(capsys: pytest.CaptureFixture[str]) -> None:
    """A hook killed at its timeout resets its connection to the stand-ins: that is the rehearsal
    working, not a server error, and it must not print a traceback into the run's output."""
    from http.server import BaseHTTPRequestHandler

    from hookkit.ci.simulate.server import LocalServer

    server = LocalServer(BaseHTTPRequestHandler)
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            server.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == ""
        try:
            raise ValueError("a bug in a stand-in")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 1))
        assert "ValueError: a bug in a stand-in" in capsys.readouterr().err
    finally:
        server.server_close()
