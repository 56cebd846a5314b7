from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import responses
from botocore.credentials import Credentials
from moto import mock_aws

from hookkit import __version__
from hookkit.checks.expect import Expectable
from hookkit.checks.jsondiff import MISSING
from hookkit.checks.smoke import Api, ApiResponse
from hookkit.core.errors import ConfigurationError, Difference, ExpectationFailed, InvokeError
from hookkit.local.apigw import Route, in_process_api

BASE = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/Prod"
ORDER_SCHEMA = {"type": "object", "required": ["id", "status"], "properties": {"id": {"type": "string"}}}


def order_api_answers(api: Api) -> None:
    """The issue's example check, run unchanged against every kind of API below."""
    api.get("/orders/ORD-1").expect(status=200, within_ms=800)


# -- a real HTTP server on 127.0.0.1 -------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    """Paths name behaviours; the server counts requests per (method, path) and keeps their headers."""

    server: LocalServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature; keeps test output clean
        pass

    def _answer(self) -> None:
        path = self.path.split("?")[0]
        self.server.hits[(self.command, path)] += 1
        self.server.headers.append(dict(self.headers))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        hits = self.server.hits[(self.command, path)]
        if path == "/orders/ORD-1":
            self._send(200, b'{"id": "ORD-1", "status": "PAID"}')
        elif path == "/slow":
            time.sleep(1.0)
            self._send(200, b"{}")
        elif path == "/sluggish":
            time.sleep(0.15)
            self._send(200, b"{}")
        elif path == "/flaky":  # 503 twice, then fine
            self._send(503, b'{"message": "Service Unavailable"}') if hits <= 2 else self._send(200, b'{"ok": true}')
        elif path == "/busy":  # asks for a 30 s pause once, then fine
            if hits == 1:
                self.send_response(503)
                self.send_header("Retry-After", "30")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(200, b'{"ok": true}')
        elif path == "/down":
            self._send(503, b'{"message": "Service Unavailable"}')
        elif path == "/html":
            self._send(200, b"<html>maintenance</html>", "text/html")
        else:
            self._send(404, b'{"message": "Not Found"}')

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815 - http.server's names


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: Counter[tuple[str, str]] = Counter()
        self.headers: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    httpd = LocalServer()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def failure_message(call: Any) -> str:
    with pytest.raises(InvokeError) as failure:
        call()
    return str(failure.value)


# -- requests and expectations (responses) ------------------------------------------------------


@responses.activate
def test_each_verb_joins_the_path_to_the_base_url() -> None:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        responses.add(method, f"{BASE}/orders/ORD-1", json={"method": method})
    api = Api(BASE + "/", timeout=5)

    answers = [api.get("orders/ORD-1"), api.post("/orders/ORD-1", json={"a": 1}), api.put("/orders/ORD-1"),
               api.patch("/orders/ORD-1"), api.delete("/orders/ORD-1"), api.request("get", "/orders/ORD-1")]

    assert [a.body["method"] for a in answers] == ["GET", "POST", "PUT", "PATCH", "DELETE", "GET"]
    assert [c.request.url for c in responses.calls] == [f"{BASE}/orders/ORD-1"] * 6
    assert responses.calls[1].request.body == b'{"a": 1}'


@responses.activate
def test_requests_carry_params_headers_and_a_user_agent_naming_hookkit() -> None:
    responses.add("GET", f"{BASE}/orders", json=[])
    Api(BASE, timeout=5).get("/orders", params={"status": "PAID"}, headers={"X-Trace": "t-1"})

    request = responses.calls[0].request
    assert request.url == f"{BASE}/orders?status=PAID"
    assert request.headers["X-Trace"] == "t-1"
    assert request.headers["User-Agent"].startswith(f"hookkit/{__version__} python-requests/")


@responses.activate
def test_timeouts_are_bounded_by_the_checks_timeout() -> None:
    responses.add("GET", f"{BASE}/a", json={})
    api = Api(BASE, timeout=2.5)

    api.get("/a")
    api.get("/a", timeout=1)
    api.get("/a", timeout=60)

    assert [c.request.req_kwargs["timeout"] for c in responses.calls] == [(2.5, 2.5), (1.0, 1.0), (2.5, 2.5)]
    assert Api(BASE, timeout=10).connect_timeout == 3.05


