"""The API in front of the alias, on 127.0.0.1, for the hooks' smoke calls (``HOOKKIT_API_URL``).

Requests are turned into API Gateway proxy events by :class:`hookkit.local.apigw.LocalApiAdapter`
(routes from the function's ``Api``/``HttpApi`` events, path parameters, 404 for no route, 502
for a crash), and each event invokes the alias, so smoke calls land on the versions with the
weights CodeDeploy has set, as they would through the real API.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

import requests

from ...checks.invocation import Invocation
from ...local.apigw import LocalApiAdapter, Route
from ...local.sam import ApiRoute
from .router import LambdaRouter
from .server import LocalServer

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"})
_MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit


def payload_version(routes: tuple[ApiRoute, ...]) -> str:
    """The API a hook's URL reaches: the REST API (payload 1.0) if there is one, else the HTTP API."""
    return "1.0" if any(route.payload_version == "1.0" for route in routes) else "2.0"


class LocalApi(LocalServer):
    """``url`` is the base URL: ``/orders/ORD-1`` on it reaches route ``GET /orders/{orderId}``."""

    def __init__(self, router: LambdaRouter, routes: tuple[ApiRoute, ...], *, timeout: float) -> None:
        super().__init__(_Handler)
        version = payload_version(routes)
        self.router, self.timeout = router, timeout
        self.adapter = LocalApiAdapter(
            self._call, [Route(route.method, route.path) for route in routes if route.payload_version == version],
            payload_version="1.0" if version == "1.0" else "2.0",
        )
        self.skipped = [route for route in routes if route.payload_version != version]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def _call(self, event: dict[str, Any]) -> Invocation:
        return self.router.invoke(self.router.alias, json.dumps(event).encode(), origin="api")

    def answer(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> requests.Response:
        prepared = requests.Request(method, f"{self.url}{path}", headers=dict(headers), data=body or None).prepare()
        return self.adapter.send(prepared, timeout=self.timeout)


class _Handler(BaseHTTPRequestHandler):
    server: LocalApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._send(413, [("Content-Type", "application/json")], b'{"message":"Request Too Long"}')
            return
        body = self.rfile.read(length) if length else b""
        headers = [(name, value) for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP]
        response = self.server.answer(self.command, self.path, headers, body)
        out = [(name, value) for name, value in response.headers.items() if name.lower() not in _HOP_BY_HOP]
        self._send(response.status_code, out, response.content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815 - http.server's names

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
