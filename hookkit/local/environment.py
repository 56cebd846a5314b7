"""One execution environment of a local function: a process running :mod:`.bootstrap`, hookkit's side.

An :class:`Environment` starts the process (its own session, so that killing it takes whatever
the function started too), waits for its cold start, sends it requests (it serves one at a time;
a few more may wait in the pipe, each read when the one before is answered) and reads each reply within
a time limit. Past the limit the process is killed: a call cannot be
interrupted any other way, and Lambda too discards an environment whose invocation timed out.
What the function printed is in a file hookkit holds open, so even a crash leaves its log.

Processes never outlive hookkit: each is killed when its Environment is closed, collected, or
at the interpreter's exit; and if hookkit is killed first, the bootstrap kills its own process
group (what the function started too) when hookkit's end of its request pipe closes, or when
hookkit's process (whose pid it is given) is gone while a request runs.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import os
import select
import signal
import subprocess
import tempfile
import time
import weakref
from collections.abc import Callable
from typing import IO, Any, NamedTuple

from . import bootstrap
from .bootstrap import HELLO, INIT_FAILED, READY, REPLY, REQUEST

BOOTSTRAP = os.path.abspath(bootstrap.__file__)
#: How long an interpreter may take to start running the bootstrap, before the function's code runs.
START_LIMIT = 30.0
#: How much of a dead environment's last output is kept, for its log.
OUTPUT_BYTES = 256 * 1024
#: At most this much is read from a reply pipe at once: what a pipe holds on Linux.
READ_BYTES = 65536
#: The requests not answered yet, all perhaps still in the pipe, fit in this much: what a pipe holds
#: on every system (16 KiB on macOS, 64 KiB on Linux), so that sending never blocks.
AHEAD_BYTES = 16384
#: A request shorter than this is quick: waking the process for each costs a share of its time worth
#: saving by keeping several in its pipe. Longer ones gain nothing, and would wait longer there.
QUICK_MS = 10.0


def encode_request(request_id: str, arn: str, payload: bytes, *, timeout_ms: int, tail: int) -> bytes:
    """A request as the bootstrap reads it: header, request id and ARN, the event."""
    meta = f"{request_id}\0{arn}".encode()
    return REQUEST.pack(len(meta), len(payload), timeout_ms, tail) + meta + payload


class EnvironmentGone(Exception):
    """The process ended before it answered; ``status`` says how (``exit status 1``, ``signal: killed``).

    ``output`` is the end of what it wrote since its last reply; ``started`` is False when the
    interpreter never ran the bootstrap (a broken interpreter, or one too old for it).
    """

    def __init__(self, status: str, output: bytes, *, started: bool) -> None:
        super().__init__(status)
        self.status = status
        self.output = output
        self.started = started


class EnvironmentTimedOut(Exception):
    """No answer within the limit; the process has been killed. ``output``: what it wrote meanwhile."""

    def __init__(self, output: bytes) -> None:
        super().__init__("timed out")
        self.output = output


class InitFailed(Exception):
    """The handler did not import; ``info`` is the bootstrap's description of why."""

    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__(info.get("kind"))
        self.info = info


class Reply(NamedTuple):
    """One answer: ``kind`` is ``bootstrap.RESULT``, ``ERROR`` or ``INVALID``."""

    kind: int
    answer: bytes
    log: bytes
    duration_ms: float
    memory_mb: int
    sent: float  # when the process sent it, on the system's monotonic clock (``time.monotonic()``)


