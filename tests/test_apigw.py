from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel, APIGatewayProxyEventV2Model

from hookkit.checks.invocation import Invocation
from hookkit.core.errors import ConfigurationError, InvokeError
from hookkit.local.apigw import LOCAL_BASE_URL, Integration, LocalApiAdapter, Route, in_process_api, local_api
from hookkit.local.context import LocalContext

FIXTURES = Path(__file__).parent / "fixtures" / "apigw"
ORDER = Route("GET", "/orders/{orderId}")


class Recorder:
    """A handler that records each event and answers with a fixed (or computed) proxy response."""

    def __init__(self, answer: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.answer = answer if answer is not None else {"statusCode": 200, "body": '{"ok": true}'}

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        return self.answer(event) if callable(self.answer) else self.answer

    @property
    def event(self) -> dict[str, Any]:
        assert len(self.events) == 1
        return self.events[0]


def session_for(call: Any, routes: list[Route], **options: Any) -> requests.Session:
    session = requests.Session()
    session.mount(LOCAL_BASE_URL + "/", LocalApiAdapter(call, routes, **options))
    return session


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively: what a real event and ours must agree on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


# -- routes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("FETCH", "/orders", "route FETCH /orders: unknown method; use one of ANY, DELETE, GET"),
        ("GET", "orders", "route GET orders: the path must start with '/'"),
        ("GET", "/{proxy+}/items", "route GET /{proxy+}/items: a greedy {proxy+} must be the last segment"),
        ("GET", "/orders/id-{orderId}", "route GET /orders/id-{orderId}: 'id-{orderId}' must be a whole"),
    ],
)
def test_bad_routes_fail_when_declared(method: str, path: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as failure:
        Route(method, path)
    assert str(failure.value).startswith(message)


def test_route_matching_and_parameters() -> None:
    assert ORDER.match("GET", "/orders/ORD-1") == {"orderId": "ORD-1"}
    assert ORDER.match("GET", "/orders/ORD-1/") == {"orderId": "ORD-1"}
    assert ORDER.match("POST", "/orders/ORD-1") is None
    assert ORDER.match("GET", "/orders/ORD-1/items") is None
    assert Route("any", "/{proxy+}").match("DELETE", "/a/b/c") == {"proxy": "a/b/c"}
    assert Route("GET", "/").match("GET", "/") == {}
    assert Route("GET", "/").key == "GET /"


def test_the_most_specific_route_wins_as_in_api_gateway() -> None:
    recorder = Recorder()
    routes = [
        Route("ANY", "/{proxy+}"),
        Route("ANY", "/orders/{orderId}"),
        Route("GET", "/orders/{orderId}"),
        Route("GET", "/orders/special"),
        Route("GET", "/orders/{orderId}/{rest+}"),
    ]
    session = session_for(recorder, routes)
    for path in ["/orders/special", "/orders/ORD-1", "/orders/ORD-1/items/2", "/health"]:
        session.get(LOCAL_BASE_URL + path)
    session.delete(LOCAL_BASE_URL + "/orders/ORD-1")

    assert [(e["resource"], e["pathParameters"]) for e in recorder.events] == [
        ("/orders/special", None),
        ("/orders/{orderId}", {"orderId": "ORD-1"}),
        ("/orders/{orderId}/{rest+}", {"orderId": "ORD-1", "rest": "items/2"}),
        ("/{proxy+}", {"proxy": "health"}),
        ("/orders/{orderId}", {"orderId": "ORD-1"}),
    ]
    assert [e["httpMethod"] for e in recorder.events] == ["GET", "GET", "GET", "GET", "DELETE"]


def test_no_matching_route_on_a_rest_api_is_403_missing_authentication_token() -> None:
    recorder = Recorder()
    session = session_for(recorder, [ORDER])  # payload 1.0 alone: a REST API

    for response in (session.get(LOCAL_BASE_URL + "/customers/1"), session.post(LOCAL_BASE_URL + "/orders/1")):
        assert (response.status_code, response.json()) == (403, {"message": "Missing Authentication Token"})
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert recorder.events == []


@pytest.mark.parametrize("payload_version", ["1.0", "2.0"])
def test_no_matching_route_on_an_http_api_is_404_not_found(payload_version: str) -> None:
    recorder = Recorder()
    session = session_for(recorder, [ORDER], payload_version=payload_version, kind="http")

    for response in (session.get(LOCAL_BASE_URL + "/customers/1"), session.post(LOCAL_BASE_URL + "/orders/1")):
        assert (response.status_code, response.json()) == (404, {"message": "Not Found"})
    assert recorder.events == []


def test_adapter_options_are_checked() -> None:
    with pytest.raises(ConfigurationError, match=r"payload_version '3.0': use '1.0' \(REST API\) or '2.0'"):
        LocalApiAdapter(Recorder(), [ORDER], payload_version="3.0")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="needs at least one route"):
        LocalApiAdapter(Recorder(), [])
    with pytest.raises(ConfigurationError, match=r"API kind 'soap': use 'rest' \(REST API\) or 'http'"):
        LocalApiAdapter.serving([Integration(ORDER, Recorder())], kind="soap")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"route GET /orders/\{orderId\}: payload_version '9'"):
        Integration(ORDER, Recorder(), "9")  # type: ignore[arg-type]


