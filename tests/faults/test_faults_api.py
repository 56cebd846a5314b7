"""Faults in API smoke calls, against a real HTTP server on 127.0.0.1 (or a port nothing listens on).

The PostTraffic hook reads its base URL from ``HOOKKIT_API_URL``, as a SAM hook does; each fault
ends in exactly one ``Failed`` report and a log line naming the call and what went wrong.
"""

from __future__ import annotations

import re
import socket

import pytest
from aws_standin import AwsStandIn
from faultkit import ApiServer, Hook, HookLog, assert_reported

CHECKS = """
    from hookkit import post_traffic

    @post_traffic(timeout=5)
    def order_api_answers(api):
        api.get("{path}", timeout=0.5).expect(status=200, schema={{"type": "object", "required": ["id"]}})
"""


@pytest.fixture(autouse=True)
def post_traffic_hook(hook: Hook) -> None:
    hook.env(HOOKKIT_PHASE="AfterAllowTraffic")


def run(hook: Hook, url: str, path: str) -> None:
    hook.env(HOOKKIT_API_URL=url)
    hook.checks(CHECKS.format(path=path))
    hook()


def check_line(log: HookLog) -> str:
    return log.line("check order_api_answers: ")["message"].removeprefix("check order_api_answers: ")


def test_the_api_answering_well_is_the_baseline(hook: Hook, aws: AwsStandIn, hook_log: HookLog,
                                                api_server: ApiServer) -> None:
    run(hook, api_server.url, "/orders/ORD-1")
    assert_reported(aws, "Succeeded")
    assert check_line(hook_log) == "passed"
    assert [r.operation for r in aws.requests] == ["PutLifecycleEventHookExecutionStatus"]  # no discovery needed


def test_a_refused_connection_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        run(hook, f"http://127.0.0.1:{port}", "/orders/ORD-1")
    assert_reported(aws, "Failed")
    assert re.fullmatch(rf"error: InvokeError: GET http://127\.0\.0\.1:{port}/orders/ORD-1 failed after \d\.\d\d s: "
                        r"connection refused", check_line(hook_log))


def test_a_slow_api_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog, api_server: ApiServer) -> None:
    run(hook, api_server.url, "/slow")
    assert_reported(aws, "Failed")
    assert re.fullmatch(rf"error: InvokeError: GET {re.escape(api_server.url)}/slow failed after 0\.\d\d s: "
                        r"no answer within the read timeout of 0\.5 s", check_line(hook_log))
    assert api_server.paths == ["/slow"]  # a read timeout is not retried


def test_a_500_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog, api_server: ApiServer) -> None:
    run(hook, api_server.url, "/broken")
    assert_reported(aws, "Failed")
    assert re.fullmatch(
        rf"failed: GET {re.escape(api_server.url)}/broken \(answered 500 in \d+ ms\): 2 difference\(s\)\n"
        r"  - status: expected 200, got 500\n"
        r"  - body: expected 'JSON', got '<html><body>Internal Server Error</body></html>'",
        check_line(hook_log),
    )


def test_invalid_json_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog, api_server: ApiServer) -> None:
    run(hook, api_server.url, "/garbled")
    assert_reported(aws, "Failed")
    assert re.fullmatch(
        rf"failed: GET {re.escape(api_server.url)}/garbled \(answered 200 in \d+ ms\): 1 difference\(s\)\n"
        r"""  - body: expected 'JSON', got '\{"id": "ORD-1", "status": '""",
        check_line(hook_log),
    )


def test_a_tls_failure_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog, api_server: ApiServer) -> None:
    https = api_server.url.replace("http://", "https://")
    run(hook, https, "/orders/ORD-1")
    assert_reported(aws, "Failed")
    assert re.fullmatch(rf"error: InvokeError: GET {re.escape(https)}/orders/ORD-1 failed after \d\.\d\d s: "
                        r"TLS handshake with 127\.0\.0\.1 failed \(.+\)", check_line(hook_log))


def test_a_500_the_check_never_examined_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog,
                                                      api_server: ApiServer) -> None:
    """A crashing version behind the API (a 500, API Gateway's 502) must not pass a call without ``.expect()``."""
    hook.env(HOOKKIT_API_URL=api_server.url)
    hook.checks("""
        from hookkit import post_traffic

        @post_traffic(timeout=5)
        def order_api_answers(api):
            api.get("/broken")
    """)
    hook()
    assert_reported(aws, "Failed")
    assert check_line(hook_log).startswith(
        f"failed: the check never examined a failed call: GET {api_server.url}/broken answered 500. Call .expect()"
    )
