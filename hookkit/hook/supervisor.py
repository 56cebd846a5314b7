"""Run a delivery's checks where they cannot take the report down: a child process, or a thread.

**Process isolation** (the default). The handler's process forks a child per delivery; the child
imports the checks, discovers what it must, runs the phase, and tells the parent each step over
a pipe as it happens (:class:`PipeSink`, one JSON line per step). The parent only listens: at
the checks' deadline it kills the child's whole process group, so whatever a check does (exit,
crash, spin in C code holding the interpreter lock, hang an import, exhaust descriptors, close
the standard streams, change the environment) ends with the child and costs the report nothing.
Forking is safe only from a process with no other thread (a lock held by another thread at the
fork stays held forever in the child): :func:`fork_refusal` checks that, and the handler falls
back to threads, saying why. Pipes only: Lambda has no ``/dev/shm``, so no multiprocessing queues
or semaphores.

**Thread isolation** (``HOOKKIT_ISOLATION=thread``, or where fork cannot be used). The checks run
in a worker thread the handler stops waiting for at the deadline, as hookkit did before: it
survives what Python can catch and hangs that release the interpreter lock, not a crash, an exit
or a long C call.

Either way the handler keeps a :class:`~hookkit.hook.record.RunRecord` and reports from it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import math
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ..core.errors import Difference, describe_exception
from ..core.outcome import Outcome, RunResult, Status, clip_text
from ..core.phases import Phase
from ..core.redact import redact_text
from .record import Ending, Planned, RunRecord, Sink, Stage

Work = Callable[[Sink], None]

#: More than this from one child is not outcomes but a runaway: the run fails rather than the parent's memory.
MAX_WIRE_BYTES = 32 * 2**20
_GATHER_S = 0.002  # how long the parent lets a child's steps gather between reads
_unreaped: dict[int, int | None] = {}  # children killed and not yet gone, with their pidfd: see reap_killed()


class CannotFork(Exception):
    """No child could be started (no pipe, no fork); nothing ran, so the checks can run in a thread."""


def fork_refusal() -> str | None:
    """Why this process must not fork now, or None when it may."""
    if not hasattr(os, "fork"):
        return "this platform cannot fork"
    others = _thread_count() - 1
    if others > 0:
        return (f"{others} other thread(s) are alive in this process, and a fork copies the locks they hold "
                "without the threads that would release them")
    return None


def _thread_count() -> int:
    """Every thread of the process, native ones too (Linux), else those Python started."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


# --- process isolation: the parent's side ------------------------------------------------------


def run_in_child(work: Work, record: RunRecord, *, deadline: float, clock: Callable[[], float]) -> Ending | None:
    """Run ``work`` in a forked child, filling ``record`` from what it says; None when it finished.

    Returns at the latest at ``deadline`` (a ``clock()`` instant), with the child and everything
    it started in its process group killed. Raises :class:`CannotFork` if no child could start.
    """
    reap_killed(0.0)
    try:
        read_fd, write_fd = os.pipe()
    except OSError as exc:
        raise CannotFork(f"no pipe for the check process: {exc}") from exc
    for stream in (sys.stdout, sys.stderr):  # else the child would write the parent's buffered output again
        with contextlib.suppress(Exception):
            stream.flush()
    gc.freeze()  # the child's garbage collector then leaves the parent's objects (and their pages) alone
    try:
        pid = os.fork()
    except OSError as exc:
        gc.unfreeze()
        os.close(read_fd)
        os.close(write_fd)
        raise CannotFork(f"fork failed: {exc}") from exc
    if pid == 0:
        _child(work, read_fd, write_fd)
    gc.unfreeze()
    os.close(write_fd)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)  # also done by the child: whichever runs first, the group exists before any kill
    return _Supervision(pid, read_fd, record, clock).until(deadline)


