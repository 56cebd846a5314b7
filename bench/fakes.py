"""Stand-ins for AWS and for the API a hook checks, on 127.0.0.1 or in-process. No network.

- :class:`SlowEndpoint`: an HTTP server whose every answer takes a set time, like a deployed API.
- :class:`AwsStandIn`: an HTTP server speaking the Lambda ``Invoke`` and CodeDeploy
  ``PutLifecycleEventHookExecutionStatus`` wire protocols, for child processes that run the hook
  through real boto3 clients (``AWS_ENDPOINT_URL`` points them at it).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: What the stand-in Lambda answers: an API Gateway proxy response carrying an order.
ORDER = {"orderId": "ORD-1", "customerId": "CUST-1", "status": "SHIPPED", "createdAt": "2024-05-02T09:30:00Z"}
ANSWER = json.dumps(
    {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(ORDER)}
).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # twenty checks connect at once; the default backlog of 5 would drop some


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Running:
    """A server on 127.0.0.1 in a daemon thread; ``with`` it, read ``url``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = _Server(("127.0.0.1", 0), handler)
        self.server.owner = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="bench-server", daemon=True)

    def __enter__(self) -> _Running:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Slow(_Quiet):
    def do_GET(self) -> None:
        time.sleep(self.server.delay)  # type: ignore[attr-defined]
        self.answer(200, json.dumps(ORDER).encode(), {"Content-Type": "application/json"})


class SlowEndpoint:
    """Answers every GET with an order after ``delay`` seconds, many requests at once.

    It runs in a process of its own, as a deployed API does: in the measured process its threads
    would compete with the hook's for the interpreter lock.
    """

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> SlowEndpoint:
        self._process = subprocess.Popen(
            [sys.executable, __file__, "slow", str(self.delay)], stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self._process.kill()
            raise RuntimeError(f"the slow endpoint did not start (it said {self.url!r})")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


def _serve_slow(delay: float) -> None:
    server = _Server(("127.0.0.1", 0), _Slow)
    server.delay = delay  # type: ignore[attr-defined]
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


class _Aws(_Quiet):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        owner: AwsStandIn = self.server.owner  # type: ignore[attr-defined]
        target = self.headers.get("X-Amz-Target", "")
        if target.endswith(".PutLifecycleEventHookExecutionStatus"):
            request = json.loads(body)
            owner.reports.append(request)
            answer = json.dumps({"lifecycleEventHookExecutionId": request["lifecycleEventHookExecutionId"]}).encode()
            self.answer(200, answer, {"Content-Type": "application/x-amz-json-1.1"})
        elif self.path.startswith("/2015-03-31/functions/") and "/invocations" in self.path:
            owner.invokes += 1
            version = self.path.partition("Qualifier=")[2] or "$LATEST"
            log = base64.b64encode(b"START RequestId: bench\nEND RequestId: bench\n").decode()
            self.answer(200, ANSWER, {"Content-Type": "application/json", "X-Amz-Executed-Version": version,
                                      "X-Amz-Log-Result": log})
        else:
            self.answer(400, b'{"message": "the bench stand-in answers Invoke and the status report only"}',
                        {"Content-Type": "application/json"})


class AwsStandIn(_Running):
    """Lambda ``Invoke`` (answers :data:`ANSWER`) and CodeDeploy's status report (recorded)."""

    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []
        self.invokes = 0
        super().__init__(_Aws)


if __name__ == "__main__":  # python bench/fakes.py slow DELAY: serve, first printing the URL
    _serve_slow(float(sys.argv[2]))
