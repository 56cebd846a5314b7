"""``target``: invoke the new version by number, read what it answered, compare with the current one."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.awslambda_simple.models import lambda_simple_backends
from moto.core import DEFAULT_ACCOUNT_ID

from hookkit import (
    ConfigurationError,
    Deployment,
    EcsTarget,
    ExpectationFailed,
    HookRegistry,
    InvokeError,
    LambdaTarget,
    Phase,
    TargetError,
    recorded_events,
)
from hookkit.checks.invocation import Invocation
from hookkit.checks.target import LambdaInvoker, Target

FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures" / "target"


def proxy(status: int, body, *, b64: bool = False) -> str:
    text = json.dumps(body)
    if b64:
        text = base64.b64encode(text.encode()).decode()
    return json.dumps(
        {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": text, "isBase64Encoded": b64}
    )


@pytest.fixture
def moto_lambda():
    with mock_aws(config={"lambda": {"use_docker": False}}):
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        client = boto3.client("lambda", region_name="us-east-1")
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("app.py", "def handler(e, c):\n    return e\n")
        client.create_function(FunctionName="orders", Runtime="python3.12", Role=role, Handler="app.handler",
                               Code={"ZipFile": archive.getvalue()})
        client.publish_version(FunctionName="orders")  # 1
        client.publish_version(FunctionName="orders")  # 2
        queue = lambda_simple_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].lambda_simple_results_queue
        yield client, queue


def deployment(current="1", target="2") -> Deployment:
    return Deployment("d-1", "e-1", Phase.BEFORE_ALLOW_TRAFFIC,
                      LambdaTarget("orders", target_version=target, alias="live", current_version=current),
                      source="environment")


def test_invoke_reads_a_proxy_answer_from_the_target_version(moto_lambda, tmp_path) -> None:
    client, queue = moto_lambda
    queue.append(proxy(201, {"orderId": "ORD-9", "status": "CREATED"}, b64=True))
    (tmp_path / "create.json").write_text(json.dumps({"httpMethod": "POST", "path": "/orders"}))
    target = Target.deployed(deployment(), lambda: client, base_dir=tmp_path, timeout=5)
    result = target.invoke("create.json")
    assert result.status_code == 201
    assert result.body == {"orderId": "ORD-9", "status": "CREATED"}
    assert result.payload["statusCode"] == 201
    assert result.function_error is None
    assert "orders:2 with create.json" in result.subject
    assert result.expect(status=201, fields={"/status": "CREATED"}) is result


def test_expect_failures_name_the_version_and_the_difference(moto_lambda) -> None:
    client, queue = moto_lambda
    queue.append(proxy(500, {"message": "boom"}))
    target = Target.deployed(deployment(), lambda: client, timeout=5)
    with pytest.raises(ExpectationFailed) as info:
        target.invoke({"action": "status"}).expect(status=200)
    assert "invoke orders:2 with an inline event" in str(info.value)
    assert [(d.path, d.expected, d.actual) for d in info.value.differences] == [("status", 200, 500)]


def test_a_version_that_does_not_exist_is_an_invoke_error() -> None:
    # moto's Docker-free Lambda answers any qualifier, so the real error shape comes from the Stubber.
    client, stub = stubbed_lambda()
    stub.add_client_error("invoke", "ResourceNotFoundException", "Function not found: orders:99", 404)
    with stub, pytest.raises(
        InvokeError, match=r"invoking orders:99 failed: ResourceNotFoundException.*version is published"
    ):
        Target.deployed(deployment(target="99"), lambda: client, timeout=5).invoke({})


@pytest.mark.parametrize("version", ["$LATEST", "live", "", None, "2.1"])
def test_latest_aliases_and_garbage_are_refused(version) -> None:
    with pytest.raises(TargetError, match="published version number only"):
        Target.deployed(deployment(target=version), lambda: None)


@pytest.mark.parametrize("name", ["orders:live", "orders:$LATEST",
                                  "arn:aws:lambda:us-east-1:123456789012:function:orders:7",
                                  "123456789012:function:orders:7"])
def test_function_names_with_their_own_qualifier_are_refused(name) -> None:
    with pytest.raises(TargetError, match="carries a qualifier"):
        LambdaInvoker(lambda: None, name)


def test_an_ecs_deployment_is_refused_with_a_clear_message() -> None:
    ecs = Deployment("d-1", "e-1", Phase.AFTER_ALLOW_TEST_TRAFFIC, EcsTarget("arn:task/1", "web", 80))
    with pytest.raises(TargetError, match="d-1 is not a Lambda deployment \\(EcsTarget\\)"):
        Target.deployed(ecs, lambda: None)


def stubbed_lambda():
    client = boto3.client("lambda", region_name="us-east-1")
    return client, Stubber(client)


INVOKE_PARAMS = {"FunctionName": "orders", "Qualifier": "2", "InvocationType": "RequestResponse", "LogType": "Tail",
                 "Payload": b"{}"}


def test_function_errors_and_log_tail_are_exposed() -> None:
    client, stub = stubbed_lambda()
    log = base64.b64encode(b"START RequestId: 1\nKeyError: 'customerId'\n").decode()
    stub.add_response("invoke", {"StatusCode": 200, "FunctionError": "Unhandled", "LogResult": log,
                                 "ExecutedVersion": "2",
                                 "Payload": io.BytesIO(b'{"errorType": "KeyError", "errorMessage": "\'customerId\'"}')},
                      INVOKE_PARAMS)
    with stub:
        result = Target.deployed(deployment(), lambda: client).invoke({})
    assert (result.function_error, result.executed_version) == ("Unhandled", "2")
    assert "KeyError: 'customerId'" in result.log_tail
    with pytest.raises(ExpectationFailed) as info:
        result.expect()
    assert info.value.differences[0].path == "function_error"
    assert result.expect(function_error="KeyError") is result


def test_throttling_is_retried_within_the_timeout() -> None:
    client, stub = stubbed_lambda()
    stub.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
    stub.add_client_error("invoke", "ServiceException", http_status_code=500)
    stub.add_response("invoke", {"StatusCode": 200, "Payload": io.BytesIO(b'{"ok": true}')}, INVOKE_PARAMS)
    with stub:
        result = Target.deployed(deployment(), lambda: client, timeout=10).invoke({})
    assert result.body == {"ok": True}
    stub.assert_no_pending_responses()


def test_throttling_that_outlasts_the_timeout_says_so() -> None:
    client, stub = stubbed_lambda()
    for _ in range(100):
        stub.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
    with stub, pytest.raises(InvokeError, match="still throttled after retrying"):
        Target.deployed(deployment(), lambda: client, timeout=0.3).invoke({})


def test_access_denied_names_the_permission_and_resource() -> None:
    client, stub = stubbed_lambda()
    stub.add_client_error("invoke", "AccessDeniedException", http_status_code=403)
    with stub, pytest.raises(
        InvokeError, match=r"lambda:InvokeFunction on arn:aws:lambda:<region>:<account>:function:orders:\*"
    ):
        Target.deployed(deployment(), lambda: client).invoke({})


class FakeInvoker:
    """An in-memory invoker: answers per version from a table; records the qualifiers used."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def invoke(self, payload, *, qualifier, timeout):
        self.calls.append(qualifier)
        return Invocation(200, json.dumps(self.answers[qualifier]).encode(), executed_version=qualifier)