@pytest.mark.parametrize(("payload_version", "kind"), [("1.0", "rest"), ("2.0", "http"), ("1.0", "http")])
def test_a_head_answer_has_the_headers_and_no_body(payload_version: str, kind: str) -> None:
    answer = {"statusCode": 200, "headers": {"Content-Type": "application/json", "ETag": "v1"}, "body": '{"a": 1}'}
    recorder = Recorder(answer)
    session = session_for(recorder, [Route("ANY", "/orders/{orderId}")], payload_version=payload_version, kind=kind)

    response = session.head(LOCAL_BASE_URL + "/orders/1")
    missing = session.head(LOCAL_BASE_URL + "/nowhere")

    assert (response.status_code, response.headers["ETag"], response.content) == (200, "v1", b"")
    assert [e.get("httpMethod") or e["requestContext"]["http"]["method"] for e in recorder.events] == ["HEAD"]
    assert (missing.status_code, missing.content) == ((403 if kind == "rest" else 404), b"")


def test_one_api_serves_routes_of_several_functions_each_in_its_payload_version() -> None:
    orders, users = Recorder({"statusCode": 200, "body": "orders"}), Recorder("users")
    session = requests.Session()
    session.mount(LOCAL_BASE_URL + "/", LocalApiAdapter.serving(
        [Integration(ORDER, orders, "1.0"), Integration(Route("GET", "/users/{id}"), users, "2.0")],
        kind="http", stage="beta",
    ))

    assert session.get(LOCAL_BASE_URL + "/orders/ORD%201").text == "orders"
    assert session.get(LOCAL_BASE_URL + "/users/u-1").text == "users"
    # an HTTP API says which payload it sends and routes on the decoded path, in either format
    assert (orders.event["version"], orders.event["path"], orders.event["requestContext"]["stage"]) == (
        "1.0", "/orders/ORD 1", "beta"
    )
    assert (users.event["version"], users.event["pathParameters"]) == ("2.0", {"id": "u-1"})


def test_local_api_is_a_smoke_api_over_several_functions() -> None:
    api = local_api(
        [Integration(Route("GET", "/a"), lambda e: {"statusCode": 200, "body": '{"from": "a"}'}),
         Integration(Route("GET", "/b"), lambda e: {"statusCode": 201, "body": '{"from": "b"}'})],
        kind="rest", timeout=5,
    )
    api.get("/a").expect(status=200, fields={"/from": "a"})
    api.get("/b").expect(status=201, fields={"/from": "b"})
    assert api.get("/c").status == 403


# -- events against real ones -------------------------------------------------------------------


