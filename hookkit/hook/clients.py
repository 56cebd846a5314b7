"""AWS clients created lazily, once per container, and replaceable in tests.

Importing boto3 and building a client costs a good part of a cold start, and many runs need only
one or two services; nothing here touches boto3 until a client is first asked for. Region,
endpoint and credentials come from the environment the ordinary boto3 way, with one addition:
botocore reads the region from ``AWS_DEFAULT_REGION`` (or the profile) only, so when it finds none,
``AWS_REGION`` is used (what Lambda, the AWS CLI v2 and newer SDKs read; a CI job often sets only it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

# Retries are ours (see hookkit.core.retry) for the report and the invoke, bounded by the Lambda's
# remaining time; for the read-only discovery calls botocore's standard mode is right.
_CONFIGS: dict[str, dict[str, Any]] = {
    "codedeploy": {"retries": {"mode": "standard", "max_attempts": 4}, "connect_timeout": 3, "read_timeout": 5},
    # one report attempt must fit well inside the default 5 s reserve, however CodeDeploy behaves
    "codedeploy-report": {"retries": {"total_max_attempts": 1}, "connect_timeout": 1, "read_timeout": 2},
    "lambda": {"retries": {"total_max_attempts": 1}, "connect_timeout": 3, "read_timeout": 900},
    "cloudformation": {"retries": {"mode": "standard", "max_attempts": 4}},
}


class Clients:
    """Hands out boto3 clients by name; pass ready clients to override (tests, custom sessions)."""

    def __init__(self, session: Any = None, **clients: Any) -> None:
        self._session = session
        self._clients: dict[str, Any] = {name.replace("_", "-"): c for name, c in clients.items()}
        self._injected = frozenset(self._clients)
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        """``name`` is ``codedeploy``, ``codedeploy-report``, ``lambda`` or ``cloudformation``."""
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                # An injected client serves both uses. One created here for discovery must not: its
                # botocore retries would keep the report past the deadline hookkit's own retries keep.
                if name == "codedeploy-report" and "codedeploy" in self._injected:
                    return self._clients["codedeploy"]
                client = self._clients[name] = self._create(name)
            return client

    def _create(self, name: str) -> Any:
        import boto3
        from botocore.config import Config

        if self._session is None:
            self._session = boto3.session.Session()
        service = name.split("-")[0]
        region = None if self._session.region_name else os.environ.get("AWS_REGION") or None
        return self._session.client(
            service, region_name=region, config=Config(user_agent_extra="hookkit", **_CONFIGS.get(name, {}))
        )

    def factory(self, name: str) -> Callable[[], Any]:
        """A zero-argument callable for code that may never need the client."""
        return lambda: self.get(name)
