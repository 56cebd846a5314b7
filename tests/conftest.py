"""Shared fixtures: fake AWS credentials, and a CodeDeploy client that counts status reports.

Every test runs with fake credentials and no HOOKKIT_* (or GITHUB_*) variables from the outside, so
nothing can reach AWS or depend on the developer's shell or the CI running the suite.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import settings

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile("fuzz", max_examples=10_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPORT = "put_lifecycle_event_hook_execution_status"


@pytest.fixture(autouse=True)
def _isolated_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("HOOKKIT_", "AWS_", "GITHUB_")):  # a suite run in GitHub Actions annotates nothing
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


class CodeDeployStub:
    """A real botocore CodeDeploy client whose calls are answered by a Stubber.

    ``reports`` records every status report the client was asked to make (answered or not), with
    the instant it was made, so tests can assert "exactly once" and "before the Lambda's end".
    """

    def __init__(self) -> None:
        self.client = boto3.client("codedeploy", region_name="us-east-1")
        self.stubber = Stubber(self.client)
        self.reports: list[dict[str, Any]] = []
        self.client.meta.events.register(
            "before-parameter-build.codedeploy.PutLifecycleEventHookExecutionStatus", self._record
        )
        self.stubber.activate()

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.reports.append({**params, "at": time.monotonic()})

    @property
    def statuses(self) -> list[str]:
        return [r["status"] for r in self.reports]

    def accept(self, times: int = 1) -> None:
        for _ in range(times):
            self.stubber.add_response(REPORT, {"lifecycleEventHookExecutionId": "exec-1"})

    def fail(self, code: str, times: int = 1, status: int = 400, message: str = "nope") -> None:
        for _ in range(times):
            self.stubber.add_client_error(
                REPORT, service_error_code=code, service_message=message, http_status_code=status
            )


@pytest.fixture
def codedeploy() -> CodeDeployStub:
    return CodeDeployStub()


@pytest.fixture
def hook_event() -> dict[str, str]:
    return {"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "exec-1"}


@pytest.fixture
def fresh_default_registry() -> Iterator[None]:
    """An empty default registry (and no module remembered as imported), as a new process has.

    For tests that run hookkit's CLI or plugin in this process: each run imports its checks
    into the default registry, which must not keep the last run's.
    """
    from hookkit import default_registry
    from hookkit.core import loader

    saved, saved_paths = dict(default_registry._checks), dict(loader._by_path)
    default_registry._checks.clear()
    loader._by_path.clear()
    yield
    default_registry._checks.clear()
    default_registry._checks.update(saved)
    loader._by_path.clear()
    loader._by_path.update(saved_paths)


@pytest.fixture
def keyed_api() -> Iterator[str]:
    """An API on 127.0.0.1 that answers 403 unless the request carries its key and token."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.headers.get("x-api-key") == "k3y" and self.headers.get("Authorization") == "Bearer t0k"
            self.send_response(200 if ok else 403)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}' if ok else b'{"message": "Forbidden"}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()

