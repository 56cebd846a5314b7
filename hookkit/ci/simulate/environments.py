"""Where the rehearsal runs code: the function's two builds and each hook function.

The builds run through :class:`~hookkit.local.invoker.LocalInvoker`, one per version. A hook
runs in a worker process of its own (:mod:`.worker`, which drives a ``LocalInvoker`` there):
the hook calls the stand-in Lambda on 127.0.0.1, which invokes a build, and an in-process
``LocalInvoker`` holds the process while its handler runs, so a hook in this process would wait
on itself. The worker also gives the hook what Lambda gives it: its own environment variables
only (plus Lambda's and the stand-ins' endpoints and dummy credentials), its code folder as
working directory, and a fresh process after a timeout. When ``LocalInvoker`` itself runs
functions in worker processes, :func:`hook_environment` can return one directly.

hookkit for hooks whose ``Handler`` is ``hookkit.handler``: in AWS it comes from a layer that
``sam build`` builds; here the worker is a process of the Python environment running the
rehearsal, which has hookkit and its dependencies installed, as Lambda's runtime provides boto3.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, Any, Protocol

from ...checks.invocation import Invocation
from ...local.invoker import LocalInvoker
from ...local.sam import FunctionSpec
from .worker import spec_to_json

#: Dummy credentials: nothing a hook or a build does in a rehearsal may reach AWS.
DUMMY_KEY = "hookkit-simulate"
#: Kept from the caller's environment for the worker process; everything else is the function's.
_INHERITED = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
_GRACE_S = 10.0  # past the function's Timeout, a worker that has not answered is killed
_LOG_LINES = 200


class Environment(Protocol):
    """What the router needs from anything that runs a function's code."""

    def invoke(self, payload: bytes, *, qualifier: str, timeout: float) -> Invocation: ...


def aws_edge(endpoint: str, region: str) -> dict[str, str]:
    """Variables that send every AWS SDK call to the stand-ins, signed with dummy credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_CODEDEPLOY": endpoint,
        "AWS_ENDPOINT_URL_LAMBDA": endpoint,
        "AWS_ACCESS_KEY_ID": DUMMY_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
        "AWS_SESSION_TOKEN": DUMMY_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }


def build_environment(spec: FunctionSpec, version: str, *, edge: Mapping[str, str]) -> LocalInvoker:
    """A build's environments, which get the stand-ins' endpoints and dummy credentials as the
    machine's: a rehearsal never hands the function this machine's AWS credentials."""
    caller = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return LocalInvoker(spec, version=version, caller={**caller, **edge})


def hook_environment(spec: FunctionSpec, *, edge: Mapping[str, str]) -> WorkerEnvironment:
    return WorkerEnvironment(spec, edge=edge)


class WorkerEnvironment:
    """A hook's execution environment in a worker process; one invocation at a time, as in Lambda."""

    def __init__(self, spec: FunctionSpec, *, edge: Mapping[str, str], version: str = "$LATEST") -> None:
        self.spec = spec
        self.version = version
        self._edge = dict(edge)
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._requests: IO[bytes] | None = None
        self._answers: IO[bytes] | None = None
        self._log: collections.deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._running = threading.Event()
        self.starts = 0

    def running(self) -> bool:
        """An invocation is under way: from its request until its answer is read. Lambda freezes the
        environment otherwise, so what its threads send meanwhile never leaves it."""
        return self._running.is_set()

    def invoke(self, payload: bytes, *, qualifier: str, timeout: float) -> Invocation:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            assert self._requests is not None and self._answers is not None  # noqa: S101 - set by _start
            request = {"payload": base64.b64encode(payload).decode(), "qualifier": qualifier, "timeout": timeout}
            started = time.monotonic()
            self._running.set()
            try:
                self._requests.write(json.dumps(request).encode() + b"\n")
                self._requests.flush()
                line = self._read_line(self._answers, timeout + _GRACE_S)
            except OSError:
                line = b""
            finally:
                self._running.clear()
            if not line:
                self._stop()
                return _crashed(self.spec, (time.monotonic() - started) * 1000, self.log_tail())
            answer: dict[str, Any] = json.loads(line)
            if "error" in answer:
                error = answer["error"]
                body = {"errorType": "Runtime.ImportModuleError" if error["type"] == "ConfigurationError"
                        else "Runtime.Error", "errorMessage": error["message"]}
                return Invocation(200, json.dumps(body).encode(), "Unhandled", self.log_tail(), self.version)
            invocation = Invocation(200, base64.b64decode(answer["payload"]), answer["function_error"],
                                    answer["log_tail"], self.version, float(answer["duration_ms"]))
            if b'"Sandbox.Timedout"' in invocation.payload:
                self._stop()  # Lambda discards an environment whose invocation timed out
            return invocation

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(list(self._log)[-lines:])

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _start(self) -> None:
        request_read, request_write = os.pipe()
        answer_read, answer_write = os.pipe()
        environ = {name: os.environ[name] for name in _INHERITED if name in os.environ}
        environ.update({
            **self._edge,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.spec.runtime or 'python3'}",
            "LAMBDA_TASK_ROOT": str(self.spec.code_uri),
            "TZ": "UTC",
            "PYTHONUNBUFFERED": "1",
        })
        try:
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, running hookkit's own worker
                [sys.executable, "-m", "hookkit.ci.simulate.worker", str(request_read), str(answer_write)],
                pass_fds=(request_read, answer_write), env=environ, cwd=str(self.spec.code_uri),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )
        finally:
            os.close(request_read)
            os.close(answer_write)
        self.starts += 1
        self._requests = os.fdopen(request_write, "wb")
        self._answers = os.fdopen(answer_read, "rb")
        threading.Thread(target=self._drain, args=(self._process,), daemon=True,
                         name=f"hookkit-simulate-log-{self.spec.logical_id}").start()
        self._requests.write(json.dumps({"spec": spec_to_json(self.spec), "version": self.version}).encode() + b"\n")
        self._requests.flush()

    def _drain(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None  # noqa: S101 - opened with PIPE
        for raw in process.stdout:
            self._log.append(raw.decode("utf-8", errors="replace").rstrip())

    @staticmethod
    def _read_line(stream: IO[bytes], timeout: float) -> bytes:
        ready, _, _ = select.select([stream], [], [], max(timeout, 0.0))
        return stream.readline() if ready else b""

    def _stop(self) -> None:
        process, self._process = self._process, None
        for stream in (self._requests, self._answers):
            if stream is not None:
                stream.close()
        self._requests = self._answers = None
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.wait(timeout=10)


def _crashed(spec: FunctionSpec, duration_ms: float, log: str) -> Invocation:
    """A worker that died or never answered: Lambda's answer for an environment that went away."""
    body = {"errorType": "Sandbox.Timedout" if duration_ms >= spec.timeout * 1000 else "Runtime.ExitError",
            "errorMessage": f"{spec.function_name}: the execution environment ended without answering "
                            f"after {duration_ms / 1000:.1f} s"}
    return Invocation(200, json.dumps(body).encode(), "Unhandled", log, "$LATEST", duration_ms)