@responses.activate
def test_a_response_meeting_its_expectations_chains() -> None:
    responses.add("GET", f"{BASE}/orders/ORD-1", json={"id": "ORD-1", "status": "PAID"}, headers={"ETag": "e1"})
    response = Api(BASE, timeout=5).get("/orders/ORD-1")

    assert response.expect(status=200, schema=ORDER_SCHEMA, fields={"status": "PAID"}, within_ms=5000) is response
    assert (response.status, response.headers["ETag"], response.json()) == (
        200, "e1", {"id": "ORD-1", "status": "PAID"}
    )
    assert response.duration_ms > 0
    assert re.fullmatch(rf"GET {re.escape(BASE)}/orders/ORD-1 \(answered 200 in \d+ ms\)", response.subject)


@responses.activate
def test_an_expectation_failure_says_which_call_why_and_how_long() -> None:
    responses.add("GET", f"{BASE}/orders/ORD-1", json={"id": "ORD-1", "message": "nope"}, status=503)
    response = Api(BASE, timeout=5, retries=0).get("/orders/ORD-1", params={"access_token": "tok-123"})

    with pytest.raises(ExpectationFailed) as failure:
        response.expect(status=200, schema=ORDER_SCHEMA)

    error = failure.value
    assert re.fullmatch(
        rf"GET {re.escape(BASE)}/orders/ORD-1\?access_token=\[REDACTED\] \(answered 503 in \d+ ms\)", error.subject
    )
    assert error.differences == [
        Difference("status", 200, 503),
        Difference("/status", "required", MISSING),
    ]
    assert "tok-123" not in str(error)


@responses.activate
def test_a_schema_on_a_non_json_body_names_the_call() -> None:
    responses.add("GET", f"{BASE}/orders/ORD-1", body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(ExpectationFailed) as failure:
        Api(BASE, timeout=5).get("/orders/ORD-1").expect(status=200, schema=ORDER_SCHEMA)
    assert failure.value.subject.startswith(f"GET {BASE}/orders/ORD-1 (answered 200 in ")
    assert failure.value.differences == [Difference("body", "JSON", "<html>maintenance</html>")]


@responses.activate
def test_schema_paths_are_relative_to_base_dir(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "order.json").write_text(json.dumps(ORDER_SCHEMA))
    responses.add("GET", f"{BASE}/orders/ORD-1", json={"id": "ORD-1"})

    with pytest.raises(ExpectationFailed) as failure:
        Api(BASE, timeout=5, base_dir=tmp_path).get("/orders/ORD-1").expect(schema="schemas/order.json")
    assert failure.value.differences == [Difference("/status", "required", MISSING)]


def test_absolute_urls_are_refused_so_credentials_stay_on_the_api() -> None:
    with pytest.raises(
        ConfigurationError, match=r"api path 'https://evil\.example/x\?token=\[REDACTED\]': pass a path"
    ):
        Api(BASE, timeout=5).get("https://evil.example/x?token=abc")


@pytest.mark.parametrize("timeout", [0, -1])
def test_the_timeout_must_be_positive(timeout: float) -> None:
    with pytest.raises(ConfigurationError, match="Api timeout must be a positive number of seconds"):
        Api(BASE, timeout=timeout)


# -- base URL from the environment --------------------------------------------------------------


def test_base_url_from_hookkit_api_url_never_touches_cloudformation() -> None:
    def no_client() -> Any:
        raise AssertionError("CloudFormation must not be asked when HOOKKIT_API_URL is set")

    api = Api.from_environment({"HOOKKIT_API_URL": f" {BASE} ", "HOOKKIT_STACK_NAME": "orders"}, timeout=5,
                               cloudformation=no_client)
    assert (api.base_url, api.timeout, api.auth) == (BASE, 5.0, None)


@pytest.mark.parametrize(
    "url",
    ["abc123.execute-api.eu-west-1.amazonaws.com/Prod", "ftp://example.com/api", "https://", "https://h/p?x=1",
     "https://h/p#frag", "https://h/my api", "http://[::1"],
)
def test_a_malformed_url_names_the_variable(url: str) -> None:
    with pytest.raises(ConfigurationError) as failure:
        Api.from_environment({"HOOKKIT_API_URL": url}, timeout=5)
    assert str(failure.value).startswith(f"HOOKKIT_API_URL: {url!r} is not an http(s) base URL; set it to")


def test_no_url_and_no_stack_names_both_variables() -> None:
    with pytest.raises(ConfigurationError) as failure:
        Api.from_environment({}, timeout=5)
    message = str(failure.value)
    assert message.startswith("no API URL: set HOOKKIT_API_URL to the API's base URL")
    assert "HOOKKIT_STACK_NAME (and HOOKKIT_API_OUTPUT, default ApiUrl)" in message


@pytest.fixture
def cloudformation() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("cloudformation", region_name="us-east-1")
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                "ApiUrl": {"Value": BASE},
                "AdminApiUrl": {"Value": "https://admin.example.com/v1"},
                "BadUrl": {"Value": "not a url"},
            },
        }
        client.create_stack(StackName="orders", TemplateBody=json.dumps(template))
        yield client


