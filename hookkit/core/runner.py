"""Run the checks of one phase: concurrently, each bounded in time, never raising.

Python cannot kill a thread, so a check that overruns its timeout is *abandoned*: its outcome is
recorded as ``timed_out``, its slot in the pool is freed, and its daemon thread is left to finish
(or not) on its own. That is what lets the hook report before its Lambda dies whatever a check
does. Attempts run on a pool of daemon worker threads, each attempt in a fresh ``contextvars``
context; one orchestrating loop in the caller's thread owns all bookkeeping, so no state is shared
between attempts.

A check written as ``async def`` is awaited, each attempt on an event loop of its own in its worker
thread, with the same timeout, retries and classification as any check; at its timeout its task is
cancelled, so unlike a thread it really stops (unless it blocks the loop). A call that hands back a
coroutine or any other awaitable (a plain function wrapping an async one) is awaited the same way,
and one that hands back a generator is an error: a generator's body has not run, so it proved
nothing.

Workers are shared by every run in the process and reused, rather than started per attempt:
starting a thread costs up to a millisecond or more on a small VM and waits for the interpreter
lock under load, CI runs thousands of checks, and a warm Lambda runs the next hook with the
threads the last one started. A worker that an abandoned attempt still occupies is simply not
idle, so another is started and a hung check never costs a run its slot.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import functools
import heapq
import inspect
import itertools
import math
import os
import queue
import select
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from .errors import (
    ConfigurationError,
    Difference,
    ExpectationFailed,
    HookkitError,
    TargetError,
    describe_exception,
    exception_text,
)
from .outcome import MAX_MESSAGE_CHARS, Outcome, RunResult, Status, clip_text, redact_difference
from .phases import Phase
from .redact import redact_text
from .registry import Check
from .stages import Stage, Unstaged

#: ``provide(parameter_name, check, timeout_seconds)`` -> the value passed to the check.
Provider = Callable[[str, Check, float], Any]
#: ``around(check)`` -> a context manager entered in the check's own thread (tracing subsegments).
Around = Callable[[Check], AbstractContextManager[Any]]

#: Checks mostly wait on the network (an invoke, an HTTP call): a waiting thread costs little, and
#: workers start only as checks need them. A hook's usual few dozen checks then run in one wave.
DEFAULT_MAX_WORKERS = 32


@dataclass
class _Attempt:
    status: Status
    message: str = ""
    differences: tuple[Difference, ...] = ()
    configuration: bool = False  # the check is set up wrongly: no retry can fix it


@dataclass(slots=True)
class _CheckState:
    check: Check
    first_started: float = 0.0
    attempts: int = 0
    last: _Attempt | None = None
    deadline: float = 0.0
    token: int = -1  # identifies the live attempt; a late result with another token is ignored
    outcome: Outcome | None = None
    retry_at: float = 0.0
    attempt_started: float = 0.0
    seq: int = field(default_factory=itertools.count().__next__)
    # a staged attempt (see hookkit.core.stages): the stage, its context and resources, the fd it waits on
    stage: Stage | None = None
    context: contextvars.Context | None = None
    resources: dict[str, Any] | None = None
    fd: int | None = None


def run_checks(
    checks: Sequence[Check],
    *,
    provide: Provider,
    deadline: float,
    max_workers: int = DEFAULT_MAX_WORKERS,
    on_outcome: Callable[[Outcome], None] | None = None,
    around: Around | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_start: Callable[[Check], None] | None = None,
    staged: bool = False,
) -> list[Outcome]:
    """Run ``checks`` and return one outcome per check, in the order given.

    ``deadline`` is a ``clock()`` instant; at that instant unfinished checks are recorded as
    timed out and checks not yet started as skipped, and the function returns. ``on_start`` and
    ``on_outcome`` are called in the caller's thread as each attempt starts and each check settles
    (the hook's supervisor learns from them which checks were running if the process dies).

    ``staged``: ``provide`` never blocks, so checks that can run without a thread of their own
    (:mod:`hookkit.core.stages`) are run from the caller's thread; only without ``around``.
    """
    run = _Run(checks, provide=provide, deadline=deadline, max_workers=max_workers, on_outcome=on_outcome,
               around=around, clock=clock, on_start=on_start, staged=staged and around is None)
    return run.run()


class _Run:
    """The bookkeeping of one :func:`run_checks` call, owned by the caller's thread alone.

    Checks wait (in declaration order), run (at most ``max_workers`` at once), wait for a retry,
    or are finished; workers only ever hand results back through ``results``. A staged attempt
    runs in this thread: it is stepped when the pipe it waits on is readable or its time is up,
    and ``results`` then also wakes this thread through a pipe of its own.
    """

    def __init__(
        self, checks: Sequence[Check], *, provide: Provider, deadline: float, max_workers: int,
        on_outcome: Callable[[Outcome], None] | None, around: Around | None, clock: Callable[[], float],
        on_start: Callable[[Check], None] | None = None, staged: bool = False,
    ) -> None:
        self.states = [_CheckState(check) for check in checks]
        self.provide, self.deadline, self.max_workers = provide, deadline, max_workers
        self.on_outcome, self.around, self.clock = on_outcome, around, clock
        self.stray: list[tuple[float, str]] = []  # exceptions that ended a thread a check started itself
        self.waiting = self.states[::-1]  # a stack: pop() takes the next in declaration order
        self.retries: list[tuple[float, int, _CheckState]] = []
        self.running: dict[int, _CheckState] = {}
        self.deadlines: list[tuple[float, int]] = []  # (deadline, token) of attempts started; finished ones linger
        self.results = _Results()
        self.tokens = itertools.count()
        self.on_start = on_start
        self.stageable = staged
        self.staged: dict[int, _CheckState] = {}  # by token: the attempts under way in this thread
        self.polled: dict[int, _CheckState] = {}  # by file descriptor: the staged attempts waiting on one
        self.poller: Any = None  # a select.poll, with the wake-up pipe, once an attempt is staged
        self.wakeup: tuple[int, int] | None = None
        self.notified: collections.deque[int] = collections.deque()  # tokens of stages whose notify was called
        self.wakeup_lock = threading.Lock()
        self.owner = threading.get_ident()

    def run(self) -> list[Outcome]:
        try:
            with _stray_exceptions(self.stray, self.clock):
                while self.clock() < self.deadline and self._start_ready():
                    self._wait_for_a_result()
                    self._expire_overdue()
            self._close(self.clock())
        finally:
            self._close_wakeup()
        return [state.outcome for state in self.states if state.outcome is not None]

    def _start_ready(self) -> bool:
        """Start what may start now; False once nothing runs and nothing is left to start."""
        now = self.clock()
        while len(self.running) < self.max_workers and (self.waiting or self._retry_due(now)):
            self._start(heapq.heappop(self.retries)[2] if self._retry_due(now) else self.waiting.pop(), now)
        return bool(self.running or self.waiting or self.retries)

    def _retry_due(self, now: float) -> bool:
        return bool(self.retries) and self.retries[0][0] <= now

    def _start(self, state: _CheckState, now: float) -> None:
        if not state.attempts:
            state.first_started = now
        state.attempts += 1
        state.attempt_started = now
        state.token = next(self.tokens)
        state.deadline = min(now + state.check.options.timeout, self.deadline)
        self.running[state.token] = state
        heapq.heappush(self.deadlines, (state.deadline, state.token))
        if self.on_start is not None:
            self.on_start(state.check)
        timeout = max(0.0, state.deadline - now)
        if self.stageable and self._begin(state, timeout):
            return
        _POOL.submit(state.check, self.provide, self.around, timeout, state.token, self.results)

    def _wait_for_a_result(self) -> None:
        """Block until an attempt ends, a running one is overdue, a retry is due, or the deadline."""
        wake = self._next_wake()
        if self.staged:
            self._wait_for_stages(wake)
            return
        try:
            token, attempt = self.results.queue.get(timeout=max(0.0, wake - self.clock()))
        except queue.Empty:
            return
        self._result(token, attempt)

    def _next_wake(self) -> float:
        """The first of: the deadline, a running attempt's own, a retry's time, a stage's timeout."""
        heap, running = self.deadlines, self.running
        while heap and heap[0][1] not in running:  # attempts that ended before their deadline
            heapq.heappop(heap)
        wake = self.deadline
        if heap and heap[0][0] < wake:
            wake = heap[0][0]
        if self.retries and self.retries[0][0] < wake:
            wake = self.retries[0][0]
        for state in self.polled.values():  # a stage waiting for its environment has no timer of its own
            at = state.stage.wake_at  # type: ignore[union-attr]
            if at < wake:
                wake = at
        return wake

    def _result(self, token: int, attempt: _Attempt) -> None:
        state = self.running.pop(token, None)
        if state is not None:  # else: a result from an attempt already given up as timed out
            if attempt.status is Status.TIMED_OUT:  # an async check cancelled at its time: say which limit
                attempt = _timed_out(state, self.deadline)
            self._finish(state, attempt, self.clock())

    def _expire_overdue(self) -> None:
        now = self.clock()
        heap = self.deadlines
        while heap and heap[0][0] <= now:
            _, token = heapq.heappop(heap)
            state = self.running.pop(token, None)
            if state is not None:
                self._abandon(state)
                self._finish(state, _timed_out(state, self.deadline), now)

    def _finish(self, state: _CheckState, attempt: _Attempt, now: float) -> None:
        """Record an attempt's end: retry it when allowed and time remains, else settle its outcome."""
        if attempt.status is Status.PASSED:
            attempt = _blame_stray(attempt, [text for at, text in self.stray if at >= state.attempt_started])
        state.last = attempt
        can_retry = (
            attempt.status is not Status.PASSED and not attempt.configuration
            and state.attempts <= state.check.options.retries
        )
        retry_at = now + state.check.options.retry_delay
        if can_retry and retry_at < self.deadline:
            state.retry_at = retry_at
            heapq.heappush(self.retries, (retry_at, state.seq, state))
            return
        self._settle(state, _outcome(state, now))

    def _settle(self, state: _CheckState, outcome: Outcome) -> None:
        state.outcome = outcome
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def _close(self, end: float) -> None:
        """At the deadline: what still runs timed out, what never started is skipped."""
        for state in self.running.values():
            self._abandon(state)
            state.last = _Attempt(Status.TIMED_OUT, AT_DEADLINE)
        for state in self.states:
            if state.outcome is not None:
                continue
            if state.last is None:
                self._settle(state, Outcome(
                    name=state.check.name, phase=state.check.phase, status=Status.SKIPPED,
                    blocking=state.check.blocking, message="not started: the hook's deadline came first",
                ))
            else:  # still running, or waiting for a retry, when time ran out: its last attempt stands
                self._settle(state, _outcome(state, end))

    # --- staged attempts (hookkit.core.stages) ---------------------------------------------------

    def _begin(self, state: _CheckState, timeout: float) -> bool:
        """Begin the attempt in this thread if its check can; False: it runs on a worker thread."""
        begin = getattr(state.check.func, "begin_stage", None)
        if begin is None:
            return False
        token = state.token
        context = contextvars.Context()  # a fresh one per attempt, as a worker thread's would be
        try:
            resources = context.run(_resources, state.check, self.provide, timeout)
            stage = context.run(begin, functools.partial(self._notify, token), **resources)
        except BaseException as exc:  # noqa: BLE001 - classified as the check's own failure, as in call_check
            self._result(token, _failure(exc, timeout))
            return True
        if stage is None:
            return False
        state.stage, state.context, state.resources = stage, context, resources
        self.staged[token] = state
        if self.poller is None:
            self._open_wakeup()
        self._poll(state)
        return True

    def _wait_for_stages(self, wake: float) -> None:
        """Wait on every staged attempt's pipe (and the wake-up pipe); step each that is ready or due.

        Every stage that can go on does before any that ended is judged: a local environment that
        answered is handed its next request first, and works while this thread judges the answer.
        """
        delay = 0 if not self.results.queue.empty() or self.notified else math.ceil((wake - self.clock()) * 1000)
        ended = []
        for fd, _ in self.poller.poll(max(0, delay)):
            state = self.polled.get(fd)
            if state is not None:
                if self._step(state, True):
                    ended.append(state)
            elif self.wakeup is not None and fd == self.wakeup[0]:
                os.read(fd, 4096)
        now = self.clock()
        for state in [s for s in self.polled.values() if s.stage.wake_at <= now]:  # type: ignore[union-attr]
            if self._step(state, False):
                ended.append(state)
        while self.notified:  # stages handed what they waited for (their environment) go on
            handed = self.staged.get(self.notified.popleft())
            if handed is not None and self._step(handed, False):
                ended.append(handed)
        for state in ended:
            self._judge(state)
        while not self.results.queue.empty():
            self._result(*self.results.queue.get())

    def _step(self, state: _CheckState, readable: bool) -> bool:
        """Step a stage; True when its attempt came to an end and waits to be judged (:meth:`_judge`)."""
        stage, context, token = state.stage, state.context, state.token
        try:
            done = context.run(stage.step, readable)  # type: ignore[union-attr]
        except Unstaged:  # it cannot go on without a thread, and has done nothing: run it on one
            self._unstage(state)
            _POOL.submit(state.check, self.provide, self.around, max(0.0, state.deadline - self.clock()), token,
                         self.results)
            return False
        except BaseException as exc:  # noqa: BLE001 - the check's own failure, as in call_check
            self._unstage(state)
            self._result(token, _failure(exc, max(0.0, state.deadline - state.attempt_started)))
            return False
        if done:
            self._unpoll(state)
        else:
            self._poll(state)  # a stage handed its environment now waits on its pipe
        return bool(done)

    def _judge(self, state: _CheckState) -> None:
        stage, context, resources, token = state.stage, state.context, state.resources, state.token
        if stage is None or context is None or resources is None:  # abandoned meanwhile
            return
        attempt = context.run(_judge_stage, stage, resources)
        self._unstage(state)
        self._result(token, attempt)

    def _poll(self, state: _CheckState) -> None:
        fd = state.stage.fileno()  # type: ignore[union-attr]
        if fd == state.fd:
            return
        self._unpoll(state)
        if fd is not None:
            self.polled[fd] = state
            self.poller.register(fd, select.POLLIN)
            state.fd = fd

    def _unpoll(self, state: _CheckState) -> None:
        fd, state.fd = state.fd, None
        if fd is not None and self.polled.get(fd) is state:  # else another stage waits on it now
            del self.polled[fd]
            self.poller.unregister(fd)

    def _unstage(self, state: _CheckState) -> None:
        self._unpoll(state)
        self.staged.pop(state.token, None)
        state.stage = state.context = state.resources = None

    def _abandon(self, state: _CheckState) -> None:
        """An attempt given up at its timeout or the deadline: a staged one releases what it holds."""
        stage = state.stage
        if stage is not None:
            self._unstage(state)
            with contextlib.suppress(Exception):  # it is over either way
                stage.cancel()

    def _notify(self, token: int) -> None:
        """A stage's ``notify``: step it soon; from another thread, wake this one."""
        self.notified.append(token)
        if threading.get_ident() != self.owner:
            self._wake()

    def _open_wakeup(self) -> None:
        read, write = os.pipe()
        os.set_blocking(write, False)
        self.wakeup = (read, write)
        self.poller = select.poll()
        self.poller.register(read, select.POLLIN)
        self.results.wake = self._wake

    def _wake(self) -> None:
        with self.wakeup_lock:  # never into a pipe closed meanwhile, whose number may be another file's now
            if self.wakeup is not None:
                with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending anyway
                    os.write(self.wakeup[1], b"\0")

    def _close_wakeup(self) -> None:
        """At the end of the run; a worker thread still running an abandoned attempt wakes nobody."""
        with self.wakeup_lock:
            self.results.wake = None
            wakeup, self.wakeup = self.wakeup, None
        if wakeup is not None:
            for fd in wakeup:
                os.close(fd)


class _Results:
    """Where attempts run on worker threads hand their results back, waking a run that waits on stages."""

    __slots__ = ("queue", "wake")

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[tuple[int, _Attempt]] = queue.SimpleQueue()
        self.wake: Callable[[], None] | None = None

    def put(self, result: tuple[int, _Attempt]) -> None:
        self.queue.put(result)
        wake = self.wake
        if wake is not None:
            wake()


def _resources(check: Check, provide: Provider, timeout: float) -> dict[str, Any]:
    return {name: provide(name, check, timeout) for name in check.params}


def _judge_stage(stage: Stage, resources: dict[str, Any]) -> _Attempt:
    try:
        returned = stage.result()
    except BaseException as exc:  # noqa: BLE001 - the check's own failure, as in call_check
        return _failure(exc, 0.0)
    return _judged(returned, resources)


#: Why a check still running at the deadline did not pass (the hook's supervisor says it too).
AT_DEADLINE = "still running at the hook's deadline (time kept in reserve for the report)"


def _blame_stray(attempt: _Attempt, texts: list[str]) -> _Attempt:
    """A passed attempt during which a thread died of an exception did not really pass."""
    if not texts:
        return attempt
    shown = "; ".join(redact_text(t) for t in texts[:3]) + ("; ..." if len(texts) > 3 else "")
    return _Attempt(
        Status.ERROR,
        f"an exception ended a thread while this check ran: {shown}. A check that starts threads must "
        "collect their results; hookkit fails every check running at that moment, since it cannot tell "
        "which one started the thread",
    )


_stray_lock = threading.Lock()
_stray_sinks: dict[int, tuple[list[tuple[float, str]], Callable[[], float]]] = {}
_previous_excepthook: Any = None


@contextlib.contextmanager
def _stray_exceptions(sink: list[tuple[float, str]], clock: Callable[[], float]) -> Iterator[None]:
    """Record, for the length of a run, exceptions that end threads a check started itself.

    A check that runs its work in a thread and joins it would otherwise pass while the thread's
    failure went only to stderr: ``threading.excepthook`` is the one place Python reports it.
    The previous hook still runs, and is put back when the last run ends.
    """
    global _previous_excepthook
    with _stray_lock:
        if not _stray_sinks:
            _previous_excepthook = threading.excepthook
            threading.excepthook = _on_thread_exception
        _stray_sinks[id(sink)] = (sink, clock)
    try:
        yield
    finally:
        with _stray_lock:
            del _stray_sinks[id(sink)]
            if not _stray_sinks:
                threading.excepthook = _previous_excepthook


def _on_thread_exception(args: threading.ExceptHookArgs) -> None:
    if not issubclass(args.exc_type, SystemExit):  # as Python's own hook, a thread may exit quietly
        name = args.thread.name if args.thread is not None else "?"
        shown = describe_exception(args.exc_value) if args.exc_value is not None else args.exc_type.__name__
        text = f"{shown} (in thread {name})"
        for sink, clock in list(_stray_sinks.values()):
            sink.append((clock(), text))
    previous = _previous_excepthook or threading.__excepthook__
    if previous is not threading.__excepthook__:  # someone's own hook: theirs to say what it shows
        previous(args)
        return
    _print_redacted(args)


def _print_redacted(args: threading.ExceptHookArgs) -> None:
    """What Python's own hook prints (to stderr, CloudWatch in Lambda), redacted: the traceback of an
    exception a check's thread died of carries the URLs, headers and tokens it was handling."""
    if issubclass(args.exc_type, SystemExit):
        return
    name = args.thread.name if args.thread is not None else threading.get_ident()
    try:
        shown = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
    except Exception:  # noqa: BLE001 - an exception that cannot even be formatted is shown by its type
        shown = f"{args.exc_type.__name__} (its text could not be formatted)\n"
    with contextlib.suppress(Exception):  # a check may have closed stderr
        sys.stderr.write(f"Exception in thread {name}:\n{redact_text(shown)}")
        sys.stderr.flush()


def _timed_out(state: _CheckState, deadline: float) -> _Attempt:
    if state.deadline >= deadline:
        return _Attempt(Status.TIMED_OUT, AT_DEADLINE)
    return _Attempt(Status.TIMED_OUT, f"did not finish within its timeout of {state.check.options.timeout:g} s")


def _outcome(state: _CheckState, now: float) -> Outcome:
    """The check's outcome from its last attempt, cut to size (:meth:`Outcome.clipped`) where it is made."""
    last = state.last or _Attempt(Status.SKIPPED)
    return Outcome(
        name=state.check.name,
        phase=state.check.phase,
        status=last.status,
        blocking=state.check.blocking,
        attempts=state.attempts,
        duration_ms=(now - state.first_started) * 1000.0,
        message=last.message,
        differences=tuple(last.differences),
        configuration=last.configuration,
    ).clipped()


class _Pool:
    """Daemon worker threads taking attempts from one queue; one is started only when none is idle.

    A worker held by an abandoned (hung) attempt is not idle until that attempt returns, if it
    ever does, so the next attempt gets a new worker rather than waiting for it.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(
        self, check: Check, provide: Provider, around: Around | None, timeout: float, token: int, results: _Results,
    ) -> None:
        """Run one attempt; ``(token, attempt)`` is put on ``results`` when it ends."""
        with self._lock:
            idle = self._idle > 0
            if idle:
                self._idle -= 1
        if not idle:
            threading.Thread(target=self._work, name="hookkit-check", daemon=True).start()
        self._jobs.put((check, provide, around, timeout, token, results))

    def _work(self) -> None:
        thread = threading.current_thread()
        while True:
            check, provide, around, timeout, token, results = self._jobs.get()
            thread.name = f"hookkit-check-{check.name}"
            try:  # a fresh context per attempt, as a thread of its own would start with
                attempt = contextvars.Context().run(_attempt, check, provide, timeout, around)
            except BaseException as exc:  # noqa: BLE001 - the worker always answers, or the check would time out
                attempt = _Attempt(Status.ERROR, f"hookkit could not classify the attempt: {type(exc).__name__}")
            with self._lock:
                self._idle += 1
            results.put((token, attempt))


_POOL = _Pool()


def _attempt(check: Check, provide: Provider, timeout: float, around: Around | None) -> _Attempt:
    if around is None:
        return call_check(check, provide, timeout)
    try:
        with around(check):
            return call_check(check, provide, timeout)
    except BaseException as exc:  # noqa: BLE001 - instrumentation must never lose an outcome
        return _Attempt(Status.ERROR, f"hookkit instrumentation failed: {describe_exception(exc)}")


def call_check(check: Check, provide: Provider, timeout: float) -> _Attempt:
    """Call one check once and classify what happened; catches everything, even ``SystemExit``."""
    try:
        kwargs = _resources(check, provide, timeout)
        returned = check.func(**kwargs)
        if inspect.isawaitable(returned):
            returned = _await(returned, timeout)
    except BaseException as exc:  # noqa: BLE001 - a check must never take the hook down with it
        return _failure(exc, timeout)
    return _judged(returned, kwargs)


def _clip(text: str) -> str:
    """An exception's text cut to size, leaving room for `` (at file.py:12)`` within an outcome's limit."""
    return clip_text(text, MAX_MESSAGE_CHARS - 512)


def _failure(exc: BaseException, timeout: float) -> _Attempt:
    """What an exception out of a check (or out of providing its resources) makes of its attempt."""
    if isinstance(exc, _Overran):
        return _Attempt(Status.TIMED_OUT, f"did not finish within {timeout:g} s; its task was cancelled")
    if isinstance(exc, ExpectationFailed):  # its text shows the differences as they may leave (hidden by path)
        differences = tuple(redact_difference(d) for d in exc.differences)
        text = None
        if type(exc).__str__ is BaseException.__str__:  # else a subclass's own text: shown as it says
            with contextlib.suppress(Exception):  # a value whose repr fails: shown as raised
                text = exc.text_with(differences)
        return _Attempt(Status.FAILED, _clip(exception_text(exc) if text is None else text), differences)
    if isinstance(exc, AssertionError):
        return _Attempt(Status.FAILED, _describe_assertion(exc))
    if isinstance(exc, (ConfigurationError, TargetError)):
        return _Attempt(Status.ERROR, _clip(describe_exception(exc)), configuration=True)
    if isinstance(exc, HookkitError):
        return _Attempt(Status.ERROR, _clip(describe_exception(exc)))
    return _Attempt(Status.ERROR, f"{_clip(describe_exception(exc))}{_where(exc)}")


def _judged(returned: Any, resources: dict[str, Any]) -> _Attempt:
    """What a check's return value, and what its resources say it left unexamined, make of its attempt."""
    if returned is False:
        return _Attempt(Status.FAILED, "the check returned False")
    if inspect.isgenerator(returned) or inspect.isasyncgen(returned):
        return _Attempt(
            Status.ERROR,
            f"the check returned a {type(returned).__name__} object, whose body has not run: it checked nothing. "
            "Write the check as a plain def (or async def) without yield",
        )
    unexamined = [text for value in resources.values() for text in _unexamined(value)]
    if unexamined:
        return _Attempt(
            Status.FAILED,
            "the check never examined a failed call: " + "; ".join(unexamined)
            + ". Call .expect() on the result (function_error=... when a function error is expected, "
            "status=... when an error status is)",
        )
    return _Attempt(Status.PASSED)


class _Overran(Exception):
    """An async check's task was cancelled at the end of its attempt's time."""


def _await(awaitable: Awaitable[Any], timeout: float) -> Any:
    """Run what an async check returned to completion on a new event loop, in this (worker) thread.

    A loop of its own per attempt: nothing leaks from one attempt or check into another, and no
    loop outlives its attempt. The task is cancelled after ``timeout`` seconds; a check that
    swallows the cancellation and returns anyway still overran. asyncio is imported here, on the
    first async check, so ``import hookkit`` stays cheap.
    """
    import asyncio

    async def bounded() -> Any:
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                result = await awaitable
        except TimeoutError:
            if scope.expired():
                raise _Overran from None
            raise  # the check's own TimeoutError: an error like any other
        if scope.expired():
            raise _Overran
        return result

    return asyncio.run(bounded())


def _unexamined(value: Any) -> list[str]:
    """What a provided resource (``target``: function errors, ``api``: 5xx answers) says the check left unchecked."""
    report = getattr(value, "unexamined_failures", None)
    return report() if callable(report) else []


def _describe_assertion(exc: AssertionError) -> str:
    text = _clip(exception_text(exc)) or "assertion failed"  # ``assert "x" in body, body`` may carry megabytes
    return f"{text}{_where(exc)}"


def _where(exc: BaseException) -> str:
    """`` (at file.py:12)`` for the innermost frame of the traceback, to find the failing line."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno})"


def run_phase(
    checks: Sequence[Check],
    phase: Phase,
    *,
    provide: Provider,
    deadline: float,
    max_workers: int = DEFAULT_MAX_WORKERS,
    on_outcome: Callable[[Outcome], None] | None = None,
    around: Around | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_start: Callable[[Check], None] | None = None,
    staged: bool = False,
) -> RunResult:
    """Run one phase's checks and derive the verdict; a phase with no checks fails closed."""
    started = clock()
    if not checks:
        return RunResult.failed(
            phase, f"no checks are registered for {phase}; a hook that checks nothing must not approve a deployment"
        )
    outcomes = run_checks(
        checks, provide=provide, deadline=deadline, max_workers=max_workers, on_outcome=on_outcome,
        around=around, clock=clock, on_start=on_start, staged=staged,
    )
    return RunResult.from_outcomes(phase, outcomes, duration_ms=(clock() - started) * 1000.0)
