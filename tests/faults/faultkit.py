"""What every fault test needs besides the stand-in: a Lambda container running the hook, its log.

:class:`Hook` is a Lambda function running ``hookkit.handler`` (the entry point SAM names),
configured by environment variables only. Its first delivery starts a container: a real process
(``lambda_runtime.py``) that imports the handler's module during init as Lambda's bootstrap does,
then serves deliveries warm, each with a context whose remaining time is real, and is KILLED,
with every process it started, at the Lambda's end, as Lambda kills a function that overran. A
changed configuration (``hook.env``, ``hook.unset``, ``hook.checks``) gets a new container, as
in Lambda. :class:`HookLog` holds the hook's log lines as CloudWatch would receive them: the
Powertools JSON lines the container wrote to stdout, from its handler and from the check
processes it forked alike.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aws_standin import AwsStandIn

from hookkit import ReportError

HOOK_NAME = "CodeDeployHook_orders-PreTraffic"
DEPLOYMENT = "d-FAULT0001"
EXECUTION = "exec-0001"
_VERSION = re.compile(r"[0-9]+")
RUNTIME = Path(__file__).with_name("lambda_runtime.py")
MARK = b"\x1efaultkit end\n"
#: How long a container may take to start (init), on a busy machine; Lambda allows 10 s.
INIT_TIMEOUT_S = 30.0


class HookLog:
    """The hook's log lines: every Powertools JSON line its container wrote to stdout."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def take(self, line: str) -> None:
        """Keep ``line`` if it is one of the hook's log lines (user output and metrics are not)."""
        if not line.startswith('{"level":'):
            return
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and {"level", "location", "message", "timestamp"} <= set(record):
                self.lines.append(line)

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


class LambdaTimedOut(AssertionError):
    """The handler had not returned at the Lambda's end: the container was killed, as Lambda kills it."""


@dataclass(frozen=True)
class Delivery:
    """When the last delivery started (``time.monotonic()``) and the Lambda timeout it had."""

    started: float
    timeout_s: float