def test_base_url_from_the_default_stack_output(cloudformation: Any) -> None:
    api = Api.from_environment({"HOOKKIT_STACK_NAME": "orders"}, timeout=5, cloudformation=lambda: cloudformation)
    assert api.base_url == BASE


def test_base_url_from_a_named_stack_output(cloudformation: Any) -> None:
    environ = {"HOOKKIT_STACK_NAME": "orders", "HOOKKIT_API_OUTPUT": "AdminApiUrl"}
    api = Api.from_environment(environ, timeout=5, cloudformation=lambda: cloudformation)
    assert api.base_url == "https://admin.example.com/v1"


def test_a_missing_output_lists_the_stacks_outputs(cloudformation: Any) -> None:
    environ = {"HOOKKIT_STACK_NAME": "orders", "HOOKKIT_API_OUTPUT": "Nope"}
    with pytest.raises(ConfigurationError) as failure:
        Api.from_environment(environ, timeout=5, cloudformation=lambda: cloudformation)
    assert str(failure.value).startswith(
        "stack 'orders' has no output 'Nope' (HOOKKIT_API_OUTPUT); its outputs are: AdminApiUrl, ApiUrl, BadUrl."
    )


def test_a_malformed_output_names_the_stack_and_output(cloudformation: Any) -> None:
    environ = {"HOOKKIT_STACK_NAME": "orders", "HOOKKIT_API_OUTPUT": "BadUrl"}
    with pytest.raises(ConfigurationError) as failure:
        Api.from_environment(environ, timeout=5, cloudformation=lambda: cloudformation)
    assert str(failure.value).startswith(
        "output 'BadUrl' of stack 'orders' (HOOKKIT_STACK_NAME, HOOKKIT_API_OUTPUT): 'not a url' is not an http(s)"
    )


def test_a_missing_stack_names_the_variable_and_the_fix(cloudformation: Any) -> None:
    with pytest.raises(ConfigurationError) as failure:
        Api.from_environment({"HOOKKIT_STACK_NAME": "gone"}, timeout=5, cloudformation=lambda: cloudformation)
    message = str(failure.value)
    assert message.startswith("HOOKKIT_STACK_NAME='gone': cannot read the stack (")
    assert "does not exist" in message
    assert message.endswith("that the hook's role may call cloudformation:DescribeStacks")


@responses.activate
def test_auth_from_the_environment_is_sent_and_never_shown() -> None:
    responses.add("GET", f"{BASE}/orders/ORD-1", json={"id": "ORD-1"}, status=500)
    api = Api.from_environment({"HOOKKIT_API_URL": BASE, "HOOKKIT_API_KEY": "key-s3cr3t"}, timeout=5)

    response = api.get("/orders/ORD-1")

    assert responses.calls[0].request.headers["x-api-key"] == "key-s3cr3t"
    with pytest.raises(ExpectationFailed) as failure:
        response.expect(status=200)
    for text in (str(failure.value), repr(api), repr(response)):
        assert "key-s3cr3t" not in text


