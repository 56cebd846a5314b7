"""The example functions answer their recorded events as the checks expect.

Most tests call the handlers as plain Python, without the hookkit runtime: they pin what the
example's checks rely on (v2 refuses a create without customerId, v1 does not; the worker hands
back only the poison message), so a check that fails later points at hookkit, not at the example.
The last ones run the checks module itself through ``hookkit run`` against each build.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hookkit.local.context import LocalContext

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "example_hooks"
ORDERS = EXAMPLES / "orders"
ORDER_HOOKS = ORDERS / "hooks"
FULFILMENT = EXAMPLES / "fulfilment"
POISON_MESSAGE_ID = "c80e8021-a70a-42c7-a470-796e1186f753"
SEEDED_ORDER = {
    "orderId": "ORD-1",
    "customerId": "CUST-1",
    "items": [{"sku": "BOOK-1984", "quantity": 1}],
    "status": "SHIPPED",
    "createdAt": "2024-05-02T09:30:00Z",
}
EXPECT_KEYS = {"status", "schema", "fields", "within_ms", "function_error"}


@pytest.fixture(autouse=True)
def lambda_like_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "example-tests")


def load(path: Path) -> ModuleType:
    """A fresh copy of a handler module: its own in-memory store, and no clash between the two
    builds' ``app.py`` in sys.modules."""
    spec = importlib.util.spec_from_file_location(f"example_{uuid.uuid4().hex}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def v1() -> ModuleType:
    return load(ORDERS / "v1" / "app.py")


@pytest.fixture
def v2() -> ModuleType:
    return load(ORDERS / "v2" / "app.py")


@pytest.fixture
def worker() -> ModuleType:
    return load(FULFILMENT / "function" / "app.py")


def event(name: str) -> Any:
    return json.loads((ORDER_HOOKS / "events" / name).read_text())


def schema(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((ORDER_HOOKS / "schemas" / name).read_text()))


def call(module: ModuleType, payload: Any) -> Any:
    return module.handler(payload, LocalContext(function_name="orders"))


def http(module: ModuleType, payload: dict[str, Any]) -> tuple[int, Any, dict[str, list[str]]]:
    answer = call(module, payload)
    return answer["statusCode"], json.loads(answer["body"]), answer["multiValueHeaders"]


def request(method: str, path: str, body: Any = None, raw_body: str | None = None) -> dict[str, Any]:
    """A recorded event sent to another path: the recorded shape with only the request changed."""
    template = event("api/get_order.json" if method == "GET" else "api/create_order.json")
    template.update(httpMethod=method, path=path, pathParameters=None)
    template["body"] = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    return template


def at(document: Any, pointer: str) -> Any:
    for token in pointer.split("/")[1:]:
        document = document[int(token)] if isinstance(document, list) else document[token]
    return document


def errors(validator: Draft202012Validator, instance: Any) -> list[str]:
    return sorted(error.message for error in validator.iter_errors(instance))


# --- orders v2: the deployed build -------------------------------------------------------------


def test_v2_creates_an_order(v2):
    status, body, headers = http(v2, event("api/create_order.json"))
    assert status == 201
    assert errors(schema("order.json"), body) == []
    assert (body["customerId"], body["status"]) == ("CUST-42", "CREATED")
    assert body["items"] == [{"sku": "BOOK-1984", "quantity": 2}, {"sku": "MUG-CLASSIC", "quantity": 1}]
    assert headers["Location"] == [f"/orders/{body['orderId']}"]


def test_v2_refuses_an_order_without_customer(v2):
    status, body, headers = http(v2, event("api/create_order_without_customer.json"))
    assert status == 400
    assert body == {
        "code": "INVALID_ORDER",
        "message": "customerId is required: the id of the customer placing the order",
        "field": "customerId",
    }
    assert errors(schema("error.json"), body) == []
    assert headers["Content-Type"] == ["application/json"]
    assert len(v2.ORDERS) == 1  # nothing was stored


@pytest.mark.parametrize(
    "body, field",
    [
        ({"customerId": "CUST-42"}, "items"),
        ({"customerId": "CUST-42", "items": []}, "items"),
        ({"customerId": "  ", "items": [{"sku": "BOOK-1984", "quantity": 1}]}, "customerId"),
        ([{"customerId": "CUST-42"}], None),
    ],
)
def test_v2_refuses_other_malformed_orders(v2, body, field):
    status, answer, _ = http(v2, request("POST", "/orders", body))
    assert (status, answer["code"], answer.get("field")) == (400, "INVALID_ORDER", field)


def test_v2_answers_400_to_a_body_that_is_not_json(v2):
    status, body, _ = http(v2, request("POST", "/orders", raw_body='{"customerId": '))
    assert (status, body) == (400, {"code": "BAD_REQUEST", "message": "the request body is not JSON"})


def test_v2_reads_the_seeded_order(v2):
    status, body, _ = http(v2, event("api/get_order.json"))
    assert (status, body) == (200, SEEDED_ORDER)
    assert errors(schema("order.json"), body) == []


def test_v2_refuses_to_cancel_a_shipped_order(v2):
    status, body, _ = http(v2, event("api/cancel_shipped_order.json"))
    assert (status, body) == (
        409,
        {"code": "ORDER_NOT_CANCELLABLE", "message": "order ORD-1 is SHIPPED and can no longer be cancelled"},
    )
    assert errors(schema("error.json"), body) == []


def test_v2_creates_reads_and_cancels_an_order(v2):
    _, created, _ = http(v2, event("api/create_order.json"))
    order_path = f"/orders/{created['orderId']}"
    assert http(v2, request("GET", order_path))[:2] == (200, created)
    status, cancelled, _ = http(v2, request("POST", f"{order_path}/cancel"))
    assert (status, cancelled) == (200, {**created, "status": "CANCELLED"})
    status, refused, _ = http(v2, request("POST", f"{order_path}/cancel"))
    assert (status, refused["code"]) == (409, "ORDER_NOT_CANCELLABLE")


def test_v2_answers_404_for_an_unknown_order(v2):
    status, body, _ = http(v2, request("GET", "/orders/ORD-404"))
    assert (status, body) == (404, {"code": "ORDER_NOT_FOUND", "message": "no order 'ORD-404'", "field": "orderId"})


def test_v2_answers_direct_invocations_with_the_order(v2):
    assert call(v2, event("direct/order_status.json")) == SEEDED_ORDER
    created = call(v2, event("direct/create_order.json"))
    assert (created["customerId"], created["status"]) == ("CUST-7", "CREATED")
    assert call(v2, {"action": "status", "orderId": created["orderId"]}) == created


def test_v2_direct_refusals_raise_errors_named_for_lambda(v2):
    with pytest.raises(v2.OrderNotFound, match="no order 'ORD-404'"):
        call(v2, event("direct/unknown_order.json"))
    with pytest.raises(v2.InvalidOrder, match="customerId is required"):
        call(v2, {"action": "create", "order": {"items": [{"sku": "BOOK-1984", "quantity": 1}]}})
    with pytest.raises(v2.UnknownAction, match="action must be one of create, status, cancel; got 'ship'"):
        call(v2, {"action": "ship", "orderId": "ORD-1"})


@pytest.mark.parametrize("name", ["order_status", "unknown_order", "create_order"])
def test_v2_meets_the_recorded_direct_events_expectations(v2, name):
    """The same rules recorded_events applies: NAME.expect.json when present, else no error."""
    expect_file = ORDER_HOOKS / "events" / "direct" / f"{name}.expect.json"
    expected = json.loads(expect_file.read_text()) if expect_file.exists() else {}
    assert set(expected) <= EXPECT_KEYS
    try:
        answer, error = call(v2, event(f"direct/{name}.json")), None
    except Exception as raised:  # noqa: BLE001 - what Lambda would report as the function error
        answer, error = None, type(raised).__name__
    assert error == expected.get("function_error")
    if error is None:
        assert expected.get("status", 200) == 200  # a direct invoke that ran answers 200
        for pointer, value in expected.get("fields", {}).items():
            assert at(answer, pointer) == value, pointer


# --- orders v1: the build the PreTraffic hook must stop ----------------------------------------


def test_v1_creates_an_order_without_customer(v1):
    status, body, _ = http(v1, event("api/create_order_without_customer.json"))
    assert status == 201
    assert body["customerId"] is None
    # What rejects_an_order_without_customer will report against v1: wrong status, and a body
    # that is an order (not an error) with no customer.
    assert errors(schema("error.json"), body) == [
        "'code' is a required property",
        "'message' is a required property",
        "Additional properties are not allowed"
        " ('createdAt', 'customerId', 'items', 'orderId', 'status' were unexpected)",
    ]
    assert errors(schema("order.json"), body) == ["None is not of type 'string'"]


@pytest.mark.parametrize(
    "name", ["api/create_order.json", "api/get_order.json", "api/cancel_shipped_order.json"]
)
def test_v1_and_v2_answer_the_other_recorded_requests_alike(v1, v2, name):
    answers = []
    for build in (v1, v2):
        status, body, _ = http(build, event(name))
        answers.append((status, {k: v for k, v in body.items() if k not in ("orderId", "createdAt")}))
    assert answers[0] == answers[1]


def test_v2_differs_from_v1_only_by_the_validation():
    """Each build is one commit's snapshot; the test keeps the copy honest."""

    def top_level(path: Path) -> dict[str, ast.AST]:
        module = ast.parse(path.read_text())
        body = module.body[1:]  # the docstrings differ on purpose
        names = {}
        for node in body:
            key = getattr(node, "name", None) or ast.dump(node)
            names[key] = node
        return names

    old, new = top_level(ORDERS / "v1" / "app.py"), top_level(ORDERS / "v2" / "app.py")
    assert set(new) - set(old) == {"InvalidOrder", "validate_new_order"}
    assert set(old) <= set(new)
    changed = [name for name in old if ast.dump(old[name]) != ast.dump(new[name])]
    assert changed == ["create_order"]
    first, *rest = new["create_order"].body
    assert ast.unparse(first) == "validate_new_order(request)"
    assert [ast.dump(n) for n in rest] == [ast.dump(n) for n in old["create_order"].body]
    assert (ORDERS / "v1" / "requirements.txt").read_text() == (ORDERS / "v2" / "requirements.txt").read_text()


# --- the recorded files themselves --------------------------------------------------------------


def test_the_schemas_are_valid_draft_2020_12():
    for path in sorted((ORDER_HOOKS / "schemas").glob("*.json")):
        document = json.loads(path.read_text())
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(document)


def test_every_file_the_checks_name_exists():
    for checks in (ORDER_HOOKS / "orders_checks.py", FULFILMENT / "hooks" / "fulfilment_checks.py"):
        named = [
            node.value
            for node in ast.walk(ast.parse(checks.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value.startswith(("events/", "schemas/"))
        ]
        assert named, checks
        for relative in named:
            assert (checks.parent / relative).exists(), f"{checks.name}: {relative}"


def test_recorded_api_events_are_rest_api_proxy_events_without_secrets():
    secret_headers = {"authorization", "cookie", "x-api-key", "x-amz-security-token"}
    for path in sorted((ORDER_HOOKS / "events" / "api").glob("*.json")):
        recorded = json.loads(path.read_text())
        context = recorded["requestContext"]
        assert (context["httpMethod"], context["resourcePath"]) == (recorded["httpMethod"], recorded["resource"])
        assert context["path"] == f"/{context['stage']}{recorded['path']}"
        assert recorded["isBase64Encoded"] is False
        assert {k: [v] for k, v in recorded["headers"].items()} == recorded["multiValueHeaders"]
        assert not secret_headers & {name.lower() for name in recorded["headers"]}, path.name


# --- fulfilment worker (SQS, partial batch response) --------------------------------------------


def batch(name: str) -> dict[str, Any]:
    return json.loads((FULFILMENT / "hooks" / "events" / name).read_text())


def test_the_worker_hands_back_only_the_poison_message(worker, caplog):
    recorded = batch("batch_with_poison_message.json")
    assert len(recorded["Records"]) == 3
    answer = worker.handler(recorded, LocalContext(function_name="fulfilment"))
    assert answer == {"batchItemFailures": [{"itemIdentifier": POISON_MESSAGE_ID}]}
    logs = caplog.records
    assert [(log.levelname, log.getMessage()) for log in logs] == [
        ("INFO", "pick list ready"),
        ("WARNING", "unusable message"),
        ("INFO", "pick list ready"),
    ]
    assert logs[1].message_id == POISON_MESSAGE_ID
    assert logs[1].reason == "Expecting property name enclosed in double quotes: line 1 column 79 (char 78)"
    assert logs[2].pick_list == {"orderId": "ORD-C4B3A2915E", "lines": [{"sku": "PEN-FOUNTAIN", "quantity": 3}]}


def test_the_worker_accepts_a_clean_batch(worker):
    assert worker.handler(batch("clean_batch.json"), LocalContext(function_name="fulfilment")) == {
        "batchItemFailures": []
    }


@pytest.mark.parametrize(
    "message, reason",
    [
        ({"items": [{"sku": "BOOK-1984", "quantity": 1}]}, "the message names no orderId"),
        ({"orderId": "ORD-9", "items": []}, "order ORD-9 lists no items"),
        (["ORD-9"], "the message names no orderId"),
    ],
)
def test_the_worker_refuses_messages_no_retry_can_fix(worker, message, reason):
    with pytest.raises(worker.UnusableMessage) as refused:
        worker.pick_list(message)
    assert str(refused.value) == reason


def test_the_recorded_batches_are_real_sqs_records():
    for name in ("batch_with_poison_message.json", "clean_batch.json"):
        for record in batch(name)["Records"]:
            assert record["eventSource"] == "aws:sqs"
            assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()


# --- the checks themselves, run by hookkit against each build in-process ------------------------

PRE_TRAFFIC_CHECKS = [
    "creates_an_order",
    "rejects_an_order_without_customer",
    "reads_an_order",
    "refuses_to_cancel_a_shipped_order",
    "answers_like_the_current_version",
    "direct/create_order",
    "direct/order_status",
    "direct/unknown_order",
]
POST_TRAFFIC_CHECKS = ["serves_an_order", "creates_then_reads_an_order"]
V2 = "local:template.yaml#OrdersFunction"
V1 = "local:template.yaml#OrdersFunction@example_hooks/orders/v1"


def run_checks(report: Path, *options: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """What CI runs: the hook's own checks module against the function's code from template.yaml."""
    command = [
        sys.executable, "-m", "hookkit", "run", "example_hooks/orders/hooks/orders_checks.py",
        *options, "--json", str(report),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert report.exists(), done.stderr
    phases = json.loads(report.read_text())["phases"]
    return done.returncode, {check["name"]: check for phase in phases for check in phase["checks"]}


def test_every_check_passes_against_v2(tmp_path):
    code, checks = run_checks(tmp_path / "v2.json", "--target", V2, "--current", V1, "--api", "local")
    statuses = {name: check["status"] for name, check in checks.items()}
    assert statuses == dict.fromkeys(PRE_TRAFFIC_CHECKS + POST_TRAFFIC_CHECKS, "passed")
    assert code == 0


def test_v1_is_stopped_by_the_bad_request_check_alone_with_a_readable_reason(tmp_path):
    code, checks = run_checks(tmp_path / "v1.json", "--phase", "pre", "--target", V1, "--current", V2)
    statuses = {name: check["status"] for name, check in checks.items()}
    assert statuses == {**dict.fromkeys(PRE_TRAFFIC_CHECKS, "passed"), "rejects_an_order_without_customer": "failed"}
    assert code == 1
    message = checks["rejects_an_order_without_customer"]["message"]
    assert message.startswith("invoke ")
    assert " with events/api/create_order_without_customer.json: " in message.splitlines()[0]
    assert "  - status: expected 400, got 201" in message
    assert "  - /code: expected 'INVALID_ORDER', got <missing>" in message
    assert "  - /field: expected 'customerId', got <missing>" in message


def test_the_fulfilment_checks_pass_against_the_worker_which_has_no_status(tmp_path):
    """An SQS worker answers no HTTP status: its checks pin the answer, and a status expectation fails."""
    template = tmp_path / "template.yaml"
    template.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  FulfilmentFunction:\n"
        "    Type: AWS::Serverless::Function\n"
        f"    Properties: {{CodeUri: {FULFILMENT / 'function'}, Handler: app.handler, Runtime: python3.12}}\n"
    )
    checks = tmp_path / "with_a_status.py"
    checks.write_text(
        (FULFILMENT / "hooks" / "fulfilment_checks.py").read_text()
        + "\n\n@pre_traffic\ndef expects_a_status(target):\n"
        + "    target.invoke('events/clean_batch.json').expect(status=200)\n"
    )
    (tmp_path / "events").symlink_to(FULFILMENT / "hooks" / "events")
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "hookkit", "run", str(checks), "--target", f"local:{template}#FulfilmentFunction",
         "--json", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    (phase,) = json.loads(report.read_text())["phases"]
    statuses = {check["name"]: check["status"] for check in phase["checks"]}
    assert statuses == {"hands_back_only_the_poison_message": "passed", "accepts_a_clean_batch": "passed",
                        "expects_a_status": "failed"}
    message = next(c["message"] for c in phase["checks"] if c["name"] == "expects_a_status")
    assert "status: expected 200, got 'no API Gateway proxy response: the function answered a JSON object " \
           "without statusCode'" in message
    assert '  answer body: {"batchItemFailures": []}' in message
