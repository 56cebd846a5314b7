"""What every fault test needs besides the stand-in: a Lambda container running the hook, its log.

:class:`Hook` is one warm container running ``hookkit.handler`` (the entry point SAM names),
configured by environment variables only, exactly as in Lambda. :class:`HookLog` holds the
hook's log lines as CloudWatch would receive them: Powertools' JSON, with the keys appended at
the moment each line was written.
"""

from __future__ import annotations

import json
import logging
import re
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aws_standin import AwsStandIn

import hookkit
from hookkit.core.log import logger
from hookkit.core.registry import default_registry
from hookkit.hook import handler as lifecycle
from hookkit.local.context import LocalContext

HOOK_NAME = "CodeDeployHook_orders-PreTraffic"
DEPLOYMENT = "d-FAULT0001"
EXECUTION = "exec-0001"
_VERSION = re.compile(r"[0-9]+")


class HookLog(logging.Handler):
    """Collects the hook's log lines; attach it to the ``hookkit`` logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logger.registered_formatter.format(record))

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    @property
    def messages(self) -> list[str]:
        return [r["message"] for r in self.records]

    def text(self) -> str:
        return "\n".join(self.lines)

    def line(self, start: str) -> dict[str, Any]:
        """The one log line whose message starts with ``start``."""
        found = [r for r in self.records if r["message"].startswith(start)]
        assert len(found) == 1, (start, self.messages)
        return found[0]


class Hook:
    """A new Lambda container running ``hookkit.handler``; each call is one delivery of an event."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = folder
        self.monkeypatch = monkeypatch
        self.handler = lifecycle.HookHandler()  # no clients made, no checks imported yet
        monkeypatch.setattr(lifecycle, "_default_handler", self.handler)
        monkeypatch.setattr(default_registry, "_checks", {})
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", HOOK_NAME)
        monkeypatch.setenv("HOOKKIT_PHASE", "BeforeAllowTraffic")
        monkeypatch.setenv("HOOKKIT_REPORT_RESERVE_MS", "400")
        self.context = LocalContext(function_name=HOOK_NAME)

    def checks(self, source: str, name: str = "orders_checks") -> Path:
        """Write the checks module and point ``HOOKKIT_CHECKS`` at it."""
        path = self.folder / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        self.monkeypatch.setenv("HOOKKIT_CHECKS", str(path))
        return path

    def env(self, **variables: str) -> None:
        for name, value in variables.items():
            self.monkeypatch.setenv(name, value)

    def unset(self, *names: str) -> None:
        for name in names:
            self.monkeypatch.delenv(name, raising=False)

    def __call__(self, deployment_id: str = DEPLOYMENT, execution_id: str = EXECUTION, *,
                 timeout_s: float = 5.0) -> dict[str, Any]:
        self.context = LocalContext(function_name=HOOK_NAME, timeout_s=timeout_s)
        return hookkit.handler({"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": execution_id},
                               self.context)

    @property
    def lambda_end(self) -> float:
        return self.context.started + self.context.timeout_s


def assert_reported(aws: AwsStandIn, status: str, deployment_id: str = DEPLOYMENT,
                    execution_id: str = EXECUTION) -> None:
    """Exactly one status report reached CodeDeploy: this event's, with ``status``."""
    assert [(r.body["deploymentId"], r.body["lifecycleEventHookExecutionId"], r.body["status"])
            for r in aws.reports] == [(deployment_id, execution_id, status)]


def assert_invokes_are_qualified(aws: AwsStandIn) -> None:
    """Every invoke named a bare function and a published version number: never $LATEST, never an alias."""
    for request in aws.calls("Invoke"):
        assert ":" not in request.function, request.path
        assert _VERSION.fullmatch(request.query.get("Qualifier", "")), request.query


class _Api(BaseHTTPRequestHandler):
    """Paths name behaviours: an order, a slow answer, a 500, a cut-off JSON body."""

    server: ApiServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        path = self.path.split("?", 1)[0]
        if path == "/slow" and self.server.closing.wait(3):
            return
        status, body, kind = {
            "/orders/ORD-1": (200, b'{"id": "ORD-1", "status": "PAID"}', "application/json"),
            "/slow": (200, b'{"id": "ORD-1"}', "application/json"),
            "/broken": (500, b"<html><body>Internal Server Error</body></html>", "text/html"),
            "/garbled": (200, b'{"id": "ORD-1", "status": ', "application/json"),
        }.get(path, (404, b'{"message": "Not Found"}', "application/json"))
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class ApiServer(ThreadingHTTPServer):
    """The API in front of the function, for smoke calls; ``paths`` records what was asked, query included."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Api)
        self.paths: list[str] = []
        self.closing = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"