# -- the real server: timeouts, refusals, retries ------------------------------------------------


def test_the_issue_example_runs_against_a_deployed_url(server: LocalServer) -> None:
    order_api_answers(Api(server.url, timeout=5))
    assert server.hits[("GET", "/orders/ORD-1")] == 1
    assert server.headers[0]["User-Agent"].startswith("hookkit/")


def test_the_issue_example_runs_unchanged_in_process() -> None:
    calls: list[str] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(event["pathParameters"]["orderId"])
        return {"statusCode": 200, "body": json.dumps({"id": event["pathParameters"]["orderId"]})}

    order_api_answers(in_process_api(handler, [Route("GET", "/orders/{orderId}")], timeout=5))
    assert calls == ["ORD-1"]


def test_a_read_timeout_says_which_call_and_after_how_long(server: LocalServer) -> None:
    message = failure_message(lambda: Api(server.url, timeout=0.3).get("/slow"))
    assert re.fullmatch(
        rf"GET {re.escape(server.url)}/slow failed after 0\.\d\d s: no answer within the read timeout of 0\.3 s",
        message,
    ), message
    assert server.hits[("GET", "/slow")] == 1  # a read timeout is not retried


def test_a_refused_connection_is_retried_then_reported(closed_port: int, caplog: pytest.LogCaptureFixture) -> None:
    api = Api(f"http://127.0.0.1:{closed_port}", timeout=2, retries=2, backoff_factor=0.05)
    with caplog.at_level(logging.DEBUG, logger="urllib3"):
        message = failure_message(lambda: api.get("/orders/1", params={"token": "t-1"}))
    assert re.fullmatch(
        rf"GET http://127\.0\.0\.1:{closed_port}/orders/1\?token=\[REDACTED\] "
        r"failed after \d\.\d\d s: connection refused",
        message,
    ), message
    # urllib3 logs each of the two retries with the URL (and more at DEBUG); the token never shows.
    retries = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 2
    assert all("/orders/1?token=[REDACTED]" in line for line in retries)
    assert {r.name for r in caplog.records} >= {"urllib3.connectionpool", "urllib3.util.retry"}
    assert not [r.getMessage() for r in caplog.records if "t-1" in r.getMessage()]


def test_a_dns_failure_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    message = failure_message(lambda: Api("https://api.nowhere.example", timeout=1, retries=0).get("/x"))
    assert re.fullmatch(
        r"GET https://api\.nowhere\.example/x failed after 0\.\d\d s: DNS lookup for api\.nowhere\.example failed "
        r"\(no such host\?\)",
        message,
    ), message


def test_a_tls_failure_is_named(server: LocalServer) -> None:
    https_url = server.url.replace("http://", "https://")
    message = failure_message(lambda: Api(https_url, timeout=2, retries=0).get("/orders/ORD-1"))
    assert re.fullmatch(rf"GET {re.escape(https_url)}/orders/ORD-1 failed after 0\.\d\d s: TLS handshake with "
                        r"127\.0\.0\.1 failed \(.+\)", message), message


def test_503_then_200_is_retried_by_urllib3(server: LocalServer) -> None:
    response = Api(server.url, timeout=5, retries=2, backoff_factor=0.01).get("/flaky")
    assert (response.status, response.body) == (200, {"ok": True})
    assert server.hits[("GET", "/flaky")] == 3


def test_a_long_retry_after_does_not_eat_the_checks_budget(server: LocalServer) -> None:
    response = Api(server.url, timeout=5, retries=1, backoff_factor=0.01).get("/busy")
    assert (response.status, server.hits[("GET", "/busy")]) == (200, 2)
    assert response.duration_ms < 5000  # Retry-After: 30 was not obeyed


def test_retries_run_out_and_the_last_answer_is_checked(server: LocalServer) -> None:
    response = Api(server.url, timeout=5, retries=2, backoff_factor=0.01).get("/down")
    assert server.hits[("GET", "/down")] == 3
    with pytest.raises(ExpectationFailed) as failure:
        response.expect(status=200)
    assert failure.value.differences == [Difference("status", 200, 503)]