class _Supervision:
    """The parent listening to one child until it finishes, dies, or the deadline comes."""

    def __init__(self, pid: int, read_fd: int, record: RunRecord, clock: Callable[[], float]) -> None:
        self.pid, self.read_fd, self.clock = pid, read_fd, clock
        self.pidfd: int | None = None
        self.decoder = Decoder(record)
        self.status: int | None = None  # the child's wait status, once reaped
        self.reaped = False
        self.reading = True

    def until(self, deadline: float) -> Ending | None:
        os.set_blocking(self.read_fd, False)
        pidfd = self.pidfd = _pidfd_open(self.pid)
        poller = select.poll()
        poller.register(self.read_fd, select.POLLIN)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        try:
            while True:
                if self.decoder.finished:
                    return None
                if self.decoder.broken:
                    return Ending(f"the check process sent hookkit something it cannot read ({self.decoder.broken})",
                                  died=True)
                left = deadline - self.clock()
                if left <= 0:
                    return Ending.deadline()
                wait = left if pidfd is not None else min(left, 0.02)  # without a pidfd, look at the child often
                events = dict(poller.poll(math.ceil(wait * 1000)))
                if self.reading and self.read_fd in events:
                    if not self._read():
                        poller.unregister(self.read_fd)
                    elif pidfd is not None and not self.decoder.finished:
                        # Let a few more steps gather in the pipe: waking for each one costs the child
                        # (on a small machine) more than this delay, and an exit still wakes at once.
                        exited, _, _ = select.select([pidfd], [], [], min(_GATHER_S, max(0.0, left)))
                        if exited:
                            events[pidfd] = select.POLLIN
                if (pidfd in events) if pidfd is not None else self._exited():
                    return self._after_exit()
        finally:
            self._end()
            os.close(self.read_fd)

    def _after_exit(self) -> Ending | None:
        """The child is gone: what it wrote before it went decides whether it finished."""
        self._reap(block=True)
        self._read()
        return None if self.decoder.finished else Ending(f"the check process {_how(self.status)}", died=True)

    def _read(self) -> bool:
        """Take what the pipe holds; False once it is closed (every writer gone)."""
        while self.reading:
            try:
                data = os.read(self.read_fd, 1 << 16)
            except BlockingIOError:
                break
            if not data:
                self.reading = False
                break
            self.decoder.feed(data)
        return self.reading

    def _exited(self) -> bool:
        self._reap(block=False)
        return self.reaped

    def _reap(self, *, block: bool) -> None:
        if self.reaped:
            return
        try:
            pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:  # someone else reaped it (SIGCHLD ignored): how it ended is unknown
            self.reaped = True
            return
        if pid:
            self.reaped, self.status = True, status

    def _end(self) -> None:
        """Kill what is left of the child's process group; it is taken away after the report.

        A killed process is gone only once the kernel has freed its memory, which for a check that
        allocated gigabytes takes a good fraction of a second: the report does not wait for that.
        """
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)  # the child and whatever it started, unless they left the group
        if self.reaped:
            if self.pidfd is not None:
                os.close(self.pidfd)
            return
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        _unreaped[self.pid] = self.pidfd


def reap_killed(wait: float, clock: Callable[[], float] = time.monotonic) -> None:
    """Take away killed children once the kernel is done with them, waiting at most ``wait`` seconds
    (the handler calls this after the report; what is still not gone is taken on a later delivery)."""
    until = clock() + wait
    for pid, pidfd in list(_unreaped.items()):
        while True:
            try:
                gone = bool(os.waitpid(pid, os.WNOHANG)[0])
            except ChildProcessError:
                gone = True
            left = until - clock()
            if gone or left <= 0:
                break
            if pidfd is not None:
                select.select([pidfd], [], [], left)  # readable when the child has exited
            else:
                select.select([], [], [], min(left, 0.001))
        if gone:
            del _unreaped[pid]
            if pidfd is not None:
                os.close(pidfd)


def _pidfd_open(pid: int) -> int | None:
    """A descriptor that becomes readable when the child exits (Linux 5.3+), else None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


_HINTS = {"SIGKILL": " (the out-of-memory killer, or a kill sent by a check)"}


def _how(status: int | None) -> str:
    """``was killed by SIGSEGV``, ``exited with status 0``: completes "the check process ..."."""
    if status is None:
        return "ended (how is unknown: its exit status was taken by another part of this process)"
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"exited with status {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    return f"was killed by {name}{_HINTS.get(name, '')}"


# --- process isolation: the child's side -------------------------------------------------------


def _child(work: Work, read_fd: int, write_fd: int) -> NoReturn:
    """The child's whole life: never returns into the caller's stack (the Lambda runtime's loop)."""
    code = 0
    try:
        os.close(read_fd)
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)  # a group of its own: one kill takes every process a check starts
        with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")  # out of memory, the kernel kills this process first, never the supervisor
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)  # the runtime's input is not the checks' to read
            os.close(devnull)
        work(PipeSink(write_fd))
    except BaseException as exc:  # noqa: BLE001 - the parent explains a child that ends without finishing
        code = 70  # EX_SOFTWARE
        with contextlib.suppress(BaseException):
            sys.stderr.write(redact_text(f"hookkit: the check process failed: {describe_exception(exc)}") + "\n")
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(code)


class PipeSink:
    """The child's :class:`Sink`: each step becomes one JSON line on the pipe to the parent."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def _send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message, default=repr) + "\n").encode()
        while data:
            written = os.write(self.fd, data)
            data = data[written:]

    def stage(self, stage: Stage) -> None:
        self._send({"t": "stage", "stage": stage.value})

    def phase(self, phase: Phase) -> None:
        self._send({"t": "phase", "phase": phase.value})

    def announce(self, checks: Sequence[Planned]) -> None:
        self._send({"t": "announce", "checks": [[c.name, c.blocking] for c in checks]})

    def start(self, name: str) -> None:
        self._send({"t": "start", "name": name})

    def outcome(self, outcome: Outcome) -> None:
        self._send({"t": "outcome", "outcome": outcome.clipped().to_dict()})

    def finish(self, result: RunResult, function: str | None) -> None:
        for stream in (sys.stdout, sys.stderr):  # everything the run printed is out before the parent ends it
            with contextlib.suppress(Exception):
                stream.flush()
        sent = dataclasses.replace(result, reason=clip_text(result.reason),
                                   outcomes=tuple(o.clipped() for o in result.outcomes))
        self._send({"t": "finish", "result": sent.to_dict(), "function": function})


class ProtocolError(Exception):
    """A line from the child that is not a step hookkit's own child would send."""


