"""The program every local execution environment runs: Lambda's Python runtime, in a process of its own.

hookkit starts it (:mod:`hookkit.local.environment`) in the function's code folder, with the
function's environment variables, under the Python its ``Runtime`` names when the machine has
that interpreter. hookkit is not installed there, so this file uses the standard library only
and runs on every Python Lambda offers (3.9 and later). Whatever the function's code does to its
process (environment variables, ``sys.path``, monkeypatching, threads, ``os._exit``) stays here.

It does what Lambda's runtime does: the code folder and the layers first on ``sys.path``, a log
handler on the root logger writing ``[LEVEL]\\ttime\\trequest id\\tmessage``, stdout and stderr
written through, the handler imported once (the cold start); then one request at a time:
``_X_AMZN_TRACE_ID`` set (never sampled: tracing is off), the handler called with the event and
a context, and its JSON answer sent back, or its error as ``errorType``/``errorMessage``.

The protocol, over two pipes, every message length-prefixed, the event and the answer bytes end
to end (never pickle):

- stdin, hookkit to this process: :data:`REQUEST` (lengths, the function's timeout, how much log
  to send back), then the request id and the invoked ARN (``\\0``-separated), then the event. A
  request may wait in the pipe behind the one running; its time starts when it is read.
- stdout, this process to hookkit: :data:`REPLY` (kind, lengths, duration, memory, when), then the
  answer, then the tail of the log. First comes ``HELLO`` (the interpreter runs this file), then
  ``READY`` or ``INIT_FAILED`` (a JSON description of why the handler did not import).

What the function prints and logs goes to fd 1 and 2, which are a file hookkit created: output of
C code and child processes is caught too, and hookkit can still read it after a crash. After each
request its tail goes back with the reply and the file is emptied. End of input on stdin (hookkit
closed the pipe, or died) ends the process; so does a parent that went away mid-request.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import io
import json
import logging
import os
import signal
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any

resource: ModuleType | None
try:
    import resource
except ImportError:  # not POSIX
    resource = None

#: hookkit to environment: meta length, event length, the function's timeout (ms), log bytes to send back.
REQUEST = struct.Struct(">IIQI")
#: environment to hookkit: kind, answer length, log length, duration (ms), max memory used (MB), and when
#: it was sent on the system's monotonic clock (the same in every process): a request waiting in the
#: pipe starts then, which hookkit times it from.
REPLY = struct.Struct(">BIIdId")
HELLO, READY, INIT_FAILED, RESULT, ERROR, INVALID = range(1, 7)

_ERROR_INDENT = "\u00a0"  # Lambda's log shows a traceback's indentation as no-break spaces
_request_id = ""  # the request being served: log records carry it


# --- the context --------------------------------------------------------------------------------

class CognitoIdentity:
    """``context.identity``: empty unless Amazon Cognito authorised the call, as for any direct invoke."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None


class LambdaContext:
    """The context Lambda's Python runtime passes: the same attributes, read from the same variables.

    ``memory_limit_in_mb`` is a string, as the runtime reads it from the environment.
    """

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.client_context: Any = None  # set only for calls from the mobile SDKs
        self.identity = CognitoIdentity()
        self.tenant_id: str | None = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self) -> str:
        return (f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name},"
                f"function_version={self.function_version},invoked_function_arn={self.invoked_function_arn}])")


# --- logging, as the runtime sets it up ---------------------------------------------------------

class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _request_id
        return True


class _LambdaLogHandler(logging.Handler):
    """Writes each record to stdout (looked up at each record, as the runtime's sink does)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record))
        except Exception:  # noqa: BLE001 - logging's own contract
            self.handleError(record)


def _setup_logging() -> None:
    logging.Formatter.converter = time.gmtime
    handler = _LambdaLogHandler()
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
    ))
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _write_through(fd: int, errors: str) -> io.TextIOWrapper:
    """A text stream on ``fd`` that writes every call at once (the runtime's ``Unbuffered``)."""
    return io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors=errors, write_through=True)


# --- the cold start -------------------------------------------------------------------------------

class InitFailure(Exception):
    """The handler cannot be imported; ``info`` says why, for hookkit to word the error."""

    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__(info)
        self.info = info