def make_pair(current_answer, new_answer):
    invoker = FakeInvoker({"1": current_answer, "2": new_answer})
    current = Target(invoker, "1", function_name="orders")
    return Target(invoker, "2", function_name="orders", current=current), invoker


def test_compare_passes_when_only_ignored_paths_differ() -> None:
    target, invoker = make_pair(
        json.loads(proxy(200, {"id": "ORD-1", "at": "10:00", "items": [{"sku": "A", "ts": 1}]})),
        json.loads(proxy(200, {"id": "ORD-1", "at": "10:05", "items": [{"sku": "A", "ts": 2}]})),
    )
    assert target.compare({"x": 1}, ignore=["/at", "/items/*/ts"]) == []
    assert invoker.calls == ["1", "2"]


def test_compare_lists_every_difference_outside_ignored_paths() -> None:
    target, _ = make_pair(
        json.loads(proxy(200, {"id": "ORD-1", "total": 10})),
        json.loads(proxy(201, {"id": "ORD-1", "total": 12, "extra": True})),
    )
    with pytest.raises(ExpectationFailed) as info:
        target.compare({"x": 1})
    assert "version 2 of orders answers an inline event differently from version 1" in str(info.value)
    paths = [d.path for d in info.value.differences]
    assert paths == ["status", "/extra", "/total"]