class Environment:
    """A worker process for one build of one function, used by one caller at a time."""

    def __init__(self, executable: str, *, path: list[str], cwd: str, env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.init_ms = 0.0  # how long its cold start took, once it is ready
        self._pending: bytes | bytearray = b""  # read from the reply pipe, not yet a whole message
        self._unanswered: collections.deque[int] = collections.deque()  # sizes of the requests not answered yet
        self._unanswered_bytes = 0  # their sum: at most what may be in the pipe
        #: Its last request took less than :data:`QUICK_MS`: more may wait in its pipe (see ``pool.AHEAD``).
        self.quick = False
        #: When the process sent the last reply read (its monotonic clock, which is hookkit's): a
        #: request that waited in the pipe behind that call started then, not when hookkit read it.
        self.answered_at = 0.0
        log = tempfile.TemporaryFile(prefix="hookkit-log-")  # noqa: SIM115 - closed by the finalizer
        try:
            _append_only(log.fileno())
            process = subprocess.Popen(  # noqa: S603 - an interpreter and hookkit's own bootstrap, no shell
                [executable, BOOTSTRAP, json.dumps({"path": path, "parent": os.getpid()})],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=cwd, env=env,
                start_new_session=True,
            )
        except BaseException:
            log.close()
            raise
        self.process = process
        _as_batch_work(process.pid)
        self._log = log
        self._requests = process.stdin.fileno()  # type: ignore[union-attr]
        #: The pipe its replies come on: readable once a reply (or the end of the process) is there.
        self.replies: int = process.stdout.fileno()  # type: ignore[union-attr]
        self._wait: Callable[[float], bool] = _waiter(self.replies)
        self._close = weakref.finalize(self, _kill, process, log)

    @property
    def alive(self) -> bool:
        return self._close.alive

    def wait_ready(self, limit: float) -> None:
        """Wait for the cold start: the interpreter runs the bootstrap, which imports the handler.

        Raises :class:`EnvironmentGone`, :class:`EnvironmentTimedOut` or :class:`InitFailed`; the
        process is killed in every case.
        """
        try:
            hello = self._receive(time.monotonic() + START_LIMIT, started=False)
            if hello.kind != HELLO:
                raise EnvironmentGone(f"answered {hello.kind} before saying hello", self._end(), started=False)
            ready = self._receive(time.monotonic() + limit, started=True)
            if ready.kind == INIT_FAILED:
                raise InitFailed(json.loads(ready.answer))
            if ready.kind != READY:
                raise EnvironmentGone(f"answered {ready.kind} instead of READY", self._end(), started=True)
        except BaseException:
            self.close()
            raise
        self.init_ms = (time.monotonic() - self.started) * 1000

    def send(self, request: bytes) -> float:
        """Send one request (:func:`encode_request`); returns when, on the monotonic clock.

        Raises :class:`EnvironmentGone` when the process has ended (it is then closed).
        """
        if not self._write(request):
            raise self._gone(started=True)
        return time.monotonic()

    def send_ahead(self, request: bytes) -> bool:
        """Send a request to wait in the pipe behind those sent before, which the process reads when
        they have been answered; False when the process has ended (its current caller finds that out
        itself). ``request`` and every request not answered yet must fit in :data:`AHEAD_BYTES`
        together (:meth:`fits_ahead`), so that this never blocks."""
        return self._write(request)

    def fits_ahead(self, request: bytes) -> bool:
        """Whether ``request`` can wait in the pipe behind every request not answered yet without filling it."""
        return self._unanswered_bytes + len(request) <= AHEAD_BYTES

    def _write(self, request: bytes) -> bool:
        data = memoryview(request)
        try:
            while data:
                data = data[os.write(self._requests, data):]
        except OSError:  # the process ended (a broken pipe)
            return False
        self._unanswered.append(len(request))
        self._unanswered_bytes += len(request)
        return True

    def receive(self, until: float) -> Reply:
        """The reply to the request sent, waiting until ``until`` (monotonic) at most.

        Raises :class:`EnvironmentTimedOut` (the process is then killed) or :class:`EnvironmentGone`.
        """
        return self._receive(until, started=True)

    def receive_come(self) -> Reply | None:
        """Without waiting: the reply, if all of it has come (read already along with the one before
        it, when the request had waited in the pipe, or in the pipe now)."""
        reply = self._message()
        if reply is None and self._wait(0):
            self._fill(started=True)
            reply = self._message()
        return reply

    def receive_ready(self) -> Reply | None:
        """Without waiting: read what :attr:`replies` holds (call it once poll says it is readable),
        and return the reply once it has all come; ``None`` while more is on its way.

        Raises :class:`EnvironmentGone` when the process has ended.
        """
        self._fill(started=True)
        return self._message()

    def timed_out(self) -> EnvironmentTimedOut:
        """Kill the process, whose answer did not come in time; the error carries what it wrote meanwhile."""
        return EnvironmentTimedOut(self._end())

    def close(self) -> None:
        """Kill the process (and whatever it started) and release its pipes; idempotent."""
        self._close()

    # --- reading replies ------------------------------------------------------------------------

    def _receive(self, deadline: float, *, started: bool) -> Reply:
        reply = self._message()
        while reply is None:
            if not self._wait(deadline - time.monotonic()):
                raise EnvironmentTimedOut(self._end())
            self._fill(started=started)
            reply = self._message()
        return reply

    def _fill(self, *, started: bool) -> None:
        """One read of what the pipe holds (it is readable: this does not block)."""
        chunk = os.read(self.replies, READ_BYTES)
        if not chunk:
            raise self._gone(started=started)
        if not self._pending:
            self._pending = chunk  # a whole reply, most often: sliced without another copy
        elif isinstance(self._pending, bytearray):
            self._pending += chunk
        else:
            self._pending = bytearray(self._pending) + chunk

    def _message(self) -> Reply | None:
        """The first whole message read, taken off what was read; ``None`` until it has all come."""
        pending = self._pending
        if len(pending) < REPLY.size:
            return None
        kind, answer_length, log_length, duration_ms, memory_mb, sent = REPLY.unpack_from(pending)
        answer_end = REPLY.size + answer_length
        end = answer_end + log_length
        if len(pending) < end:
            return None
        reply = Reply(kind, bytes(pending[REPLY.size:answer_end]), bytes(pending[answer_end:end]), duration_ms,
                      memory_mb, sent)
        self._pending = b"" if end == len(pending) else pending[end:]
        self.answered_at = sent
        if self._unanswered:  # the answer to a request (not the cold start's HELLO or READY)
            self._unanswered_bytes -= self._unanswered.popleft()
            self.quick = duration_ms < QUICK_MS
        return reply

    def _gone(self, *, started: bool) -> EnvironmentGone:
        """The process closed its end: wait for it (it is exiting) and say how it ended."""
        with contextlib.suppress(subprocess.TimeoutExpired):  # closed its output but lives on: ended below
            self.process.wait(timeout=5)
        output = self._end()
        return EnvironmentGone(exit_status(self.process.returncode), output, started=started)

    def _end(self) -> bytes:
        """Kill the process, then return the end of what it wrote since its last reply, then close."""
        if self.process.returncode is None:
            _kill_group(self.process)
            self.process.wait()
        try:
            size = os.fstat(self._log.fileno()).st_size
            return os.pread(self._log.fileno(), min(size, OUTPUT_BYTES), max(0, size - OUTPUT_BYTES))
        except (OSError, ValueError):  # already closed
            return b""
        finally:
            self.close()


def exit_status(code: int) -> str:
    """How Lambda words a runtime's end: ``exit status 3``, ``signal: segmentation fault``."""
    if code < 0:
        try:
            name = signal.strsignal(-code) or f"signal {-code}"
        except ValueError:
            name = f"signal {-code}"
        return f"signal: {name.lower()}"
    return f"exit status {code}"


def _kill(process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    if process.returncode is None:
        _kill_group(process)
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    process.wait()
    log.close()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: what the function started goes too
    except (ProcessLookupError, PermissionError):
        process.kill()


def _as_batch_work(pid: int) -> None:
    """Let Linux schedule the environment as batch work: it still gets its fair share of the CPUs,
    but waking it (sending it a request) no longer hands it the CPU of the hookkit process that woke
    it, which has the next answer to judge. Without this, on a machine with as many environments as
    CPUs, each request cost hookkit's process the CPU until the woken environment blocked again.
    Elsewhere (macOS), or where the system refuses, nothing changes."""
    setscheduler, batch = getattr(os, "sched_setscheduler", None), getattr(os, "SCHED_BATCH", None)
    if setscheduler is not None and batch is not None:
        with contextlib.suppress(OSError):  # it ended already, or a sandbox forbids it
            setscheduler(pid, batch, os.sched_param(0))


def _append_only(fd: int) -> None:
    """Writes go to the end of the log, which the bootstrap empties after each request."""
    import fcntl

    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)


def _waiter(fd: int) -> Callable[[float], bool]:
    """``wait(seconds)``: True once ``fd`` can be read (or is closed), False after ``seconds``."""
    if hasattr(select, "poll"):
        poll = select.poll()
        poll.register(fd, select.POLLIN)

        def wait(seconds: float) -> bool:
            return bool(poll.poll(max(0, math.ceil(seconds * 1000))))

        return wait

    def wait_select(seconds: float) -> bool:
        return bool(select.select([fd], [], [], max(0.0, seconds))[0])

    return wait_select