class Hook:
    """A Lambda function running ``hookkit.handler``; each call is one delivery of an event."""

    def __init__(self, folder: Path, log: HookLog) -> None:
        self.folder = folder
        self.log = log
        self.settings: dict[str, str | None] = {
            "AWS_LAMBDA_FUNCTION_NAME": HOOK_NAME,
            "HOOKKIT_PHASE": "BeforeAllowTraffic",
            "HOOKKIT_REPORT_RESERVE_MS": "1000",  # the least the handler accepts
        }
        self.container: Container | None = None
        self.containers = 0  # how many were started: a new one is a cold start
        self.context = Delivery(time.monotonic(), 0.0)
        self.out, self.err = bytearray(), bytearray()

    def checks(self, source: str, name: str = "orders_checks") -> Path:
        """Write the checks module and point ``HOOKKIT_CHECKS`` at it."""
        path = self.folder / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        self.env(HOOKKIT_CHECKS=str(path))
        if self.container is not None:  # new code: a new container, as a deployment of the hook would give
            self.container.close()
            self.container = None
        return path

    def env(self, **variables: str) -> None:
        self.settings.update(variables)

    def unset(self, *names: str) -> None:
        self.settings.update(dict.fromkeys(names))

    def environment(self) -> dict[str, str]:
        """The container's environment: the test's (AWS stand-in endpoints, credentials), this
        function's settings, and what Lambda itself sets."""
        env = {**os.environ, "LAMBDA_TASK_ROOT": str(self.folder), "_HANDLER": "hookkit.handler",
               "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11"}
        for name, value in self.settings.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def __call__(self, deployment_id: str = DEPLOYMENT, execution_id: str = EXECUTION, *,
                 timeout_s: float = 5.0) -> dict[str, Any]:
        return self.deliver({"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": execution_id},
                            timeout_s=timeout_s)

    def deliver(self, event: Any, *, timeout_s: float = 5.0) -> dict[str, Any]:
        """One delivery of any event; raises what the handler raised, or :class:`LambdaTimedOut`."""
        env = self.environment()
        if self.container is None or self.container.env != env or not self.container.alive:
            if self.container is not None:
                self.container.close()
            self.container = Container(env, self.folder, self)
            self.containers += 1
        self.context = Delivery(time.monotonic(), timeout_s)
        return self.container.deliver(event, self.lambda_end)

    @property
    def lambda_end(self) -> float:
        return self.context.started + self.context.timeout_s

    @property
    def stdout(self) -> str:
        """Everything the containers wrote to stdout (CloudWatch), markers aside."""
        return self.out.decode(errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.decode(errors="replace")

    def processes(self) -> list[int]:
        """The live processes of the current container (its runtime and what that started)."""
        return self.container.processes() if self.container is not None else []

    def threads(self) -> int:
        """How many threads the current container's runtime process has."""
        assert self.container is not None
        return len(os.listdir(f"/proc/{self.container.pid}/task"))

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None


class Zygote:
    """``lambda_runtime.py --zygote``: forks a fresh runtime process per container, boto3 already imported."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.channel = ours
        self.lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, str(RUNTIME), "--zygote", str(theirs.fileno())], pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        theirs.close()

    def spawn(self, env: dict[str, str], cwd: Path, streams: list[int]) -> int:
        """A new runtime process with ``streams`` as its stdin, stdout, stderr and results; its pid."""
        with self.lock:
            socket.send_fds(self.channel, [json.dumps({"env": env, "cwd": str(cwd)}).encode()], streams)
            self.channel.settimeout(INIT_TIMEOUT_S)
            return int(json.loads(self.channel.recv(1 << 16))["pid"])

    def close(self) -> None:
        self.channel.close()  # the zygote ends when its socket does
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


_zygote: Zygote | None = None


def zygote() -> Zygote:
    global _zygote
    if _zygote is None or _zygote.process.poll() is not None:
        _zygote = Zygote()
        atexit.register(_zygote.close)
    return _zygote


class Container:
    """One runtime process and its session (everything it starts), its output read by two threads."""

    def __init__(self, env: dict[str, str], cwd: Path, hook: Hook) -> None:
        self.env = env
        self.hook = hook
        self.results: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self.ends: list[queue.SimpleQueue[None]] = [queue.SimpleQueue(), queue.SimpleQueue()]
        pipes = [os.pipe() for _ in range(4)]
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]]
        self.pid = zygote().spawn(env, cwd, theirs)
        for fd in theirs:
            os.close(fd)
        self.stdin = os.fdopen(pipes[0][1], "wb")
        self.streams = [os.fdopen(pipes[n][0], "rb") for n in (1, 2, 3)]
        self.readers = [
            threading.Thread(target=self._read_output, args=(0,), daemon=True, name="faultkit-stdout"),
            threading.Thread(target=self._read_output, args=(1,), daemon=True, name="faultkit-stderr"),
            threading.Thread(target=self._read_results, daemon=True, name="faultkit-results"),
        ]
        for reader in self.readers:
            reader.start()
        ready = self._result(time.monotonic() + INIT_TIMEOUT_S)
        if ready != {"ready": True}:
            self.close()
            raise RuntimeError(f"the Lambda container did not start: {ready}\n{self.hook.stderr[-3000:]}")
        self._wait_for_output()

    @property
    def alive(self) -> bool:
        return self.pid in self.processes()

    def deliver(self, event: Any, deadline: float) -> dict[str, Any]:
        request = {"event": event, "deadline": deadline, "request_id": str(uuid.uuid4())}
        self.stdin.write(json.dumps(request).encode() + b"\n")
        self.stdin.flush()
        result = self._result(deadline)
        if result is None:
            self.close()  # Lambda's end: the whole container goes, whatever it was doing
            raise LambdaTimedOut(f"Task timed out: the handler had not returned at the Lambda's end "
                                 f"({deadline - self.hook.context.started:.2f} s); the container was killed")
        self._wait_for_output()
        if "exited" in result:
            raise RuntimeError(f"the container's runtime died during the delivery:\n{self.hook.stderr[-3000:]}")
        if "error" in result:
            error = result["error"]
            if error["type"] == "ReportError":
                raise ReportError(error["message"])
            raise RuntimeError(f"the handler raised {error['type']}: {error['message']}")
        return result["summary"]

    def _result(self, deadline: float) -> dict[str, Any] | None:
        try:
            return self.results.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None

    def _wait_for_output(self) -> None:
        """Until stdout and stderr hold everything written before the result (or were closed)."""
        for ends in self.ends:
            with contextlib.suppress(queue.Empty):
                ends.get(timeout=10)

    def _read_output(self, n: int) -> None:
        kept = (self.hook.out, self.hook.err)[n]
        for line in iter(self.streams[n].readline, b""):
            if line.endswith(MARK):  # the runtime's marker, after whatever was left on the line
                line = line[: -len(MARK)]
                self.ends[n].put(None)
            kept += line
            if n == 0:
                self.hook.log.take(line.decode(errors="replace").rstrip("\n"))
        self.ends[n].put(None)  # closed: nothing more will come

    def _read_results(self) -> None:
        for line in iter(self.streams[2].readline, b""):
            self.results.put(json.loads(line))
        self.results.put({"exited": "the container's runtime ended"})

    def processes(self) -> list[int]:
        """Every live process of this container's session, the runtime's own included."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) == self.pid and fields[0] != "Z":  # its session, and not a zombie
                found.append(int(entry.name))
        return found

    def close(self) -> None:
        """Kill the runtime and everything in its session, as Lambda ends an execution environment."""
        for _ in range(20):
            pids = self.processes()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)
        with contextlib.suppress(OSError):
            self.stdin.close()
        for reader in self.readers:
            reader.join(timeout=5)
        for stream in self.streams:
            stream.close()


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