def test_compare_without_a_known_current_version_says_how_to_fix() -> None:
    target = Target(FakeInvoker({}), "2", function_name="orders")
    with pytest.raises(TargetError, match="HOOKKIT_CURRENT_VERSION"):
        target.compare({})


def test_a_relative_event_without_a_base_dir_and_unserialisable_events_are_config_errors() -> None:
    target = Target(FakeInvoker({"2": {}}), "2", function_name="orders")
    with pytest.raises(ConfigurationError, match="relative"):
        target.invoke("events/x.json")
    with pytest.raises(ConfigurationError, match="not JSON-serialisable"):
        target.invoke({"when": object()})


def test_recorded_events_become_one_check_each(tmp_path) -> None:
    folder = tmp_path / "events"
    (folder / "schemas").mkdir(parents=True)
    (folder / "get_order.json").write_text('{"action": "status", "orderId": "ORD-1"}')
    (folder / "get_order.expect.json").write_text(
        '{"schema": "schemas/order.json", "fields": {"order.status": "CREATED"}}'
    )
    (folder / "ping.json").write_text('{"action": "ping"}')
    (folder / "schemas" / "order.json").write_text(
        '{"type": "object", "required": ["order"], "properties": {"order": {"type": "object"}}}'
    )
    registry = HookRegistry()
    checks = recorded_events(folder, registry=registry, timeout=5)
    assert [c.name for c in checks] == ["events/get_order", "events/ping"]
    assert all(c.params == ("target",) and c.options.timeout == 5 for c in checks)

    class Answers:
        def invoke(self, payload, *, qualifier, timeout):
            event = json.loads(payload)
            answer = {"order": {"status": "CREATED"}} if event["action"] == "status" else {"pong": True}
            return Invocation(200, json.dumps(answer).encode())

    target = Target(Answers(), "2", function_name="orders", base_dir=tmp_path)
    for check in checks:
        check.func(target)  # passes: the expectation holds

    class Wrong(Answers):
        def invoke(self, payload, *, qualifier, timeout):
            return Invocation(200, b'{"order": {"status": "CANCELLED"}}')

    with pytest.raises(ExpectationFailed) as info:
        checks[0].func(Target(Wrong(), "2", function_name="orders"))
    assert [d.path for d in info.value.differences] == ["/order/status"]


def test_a_broken_recorded_event_fails_at_registration_naming_the_file(tmp_path) -> None:
    (tmp_path / "bad.json").write_text('{"action": "status",\n  oops}')
    with pytest.raises(ConfigurationError) as info:
        recorded_events(tmp_path, registry=HookRegistry())
    assert "bad.json" in str(info.value) and "line 2" in str(info.value)


def failing_pair():
    error = {"errorType": "KeyError", "errorMessage": "'customerId'"}

    class Raises:
        def invoke(self, payload, *, qualifier, timeout):
            return Invocation(200, json.dumps(error).encode(), function_error="Unhandled", executed_version=qualifier)

    invoker = Raises()
    return Target(invoker, "2", function_name="orders", current=Target(invoker, "1", function_name="orders"))


@pytest.mark.parametrize("body, status", [
    ("target.invoke({})", "failed"),
    ("assert target.invoke({}).status_code is None", "failed"),  # no status when it raised; still not examined
    ("target.current.invoke({})", "failed"),
    ("target.invoke({}).expect(function_error='KeyError')", "passed"),
    # reading the property examines nothing: an expected error is said with expect(function_error=...)
    ("assert target.invoke({}).function_error == 'Unhandled'", "failed"),
])
def test_a_function_error_the_check_never_examined_fails_it(body, status) -> None:
    import time

    from hookkit.core.runner import run_checks

    namespace: dict = {}
    exec(f"def check(target):\n    {body}\n", namespace)
    registry = HookRegistry()
    registry.pre_traffic(namespace["check"])
    target = failing_pair()
    (outcome,) = run_checks(registry.checks("pre"), provide=lambda name, check, timeout: target,
                            deadline=time.monotonic() + 10)
    assert outcome.status.value == status
    if status == "failed":
        assert "the check never examined a failed call: invoke orders:" in outcome.message
        assert "raised KeyError: 'customerId'" in outcome.message