def load_handler(handler: str) -> Callable[[Any, Any], Any]:
    """Import ``module.function`` (``path/to/module.function``) as the runtime does."""
    module_name, _, function_name = handler.rpartition(".")
    if not module_name or not function_name:
        raise InitFailure({"kind": "bad_handler"})
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:  # noqa: BLE001 - even SystemExit in module code is an init failure
        if isinstance(exc, ModuleNotFoundError) and exc.name and (
            module_name == exc.name or module_name.startswith(exc.name + ".")
        ):
            raise InitFailure({"kind": "missing", "module": module_name}) from None
        raise InitFailure({"kind": "failed", **_failure(exc)}) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise InitFailure({"kind": "no_function", "file": getattr(module, "__file__", None)})
    return function  # type: ignore[no-any-return]


def _failure(exc: BaseException) -> dict[str, Any]:
    """Type, message and where: what ``hookkit.core.loader`` needs to word an import failure."""
    if isinstance(exc, SyntaxError):
        line = f"{exc.filename}:{exc.lineno}" if exc.filename else "?"
        return {"type": "SyntaxError", "message": exc.msg, "where": line, "syntax": True}
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None
    failure: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc), "where": where, "syntax": False}
    if isinstance(exc, ModuleNotFoundError):  # which module: hookkit tells whether requirements explain it
        failure["module"] = exc.name
    return failure


# --- requests -------------------------------------------------------------------------------------

class Channel:
    """The two pipes to hookkit: whole messages in, whole messages out."""

    def __init__(self, requests: int, replies: int) -> None:
        self.requests = requests
        self.replies = replies
        self._pending = b""  # read, of which what comes before ``_at`` has been handed out
        self._at = 0

    def read(self, size: int) -> bytes | None:
        """Exactly ``size`` bytes, or None at end of input."""
        pending, at = self._pending, self._at
        while len(pending) - at < size:
            chunk = os.read(self.requests, max(65536, size - (len(pending) - at)))
            if not chunk:
                return None
            pending, at = pending[at:] + chunk, 0
        end = at + size
        if end == len(pending):  # all of it: the usual case, one request read at once
            self._pending, self._at = b"", 0
        else:
            self._pending, self._at = pending, end
        return pending[at:end]

    def send(self, kind: int, answer: bytes = b"", log: bytes = b"", duration_ms: float = 0.0,
             memory_mb: int = 0) -> None:
        header = REPLY.pack(kind, len(answer), len(log), duration_ms, memory_mb, time.monotonic())
        data = memoryview(header + answer + log)
        while data:
            data = data[os.write(self.replies, data):]