def test_rest_v1_event_has_the_shape_and_values_of_a_real_one() -> None:
    real = load("rest_v1_get_order.json")
    recorder = Recorder()
    session = session_for(recorder, [ORDER])

    session.get(LOCAL_BASE_URL + "/orders/ORD-1?expand=items&tag=a&tag=b", headers={"Accept": "application/json"})
    ours = recorder.event

    assert shape({k: v for k, v in ours.items() if k not in ("headers", "multiValueHeaders")}) == shape(
        {k: v for k, v in real.items() if k not in ("headers", "multiValueHeaders")}
    )
    for key in ("resource", "path", "httpMethod", "queryStringParameters", "multiValueQueryStringParameters",
                "pathParameters", "stageVariables", "body", "isBase64Encoded"):
        assert ours[key] == real[key], key
    for key in ("httpMethod", "path", "protocol", "resourcePath", "stage"):
        assert ours["requestContext"][key] == real["requestContext"][key], key
    assert ours["headers"]["Accept"] == real["headers"]["Accept"]
    assert ours["multiValueHeaders"]["Accept"] == real["multiValueHeaders"]["Accept"]
    assert ours["headers"]["Host"] == "hookkit.local"
    assert ours["headers"]["X-Forwarded-Proto"] == "http"
    assert "Connection" not in ours["headers"]
    assert set(ours["headers"]) == set(ours["multiValueHeaders"])
    assert ours["requestContext"]["identity"]["userAgent"] == ours["headers"]["User-Agent"]


def test_http_v2_event_has_the_shape_and_values_of_a_real_one() -> None:
    real = load("http_v2_post_item.json")
    recorder = Recorder()
    session = session_for(recorder, [Route("POST", "/orders/{orderId}/items")], payload_version="2.0")

    session.post(
        LOCAL_BASE_URL + "/orders/ORD-1/items?dryRun=true&tag=a&tag=b",
        headers={"Accept": "application/json", "Content-Type": "application/json",
                 "Cookie": "session=s-123; theme=dark"},
        data='{"sku": "SKU-9", "qty": 2}',
    )
    ours = recorder.event

    assert shape({k: v for k, v in ours.items() if k != "headers"}) == shape(
        {k: v for k, v in real.items() if k != "headers"}
    )
    for key in ("version", "routeKey", "rawPath", "rawQueryString", "cookies", "queryStringParameters",
                "body", "pathParameters", "isBase64Encoded"):
        assert ours[key] == real[key], key
    for key in ("routeKey", "stage"):
        assert ours["requestContext"][key] == real["requestContext"][key], key
    assert {k: v for k, v in ours["requestContext"]["http"].items() if k not in ("sourceIp", "userAgent")} == {
        k: v for k, v in real["requestContext"]["http"].items() if k not in ("sourceIp", "userAgent")
    }
    for name in ("accept", "content-length", "content-type"):
        assert ours["headers"][name] == real["headers"][name], name
    assert all(name == name.lower() for name in ours["headers"])
    assert "cookie" not in ours["headers"]
    assert "stageVariables" not in ours


@pytest.mark.parametrize(
    ("payload_version", "model"), [("1.0", APIGatewayProxyEventModel), ("2.0", APIGatewayProxyEventV2Model)]
)
def test_events_validate_against_powertools_models(payload_version: str, model: Any) -> None:
    recorder = Recorder()
    session = session_for(recorder, [Route("ANY", "/{proxy+}")], payload_version=payload_version)

    session.get(LOCAL_BASE_URL + "/a/b?x=1")
    session.post(LOCAL_BASE_URL + "/upload", data=b"\x89PNG\r\n\x1a\n\x00")

    for event in recorder.events:
        model.model_validate(event)
    assert len(recorder.events) == 2


def test_v1_keeps_the_path_encoding_v2_decodes_it() -> None:
    v1, v2 = Recorder(), Recorder()
    session_for(v1, [ORDER]).get(LOCAL_BASE_URL + "/orders/ORD%201?q=a%20b")
    session_for(v2, [ORDER], payload_version="2.0").get(LOCAL_BASE_URL + "/orders/ORD%201?q=a%20b")

    assert (v1.event["path"], v1.event["pathParameters"], v1.event["queryStringParameters"]) == (
        "/orders/ORD%201", {"orderId": "ORD%201"}, {"q": "a b"}
    )
    assert (v2.event["rawPath"], v2.event["pathParameters"], v2.event["rawQueryString"],
            v2.event["queryStringParameters"]) == ("/orders/ORD 1", {"orderId": "ORD 1"}, "q=a%20b", {"q": "a b"})