class Decoder:
    """The parent's reading of the child's lines into a :class:`RunRecord`. Nothing is trusted: a
    line that does not parse, or too much data, makes the run ``broken``, which fails it."""

    def __init__(self, record: RunRecord) -> None:
        self.record = record
        self.buffer = bytearray()
        self.total = 0
        self.finished = False
        self.broken: str | None = None

    def feed(self, data: bytes) -> None:
        if self.finished or self.broken:
            return
        self.total += len(data)
        if self.total > MAX_WIRE_BYTES:
            self.broken = f"more than {MAX_WIRE_BYTES // 2**20} MiB of messages"
            return
        searched = len(self.buffer)  # a long line arrives in many pieces: look for its end in the new one only
        self.buffer += data
        while (end := self.buffer.find(b"\n", searched)) >= 0:
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 1]
            searched = 0
            try:
                if self._apply(json.loads(line)):
                    return
            except (ProtocolError, ValueError, TypeError, KeyError, AttributeError) as exc:
                self.broken = f"{type(exc).__name__} reading {line[:80]!r}"
                return

    def _apply(self, message: dict[str, Any]) -> bool:
        """Apply one step to the record; True once the run has finished (nothing after it counts)."""
        kind = message["t"]
        if kind == "stage":
            self.record.stage(Stage(message["stage"]))
        elif kind == "phase":
            self.record.phase(Phase(message["phase"]))
        elif kind == "announce":
            self.record.announce([Planned(_text(name), _flag(blocking)) for name, blocking in message["checks"]])
        elif kind == "start":
            self.record.start(_text(message["name"]))
        elif kind == "outcome":
            self.record.outcome(outcome_from_dict(message["outcome"]))
        elif kind == "finish":
            self.record.finish(result_from_dict(message["result"]), _optional_text(message.get("function")))
            self.finished = True
        else:
            raise ProtocolError(f"unknown message {kind!r}")
        return self.finished


def outcome_from_dict(data: dict[str, Any]) -> Outcome:
    """The inverse of :meth:`Outcome.to_dict` (values in differences come back as JSON values), cut to
    size again (:meth:`Outcome.clipped`): nothing the child sends costs the parent more than that."""
    return Outcome(
        name=_text(data["name"]),
        phase=Phase(data["phase"]),
        status=Status(data["status"]),
        blocking=_flag(data["blocking"]),
        attempts=int(data["attempts"]),
        duration_ms=float(data["durationMs"]),
        message=_text(data["message"]),
        differences=tuple(Difference(_text(d["path"]), d["expected"], d["actual"]) for d in data["differences"]),
        configuration=_flag(data["configurationError"]),
    ).clipped()


def result_from_dict(data: dict[str, Any]) -> RunResult:
    """The inverse of :meth:`RunResult.to_dict`; the verdict is decided again here, never taken as sent."""
    phase = Phase(data["phase"]) if data["phase"] is not None else None
    outcomes = [outcome_from_dict(o) for o in data["checks"]]
    duration_ms = float(data["durationMs"])
    if outcomes and phase is not None:
        return RunResult.from_outcomes(phase, outcomes, duration_ms=duration_ms)
    reason = clip_text(_text(data["reason"]))
    return RunResult.failed(phase, reason or "the run ended without checks", duration_ms=duration_ms)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"expected text, got {type(value).__name__}")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ProtocolError(f"expected true or false, got {type(value).__name__}")
    return value


# --- thread isolation ----------------------------------------------------------------------------


def run_in_thread(work: Work, record: RunRecord, *, deadline: float, clock: Callable[[], float]) -> Ending | None:
    """Run ``work`` in a daemon thread, waiting for it until ``deadline``; None when it finished.

    A thread cannot be killed: one still running at the deadline is left behind (it may hold the
    checks' import lock, or the interpreter lock in a long C call, in a warm container).
    """
    done = threading.Event()

    def target() -> None:
        try:
            work(record)
        finally:
            done.set()

    threading.Thread(target=target, name="hookkit-delivery", daemon=True).start()
    done.wait(max(0.0, deadline - clock()))
    if record.finished:
        return None
    if done.is_set():
        return Ending("the checks' thread stopped without a result (a bug in hookkit)", died=True)
    return Ending.deadline()
