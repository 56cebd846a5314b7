"""A Lambda execution environment's runtime, for the fault suite: init once, then one delivery per line.

``faultkit.Hook`` starts this file as its own process, the way Lambda starts a runtime: the
function's code folder is the working directory and ``sys.path[0]`` (``LAMBDA_TASK_ROOT``),
``_HANDLER`` names the handler (``hookkit.handler``), and its module is imported during init as
Lambda's bootstrap imports it. Then each line on stdin is one delivery::

    {"event": {...}, "deadline": <time.monotonic() instant of the Lambda's end>, "request_id": "..."}

The context's remaining time counts down to that instant (``CLOCK_MONOTONIC`` is the machine's, so
the test process and this one agree on it), and at that instant the test process kills this one
and everything it started, as Lambda does. When the handler returns, its summary (or the exception
it raised) goes to file descriptor 3 (Lambda's runtime answers over its own channel, not stdout,
which a check may close), and a marker line to stdout and to stderr, after everything the delivery
wrote there, so the test knows both streams are complete.

Starting Python and importing boto3 for every test's container would make the suite slow, so the
test process starts this file once as a *zygote* (``--zygote FD``): it imports boto3 and botocore
(what the hook's init imports anyway, and nothing of hookkit), then forks one runtime per request
received on its socket, with the request's environment, working directory and standard streams.
Each runtime starts a session of its own, and imports the handler's module itself.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import socket
import sys
import threading
import time
from typing import Any

MARK = b"\x1efaultkit end\n"
RESULTS = 3


class Context:
    """The fields of Lambda's context object that hooks and checks read."""

    def __init__(self, deadline: float, function_name: str, request_id: str) -> None:
        self.deadline = deadline
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 128
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"2024/01/01/[$LATEST]{request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def emit(message: dict[str, Any]) -> None:
    """The result, then the end of both streams (best effort: a check may have closed them)."""
    for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
        with contextlib.suppress(Exception):
            stream.flush()
        with contextlib.suppress(OSError):
            os.write(fd, MARK)
    os.write(RESULTS, json.dumps(message, default=repr).encode() + b"\n")


def main() -> None:
    if os.environ.get("FAULTKIT_RUNTIME_THREAD"):  # a runtime that keeps a thread of its own (a telemetry agent)
        threading.Thread(target=threading.Event().wait, name="runtime-agent", daemon=True).start()
    sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]
    module, _, name = os.environ["_HANDLER"].rpartition(".")
    handler = getattr(importlib.import_module(module), name)
    emit({"ready": True})
    for line in sys.stdin:
        delivery = json.loads(line)
        context = Context(delivery["deadline"], os.environ["AWS_LAMBDA_FUNCTION_NAME"], delivery["request_id"])
        try:
            result: dict[str, Any] = {"summary": handler(delivery["event"], context)}
        except Exception as exc:  # noqa: BLE001 - Lambda records what the handler raised
            result = {"error": {"type": type(exc).__name__, "message": str(exc)}}
        emit(result)


def zygote(fd: int) -> None:
    """Fork a runtime for each request on the socket ``fd``, until the test process goes away."""
    import boto3  # noqa: F401 - warm in every runtime forked from here
    import botocore.client  # noqa: F401

    with socket.socket(fileno=fd) as channel:
        while True:
            with contextlib.suppress(ChildProcessError):
                while os.waitpid(-1, os.WNOHANG)[0]:
                    pass  # runtimes the test process killed
            if not select.select([channel], [], [], 0.5)[0]:
                continue
            message, fds, _, _ = socket.recv_fds(channel, 1 << 20, 4)
            if not message:
                return
            request = json.loads(message)
            pid = os.fork()
            if pid == 0:
                try:
                    channel.close()
                    os.setsid()
                    for target, received in enumerate(fds):
                        os.dup2(received, target)
                        os.close(received)
                    os.chdir(request["cwd"])
                    os.environ.clear()
                    os.environ.update(request["env"])
                    main()
                finally:
                    os._exit(0)
            for received in fds:
                os.close(received)
            channel.send(json.dumps({"pid": pid}).encode())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        zygote(int(sys.argv[2]))
    else:
        main()