def test_v1_sends_cookies_as_a_header_and_nulls_for_empty_fields() -> None:
    recorder = Recorder()
    session_for(recorder, [ORDER]).get(LOCAL_BASE_URL + "/orders/1", headers={"Cookie": "a=1; b=2"})
    event = recorder.event
    assert event["headers"]["Cookie"] == "a=1; b=2"
    assert event["multiValueHeaders"]["Cookie"] == ["a=1; b=2"]
    assert (event["queryStringParameters"], event["multiValueQueryStringParameters"], event["body"],
            event["isBase64Encoded"], event["stageVariables"]) == (None, None, None, False, None)


def test_v2_leaves_out_empty_fields() -> None:
    recorder = Recorder()
    session_for(recorder, [Route("GET", "/health")], payload_version="2.0").get(LOCAL_BASE_URL + "/health")
    assert set(recorder.event) == {"version", "routeKey", "rawPath", "rawQueryString", "headers", "requestContext",
                                   "isBase64Encoded"}
    assert recorder.event["rawQueryString"] == ""


@pytest.mark.parametrize("payload_version", ["1.0", "2.0"])
def test_bodies_text_as_is_binary_as_base64(payload_version: str) -> None:
    recorder = Recorder()
    session = session_for(recorder, [Route("POST", "/upload")], payload_version=payload_version)
    binary = b"\x89PNG\r\n\x1a\n\x00\xff"

    session.post(LOCAL_BASE_URL + "/upload", data="h\u00e9llo")
    session.post(LOCAL_BASE_URL + "/upload", data=binary)
    session.post(LOCAL_BASE_URL + "/upload", data=iter([b"chunk-1,", b"chunk-2"]))

    assert [(e["body"], e["isBase64Encoded"]) for e in recorder.events] == [
        ("h\u00e9llo", False),
        (base64.b64encode(binary).decode(), True),
        ("chunk-1,chunk-2", False),
    ]


def test_stages_show_in_the_request_context_and_v2_raw_path() -> None:
    v1, v1_custom, v2 = Recorder(), Recorder(), Recorder()
    session_for(v1, [ORDER]).get(LOCAL_BASE_URL + "/orders/1")
    session_for(v1_custom, [ORDER], stage="v1", stage_variables={"table": "orders-v1"}).get(
        LOCAL_BASE_URL + "/orders/1"
    )
    session_for(v2, [ORDER], payload_version="2.0", stage="beta").get(LOCAL_BASE_URL + "/orders/1")

    assert (v1.event["requestContext"]["stage"], v1.event["requestContext"]["path"]) == ("Prod", "/Prod/orders/1")
    assert (v1_custom.event["requestContext"]["path"], v1_custom.event["stageVariables"]) == (
        "/v1/orders/1", {"table": "orders-v1"}
    )
    assert (v2.event["rawPath"], v2.event["requestContext"]["http"]["path"], v2.event["requestContext"]["stage"]) == (
        "/beta/orders/1", "/beta/orders/1", "beta"
    )


# -- responses ----------------------------------------------------------------------------------


def test_v1_response_headers_merge_multi_values_and_default_the_content_type() -> None:
    answer = {
        "statusCode": 201,
        "headers": {"X-Request-Id": "r-1", "Set-Cookie": "c=3", "X-Count": 3},
        "multiValueHeaders": {"Set-Cookie": ["a=1; Path=/", "b=2; Path=/"], "X-Count": [3]},
        "body": '{"id": "ORD-1"}',
    }
    session = session_for(Recorder(answer), [ORDER])

    response = session.get(LOCAL_BASE_URL + "/orders/ORD-1")

    assert (response.status_code, response.reason, response.json()) == (201, "Created", {"id": "ORD-1"})
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Request-Id"] == "r-1"
    assert response.headers["X-Count"] == "3"
    # Both maps merge; a value given in both is sent once.
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/", "c=3"]
    assert response.raw.headers.getlist("X-Count") == ["3"]
    assert session.cookies.get_dict() == {"a": "1", "b": "2", "c": "3"}