def test_a_post_is_not_resent_after_a_5xx(server: LocalServer) -> None:
    response = Api(server.url, timeout=5, retries=2, backoff_factor=0.01).post("/flaky", json={"sku": "S"})
    assert (response.status, server.hits[("POST", "/flaky")]) == (503, 1)


def test_a_slow_answer_fails_within_ms_with_its_duration(server: LocalServer) -> None:
    response = Api(server.url, timeout=5).get("/sluggish")
    with pytest.raises(ExpectationFailed) as failure:
        response.expect(status=200, within_ms=50)
    [difference] = failure.value.differences
    assert (difference.path, difference.expected) == ("duration_ms", 50)
    assert difference.actual >= 150
    assert re.search(r"\(answered 200 in \d+ ms\): 1 difference", str(failure.value))


def test_a_non_json_answer_from_a_real_server(server: LocalServer) -> None:
    with pytest.raises(ExpectationFailed) as failure:
        Api(server.url, timeout=5).get("/html").expect(schema=ORDER_SCHEMA)
    assert failure.value.differences == [Difference("body", "JSON", "<html>maintenance</html>")]
    assert failure.value.subject.startswith(f"GET {server.url}/html (answered 200 in ")


def test_iam_signed_calls_reach_the_server_signed(server: LocalServer) -> None:
    api = Api.from_environment({"HOOKKIT_API_URL": server.url, "HOOKKIT_API_AUTH": "iam", "AWS_REGION": "eu-west-1"},
                               timeout=5, credentials=Credentials("AKIDEXAMPLE", "secret", "session-tok"))
    api.get("/orders/ORD-1").expect(status=200)

    sent = server.headers[0]
    assert re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/eu-west-1/execute-api/aws4_request, "
        r"SignedHeaders=accept;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}",
        sent["Authorization"],
    )
    assert sent["X-Amz-Security-Token"] == "session-tok"


def test_api_response_repr_and_api_repr_are_safe() -> None:
    api = Api("https://user:pw-s3cr3t@api.example.com/Prod", timeout=3)
    assert repr(api) == "Api('https://user:[REDACTED]@api.example.com/Prod', timeout=3, auth=None)"
    assert issubclass(ApiResponse, Expectable)


# -- a 5xx answer must be examined (as a function error must be) --------------------------------


@pytest.mark.parametrize(("body", "status"), [
    ("api.post('/down')", "failed"),  # API Gateway's 502 / a crashing version: never looked at
    ("api.get('/down').status_code", "failed"),  # reading the status examines nothing
    ("api.get('/down').json()", "failed"),  # nor does reading the body
    ("print(api.get('/down').text)", "failed"),
    ("api.get('/down').expect(status=503)", "passed"),  # an error status the check expects
    ("api.get('/orders/ORD-1')", "passed"),  # a 2xx needs no examining
    ("api.get('/missing')", "passed"),  # nor does a 4xx: the rule is about the server failing
])
def test_a_5xx_answer_the_check_never_examined_fails_it(body: str, status: str, server: LocalServer) -> None:
    from hookkit.core.registry import HookRegistry
    from hookkit.core.runner import run_checks

    namespace: dict[str, Any] = {}
    exec(f"def check(api):\n    {body}\n", namespace)
    registry = HookRegistry()
    registry.post_traffic(namespace["check"])
    (outcome,) = run_checks(registry.checks("post"), deadline=time.monotonic() + 30,
                            provide=lambda name, check, timeout: Api(server.url, timeout=5, retries=0))
    assert outcome.status.value == status, outcome.message
    if status == "failed":
        method = body.split("api.", 1)[1].split("(", 1)[0].upper()
        assert outcome.message.startswith(
            f"the check never examined a failed call: {method} {server.url}/down answered 503. Call .expect()"
        ), outcome.message


def test_each_unexamined_5xx_is_named_and_an_examined_one_is_not(server: LocalServer) -> None:
    api = Api(server.url, timeout=5, retries=0)
    api.get("/down").expect(status=503)
    api.delete("/down", params={"token": "t-1"})
    assert api.unexamined_failures() == [f"DELETE {server.url}/down?token=[REDACTED] answered 503"]
