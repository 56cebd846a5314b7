"""Fixtures for the fault suite: the AWS stand-in, a Lambda function running the hook, its log lines.

The hook runs in a container process of its own (see ``faultkit.Hook``); its boto3 clients reach
the stand-in, in this process, through ``AWS_ENDPOINT_URL_CODEDEPLOY`` and
``AWS_ENDPOINT_URL_LAMBDA``, the standard variables boto3 honours, so hookkit creates its clients
itself, as it does in Lambda. After every test, every invoke the stand-in received is checked:
a published version number, never ``$LATEST``, never an alias.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_standin import AwsStandIn, running
from faultkit import ApiServer, Hook, HookLog, assert_invokes_are_qualified


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStandIn]:
    with running() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CODEDEPLOY", server.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        yield server
        assert_invokes_are_qualified(server)


@pytest.fixture
def hook_log() -> HookLog:
    """The hook's log lines, as its container wrote them."""
    return HookLog()


@pytest.fixture
def hook(tmp_path: Path, aws: AwsStandIn, hook_log: HookLog) -> Iterator[Hook]:
    """A Lambda function running the hook; its container starts with the first delivery."""
    function = Hook(tmp_path, hook_log)
    yield function
    function.close()


@pytest.fixture
def api_server() -> Iterator[ApiServer]:
    """The API the PostTraffic hook smoke-tests, on 127.0.0.1."""
    server = ApiServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.closing.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