def test_v2_cookies_become_set_cookie_headers() -> None:
    answer = {"statusCode": 200, "cookies": ["s=1; Secure", "t=2"], "headers": {"content-type": "text/plain"},
              "body": "hi"}
    session = session_for(Recorder(answer), [ORDER], payload_version="2.0")
    response = session.get(LOCAL_BASE_URL + "/orders/1")
    assert (response.text, response.headers["Content-Type"]) == ("hi", "text/plain")
    assert response.raw.headers.getlist("Set-Cookie") == ["s=1; Secure", "t=2"]
    assert session.cookies.get_dict() == {"s": "1", "t": "2"}


@pytest.mark.parametrize(
    ("returned", "text"),
    [
        ({"id": 1}, '{"id": 1}'),
        ("hello", "hello"),  # a string is the body's text, not JSON: API Gateway does not quote it
        ('{"already": "json"}', '{"already": "json"}'),
        (42, "42"),
        ([1, 2], "[1, 2]"),
        (None, "null"),
        (b'{"id":1,  "raw": true}', '{"id":1,  "raw": true}'),  # the function's answer as Lambda returned it
    ],
)
def test_v2_infers_a_200_json_response_whose_body_is_the_answer(returned: Any, text: str) -> None:
    session = session_for(lambda event: returned, [ORDER], payload_version="2.0")
    response = session.get(LOCAL_BASE_URL + "/orders/1")
    assert (response.status_code, response.headers["Content-Type"], response.text) == (200, "application/json", text)


@pytest.mark.parametrize("payload_version", ["1.0", "2.0"])
def test_a_base64_response_body_is_decoded(payload_version: str) -> None:
    image = b"\x89PNG\r\n\x1a\n\x00\xfe"
    answer = {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "isBase64Encoded": True,
              "body": base64.b64encode(image).decode()}
    response = session_for(Recorder(answer), [ORDER], payload_version=payload_version).get(LOCAL_BASE_URL + "/orders/1")
    assert (response.content, response.headers["Content-Type"]) == (image, "image/png")


def test_a_gzip_response_is_decoded_as_from_a_real_server() -> None:
    import gzip

    answer = {"statusCode": 200, "headers": {"Content-Encoding": "gzip", "Content-Type": "application/json"},
              "isBase64Encoded": True, "body": base64.b64encode(gzip.compress(b'{"zipped": true}')).decode()}
    response = session_for(Recorder(answer), [ORDER]).get(LOCAL_BASE_URL + "/orders/1")
    assert response.json() == {"zipped": True}


def test_the_function_answer_may_be_an_invocation_or_a_raw_payload() -> None:
    payload = b'{"statusCode": 202, "body": "queued"}'
    for answer in (Invocation(status_code=200, payload=payload), payload):
        response = session_for(lambda event, a=answer: a, [ORDER]).get(LOCAL_BASE_URL + "/orders/1")
        assert (response.status_code, response.text) == (202, "queued")