class _Encoder(json.JSONEncoder):
    """The runtime's answer encoding: Decimals (what DynamoDB returns) as numbers."""

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return int(o) if o.is_finite() and o == o.to_integral_value() else float(o)
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def serve(handler: Callable[[Any, Any], Any], channel: Channel, capture: int) -> None:
    """Answer requests one at a time until hookkit closes the pipe."""
    global _request_id
    # the python3.12 runtime writes answers as UTF-8; the others escape non-ASCII characters
    encoder = _Encoder(ensure_ascii=os.environ.get("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12")
    while True:
        header = channel.read(REQUEST.size)
        if header is None:
            return
        meta_length, event_length, timeout_ms, tail = REQUEST.unpack(header)
        meta, payload = channel.read(meta_length), channel.read(event_length)
        if meta is None or payload is None:
            return
        deadline_ms = int(time.time() * 1000) + timeout_ms  # from now: it may have waited behind another
        request_id, arn = meta.decode().split("\0")
        _request_id = request_id
        os.environ["_X_AMZN_TRACE_ID"] = _trace_header()
        try:
            event = json.loads(payload) if payload and not payload.isspace() else {}
        except ValueError as exc:  # UnicodeDecodeError included
            channel.send(INVALID, str(exc).encode())
            continue
        started = time.perf_counter()
        kind, answer = _call(handler, event, LambdaContext(request_id, arn, deadline_ms), encoder)
        duration_ms = (time.perf_counter() - started) * 1000
        channel.send(kind, answer, _take_log(capture, tail), duration_ms, _memory_mb())


def _call(handler: Callable[[Any, Any], Any], event: Any, context: LambdaContext,
          encoder: json.JSONEncoder) -> tuple[int, bytes]:
    try:
        result = handler(event, context)
    except Exception as exc:  # noqa: BLE001 - the function's failure is its answer; BaseException ends the process
        frames = traceback.extract_tb(exc.__traceback__)
        while frames and frames[0].filename == __file__:  # only the function's frames, as the runtime shows
            frames.pop(0)
        return ERROR, _error(type(exc).__name__, str(exc), traceback.format_list(frames), context.aws_request_id)
    if isinstance(result, bytes):
        return RESULT, result
    try:
        return RESULT, encoder.encode(result).encode()
    except Exception as exc:  # noqa: BLE001 - whatever the encoder meets is the marshal error
        return ERROR, _error("Runtime.MarshalError", f"Unable to marshal response: {exc}", [], context.aws_request_id)


def _error(error_type: str, message: str, stack: list[str], request_id: str) -> bytes:
    """The error answer, logged first as the runtime logs it."""
    lines = [f"[ERROR] {error_type}: {message}", "Traceback (most recent call last):"]
    for entry in stack:
        for line in entry.splitlines():
            stripped = line.lstrip(" ")
            lines.append(_ERROR_INDENT * (len(line) - len(stripped)) + stripped)
    _flush()
    with contextlib.suppress(Exception):  # a stdout the function replaced with something broken
        sys.stdout.write("\n".join(lines) + "\n")
    body = {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}
    return json.dumps(body).encode()


def _trace_header() -> str:
    """An X-Ray trace header as Lambda sets it for a function whose tracing is not active."""
    random = os.urandom(20).hex()
    return f"Root=1-{int(time.time()):08x}-{random[:24]};Parent={random[24:]};Sampled=0"


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - try costs nothing when nothing is raised; contextlib.suppress costs per request
            stream.flush()
        except Exception:  # noqa: BLE001, S110 - a stream the function replaced with something odd
            pass


def _take_log(capture: int, tail: int) -> bytes:
    """The last ``tail`` bytes the request wrote to the log, which is then emptied for the next."""
    _flush()
    try:
        size = os.fstat(capture).st_size
        if not size:
            return b""
        data = os.pread(capture, min(size, tail), max(0, size - tail))
        os.ftruncate(capture, 0)
        return data
    except OSError:
        return b""


def _memory_mb() -> int:
    if resource is None:  # not POSIX
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak // _MAXRSS_PER_MB)


_MAXRSS_PER_MB = 1048576 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes there, KiB elsewhere


def _exit_with_parent(parent: int) -> None:
    """End this environment when hookkit's process goes away while a request runs (an idle one sees
    end of input)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            _end_environment()


def _end_environment() -> None:
    """Take down the environment's whole process group (this process leads it), so nothing the
    function started outlives hookkit: hookkit's own kill of the group never comes if it was killed."""
    _flush()
    if os.getpgrp() == os.getpid():  # never the group of whoever started this process some other way
        with contextlib.suppress(OSError):
            os.killpg(0, signal.SIGKILL)
    os._exit(1)


# --- the process ----------------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    """``bootstrap.py CONFIG``: CONFIG is JSON, ``path`` the entries that go first on ``sys.path``."""
    channel = Channel(os.dup(0), os.dup(1))  # the protocol's pipes, kept from child processes
    capture = os.dup(2)  # the log file hookkit gave as stderr
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)  # stdout and stderr: the log, in the order things are written
    sys.stdout = _write_through(1, "strict")
    sys.stderr = _write_through(2, "backslashreplace")
    config = json.loads(argv[1])
    sys.argv = argv[:1]
    here = {os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.path.realpath(__file__))}
    if sys.path and sys.path[0] in here:  # the folder of this file: hookkit's, not the function's
        del sys.path[0]
    sys.path[:0] = config["path"]
    channel.send(HELLO)
    # hookkit's pid from the config: by the time this runs, hookkit may be gone and the parent pid 1
    threading.Thread(target=_exit_with_parent, args=(config["parent"],), name="parent-watch", daemon=True).start()
    _setup_logging()
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except InitFailure as failure:
        _flush()
        channel.send(INIT_FAILED, json.dumps(failure.info).encode())
        return 1
    channel.send(READY)
    with contextlib.suppress(BrokenPipeError):  # hookkit went away
        serve(handler, channel, capture)
    _end_environment()  # end of input: hookkit closed the pipe, or is gone
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