def test_a_replay_sends_the_bytes_checked_at_registration(tmp_path) -> None:
    event = tmp_path / "ping.json"
    event.write_text('{"action": "ping"}')
    (check,) = recorded_events(tmp_path, registry=HookRegistry())
    event.write_text('{"action": "edited after registration"}')
    sent = []

    class Records:
        def invoke(self, payload, *, qualifier, timeout):
            sent.append(payload)
            return Invocation(200, b"{}")

    check.func(Target(Records(), "2", function_name="orders"))
    assert sent == [b'{"action": "ping"}']


def test_a_recorded_event_check_points_at_its_event_file(tmp_path) -> None:
    (tmp_path / "order.json").write_text("{}")
    (check,) = recorded_events(tmp_path, registry=HookRegistry())
    assert check.source == (str(tmp_path / "order.json"), 1)


# -- a function invoked directly has no status; it is checked by its answer -------------------------


def test_a_direct_answer_has_no_status_and_expect_no_function_error_says_it_answered() -> None:
    target = Target(FakeInvoker({"2": {"batchItemFailures": []}}), "2", function_name="worker")
    result = target.invoke({"Records": []})
    assert (result.status_code, result.status) == (None, None)  # never Lambda's own 200
    assert result.invocation.status_code == 200  # which is still there, for what it says: the invoke ran
    assert result.expect_no_function_error() is result
    assert result.expect(fields={"/batchItemFailures": []}) is result
    with pytest.raises(ExpectationFailed) as info:
        result.expect(status=200)
    assert info.value.differences[0].actual == (
        "no API Gateway proxy response: the function answered a JSON object without statusCode"
    )
    assert repr(result) == "<InvokeResult invoke worker:2 with an inline event: status=None function_error=None>"


def test_expect_no_function_error_fails_on_a_function_error_and_examines_it() -> None:
    result = failing_pair().invoke({})
    with pytest.raises(ExpectationFailed) as info:
        result.expect_no_function_error()
    assert info.value.differences == [("function_error", None, "KeyError: 'customerId'")]
    assert result.examined


# -- configuration errors met inside checks name their fix -----------------------------------------


def test_a_missing_event_file_names_the_call_where_relative_paths_start_and_a_close_name(tmp_path) -> None:
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "create_order.json").write_text("{}")
    target = Target(FakeInvoker({"2": {}}), "2", function_name="orders", base_dir=tmp_path)
    with pytest.raises(ConfigurationError) as info:
        target.invoke("events/create-order.json")
    assert str(info.value) == (
        f"target.invoke('events/create-order.json') (relative event paths start at the checks module's folder "
        f"{tmp_path}): event {tmp_path / 'events' / 'create-order.json'} not found; did you mean "
        "'create_order.json'? check the file name and folder"
    )


def test_target_current_without_a_current_version_names_each_fix() -> None:
    target = Target(FakeInvoker({}), "2", function_name="orders")
    with pytest.raises(TargetError) as info:
        target.current  # noqa: B018 - the property is the call under test
    message = str(info.value)
    assert message.startswith("target.current: the version of orders being replaced is not known to this run")
    for fix in ("set HOOKKIT_CURRENT_VERSION on the hook function", "unset HOOKKIT_FUNCTION and "
                "HOOKKIT_TARGET_VERSION", "pass --current"):
        assert fix in message


def test_aws_region_alone_gives_the_clients_their_region(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """botocore reads AWS_DEFAULT_REGION only; a job (or Lambda) setting AWS_REGION alone must still work.
    A region botocore found (AWS_DEFAULT_REGION, the profile) is kept."""
    from hookkit.hook.clients import Clients

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    assert Clients().get("lambda").meta.region_name == "eu-west-2"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert Clients().get("lambda").meta.region_name == "us-east-1"