@pytest.mark.parametrize("payload_version", ["1.0", "2.0"])
def test_a_handler_that_raises_is_a_502_and_its_traceback_is_logged_redacted(
    payload_version: str, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(event: dict[str, Any]) -> Any:
        raise ValueError("lookup failed for token=tok-s3cr3t")

    with caplog.at_level(logging.ERROR, logger="hookkit.local.apigw"):
        response = session_for(handler, [ORDER], payload_version=payload_version).get(LOCAL_BASE_URL + "/orders/1")

    assert (response.status_code, response.json()) == (502, {"message": "Internal server error"})
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert message.startswith("GET /orders/1: the handler raised\nTraceback")
    assert "ValueError: lookup failed for token=[REDACTED]" in message
    assert "tok-s3cr3t" not in message


@pytest.mark.parametrize(
    ("answer", "logged"),
    [
        ({"body": "no status"}, "statusCode must be an HTTP status number, got None"),
        ({"statusCode": "two hundred", "body": ""}, "statusCode must be an HTTP status number, got 'two hundred'"),
        ({"statusCode": True}, "statusCode must be an HTTP status number, got True"),
        ({"statusCode": 200, "body": {"id": 1}}, "body must be a string (serialise JSON yourself), got dict"),
        ({"statusCode": 200, "body": "x", "extra": 1}, "unexpected keys in the proxy response: ['extra']"),
        ({"statusCode": 200, "headers": {"X": {"a": 1}}}, "header 'X' must be a string or number"),
        ({"statusCode": 200, "multiValueHeaders": {"X": "a"}}, "multiValueHeaders['X'] must be a list"),
        ({"statusCode": 200, "isBase64Encoded": True, "body": "not base64!"}, "isBase64Encoded is true but the body"),
        ({"statusCode": 200, "body": {1, 2}}, "the function's return value is not JSON-serialisable"),
        ("just text", "a proxy response must be an object with statusCode, got str"),
        (Invocation(200, b'{"errorType": "KeyError"}', function_error="Unhandled"), "the function failed (Unhandled)"),
        (b"not json", "the function's payload is not JSON"),
    ],
)
def test_a_malformed_proxy_response_is_a_502(answer: Any, logged: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="hookkit.local.apigw"):
        response = session_for(lambda event: answer, [ORDER]).get(LOCAL_BASE_URL + "/orders/1")
    assert (response.status_code, response.json()) == (502, {"message": "Internal server error"})
    assert next(r.getMessage() for r in caplog.records).startswith(f"GET /orders/1: {logged}")


def test_v2_checks_its_cookies() -> None:
    answer = {"statusCode": 200, "cookies": "a=1"}
    response = session_for(lambda event: answer, [ORDER], payload_version="2.0").get(LOCAL_BASE_URL + "/orders/1")
    assert response.status_code == 502


def test_a_handler_slower_than_the_read_timeout_times_out() -> None:
    def slow(event: dict[str, Any]) -> Any:
        time.sleep(0.2)
        return {"statusCode": 200}

    with pytest.raises(requests.ReadTimeout, match=r"the handler took 0\.2\d s, over the read timeout of 0\.05 s"):
        session_for(slow, [ORDER]).get(LOCAL_BASE_URL + "/orders/1", timeout=(1, 0.05))


# -- the whole way: Powertools apps behind Api.in_process ----------------------------------------


@pytest.mark.parametrize(
    ("payload_version", "resolver"), [("1.0", APIGatewayRestResolver), ("2.0", APIGatewayHttpResolver)]
)
def test_a_powertools_app_answers_smoke_calls_in_process(payload_version: str, resolver: Any) -> None:
    app = resolver()

    @app.get("/orders/<order_id>")
    def get_order(order_id: str) -> dict[str, Any]:
        return {"id": order_id, "expand": app.current_event.get_query_string_value("expand")}

    @app.post("/orders")
    def create_order() -> tuple[dict[str, Any], int]:
        return {"created": app.current_event.json_body["sku"]}, 201

    api = in_process_api(
        lambda event: app.resolve(event, LocalContext()),
        [Route("GET", "/orders/{orderId}"), Route("POST", "/orders")],
        payload_version=payload_version,  # type: ignore[arg-type]
        timeout=5,
    )

    got = api.get("/orders/ORD-1", params={"expand": "items"}).expect(
        status=200, fields={"id": "ORD-1", "expand": "items"}, within_ms=5000
    )
    created = api.post("/orders", json={"sku": "SKU-9"}).expect(status=201, fields={"created": "SKU-9"})
    assert (got.status, created.status) == (200, 201)


def test_in_process_timeouts_fail_like_deployed_ones() -> None:
    def slow(event: dict[str, Any]) -> Any:
        time.sleep(0.3)
        return {"statusCode": 200}

    api = in_process_api(slow, [ORDER], timeout=0.1)
    with pytest.raises(InvokeError, match=r"^GET http://hookkit\.local/orders/1 failed after 0\.\d\d s: "
                                          r"no answer within the read timeout of 0\.1 s$"):
        api.get("/orders/1")
