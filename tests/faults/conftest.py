"""Fixtures for the fault suite: the AWS stand-in, a new Lambda container, and the hook's log lines.

The hook's boto3 clients reach the stand-in through ``AWS_ENDPOINT_URL_CODEDEPLOY`` and
``AWS_ENDPOINT_URL_LAMBDA``, the standard variables boto3 honours, so hookkit creates its clients
itself, as it does in Lambda. After every test, every invoke the stand-in received is checked:
a published version number, never ``$LATEST``, never an alias.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_standin import AwsStandIn, running
from faultkit import ApiServer, Hook, HookLog, assert_invokes_are_qualified

from hookkit.core.log import logger


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStandIn]:
    with running() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CODEDEPLOY", server.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        yield server
        assert_invokes_are_qualified(server)


@pytest.fixture
def hook_log() -> Iterator[HookLog]:
    log = HookLog()
    logging.getLogger(logger.name).addHandler(log)
    try:
        yield log
    finally:
        logging.getLogger(logger.name).removeHandler(log)


@pytest.fixture
def hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws: AwsStandIn, hook_log: HookLog) -> Hook:
    return Hook(tmp_path, monkeypatch)


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
