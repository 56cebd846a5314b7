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

import contextlib
import contextvars
import heapq
import inspect
import itertools
import queue
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError, Difference, ExpectationFailed, HookkitError, TargetError
from .outcome import Outcome, RunResult, Status
from .phases import Phase
from .redact import redact_text
from .registry import Check

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


@dataclass
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
) -> list[Outcome]:
    """Run ``checks`` and return one outcome per check, in the order given.

    ``deadline`` is a ``clock()`` instant; at that instant unfinished checks are recorded as
    timed out and checks not yet started as skipped, and the function returns. ``on_start`` and
    ``on_outcome`` are called in the caller's thread as each attempt starts and each check settles
    (the hook's supervisor learns from them which checks were running if the process dies).
    """
    run = _Run(checks, provide=provide, deadline=deadline, max_workers=max_workers, on_outcome=on_outcome,
               around=around, clock=clock, on_start=on_start)
    return run.run()


class _Run:
    """The bookkeeping of one :func:`run_checks` call, owned by the caller's thread alone.

    Checks wait (in declaration order), run (at most ``max_workers`` at once), wait for a retry,
    or are finished; workers only ever hand results back through ``results``.
    """

    def __init__(
        self, checks: Sequence[Check], *, provide: Provider, deadline: float, max_workers: int,
        on_outcome: Callable[[Outcome], None] | None, around: Around | None, clock: Callable[[], float],
        on_start: Callable[[Check], None] | None = None,
    ) -> None:
        self.states = [_CheckState(check) for check in checks]
        self.provide, self.deadline, self.max_workers = provide, deadline, max_workers
        self.on_outcome, self.around, self.clock = on_outcome, around, clock
        self.stray: list[tuple[float, str]] = []  # exceptions that ended a thread a check started itself
        self.waiting = self.states[::-1]  # a stack: pop() takes the next in declaration order
        self.retries: list[tuple[float, int, _CheckState]] = []
        self.running: dict[int, _CheckState] = {}
        self.results: queue.SimpleQueue[tuple[int, _Attempt]] = queue.SimpleQueue()
        self.tokens = itertools.count()
        self.on_start = on_start

    def run(self) -> list[Outcome]:
        with _stray_exceptions(self.stray, self.clock):
            while self.clock() < self.deadline and self._start_ready():
                self._wait_for_a_result()
                self._expire_overdue()
        self._close(self.clock())
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
        if self.on_start is not None:
            self.on_start(state.check)
        _POOL.submit(state.check, self.provide, self.around, max(0.0, state.deadline - now), state.token, self.results)

    def _wait_for_a_result(self) -> None:
        """Block until an attempt ends, a running one is overdue, a retry is due, or the deadline."""
        wake = min([self.deadline, *(s.deadline for s in self.running.values()), *(r[0] for r in self.retries[:1])])
        try:
            token, attempt = self.results.get(timeout=max(0.0, wake - self.clock()))
        except queue.Empty:
            return
        state = self.running.pop(token, None)
        if state is not None:  # else: a result from an attempt already given up as timed out
            if attempt.status is Status.TIMED_OUT:  # an async check cancelled at its time: say which limit
                attempt = _timed_out(state, self.deadline)
            self._finish(state, attempt, self.clock())

    def _expire_overdue(self) -> None:
        now = self.clock()
        for token, state in list(self.running.items()):
            if now >= state.deadline:
                del self.running[token]
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
        text = f"{args.exc_type.__name__}: {args.exc_value} (in thread {name})"
        for sink, clock in list(_stray_sinks.values()):
            sink.append((clock(), text))
    (_previous_excepthook or threading.__excepthook__)(args)


def _timed_out(state: _CheckState, deadline: float) -> _Attempt:
    if state.deadline >= deadline:
        return _Attempt(Status.TIMED_OUT, AT_DEADLINE)
    return _Attempt(Status.TIMED_OUT, f"did not finish within its timeout of {state.check.options.timeout:g} s")


def _outcome(state: _CheckState, now: float) -> Outcome:
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
    )


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
        self, check: Check, provide: Provider, around: Around | None, timeout: float, token: int,
        results: queue.SimpleQueue[tuple[int, _Attempt]],
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
            # a fresh context per attempt, as a thread of its own would start with
            attempt = contextvars.Context().run(_attempt, check, provide, timeout, around)
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
        return _Attempt(Status.ERROR, f"hookkit instrumentation failed: {type(exc).__name__}: {exc}")


def call_check(check: Check, provide: Provider, timeout: float) -> _Attempt:
    """Call one check once and classify what happened; catches everything, even ``SystemExit``."""
    try:
        kwargs = {name: provide(name, check, timeout) for name in check.params}
        returned = check.func(**kwargs)
        if inspect.isawaitable(returned):
            returned = _await(returned, timeout)
    except _Overran:
        return _Attempt(Status.TIMED_OUT, f"did not finish within {timeout:g} s; its task was cancelled")
    except ExpectationFailed as exc:
        return _Attempt(Status.FAILED, str(exc), tuple(exc.differences))
    except AssertionError as exc:
        return _Attempt(Status.FAILED, _describe_assertion(exc))
    except (ConfigurationError, TargetError) as exc:
        return _Attempt(Status.ERROR, f"{type(exc).__name__}: {exc}", configuration=True)
    except HookkitError as exc:
        return _Attempt(Status.ERROR, f"{type(exc).__name__}: {exc}")
    except BaseException as exc:  # noqa: BLE001 - a check must never take the hook down with it
        return _Attempt(Status.ERROR, f"{type(exc).__name__}: {exc}{_where(exc)}")
    if returned is False:
        return _Attempt(Status.FAILED, "the check returned False")
    if inspect.isgenerator(returned) or inspect.isasyncgen(returned):
        return _Attempt(
            Status.ERROR,
            f"the check returned a {type(returned).__name__} object, whose body has not run: it checked nothing. "
            "Write the check as a plain def (or async def) without yield",
        )
    unexamined = [text for value in kwargs.values() for text in _unexamined(value)]
    if unexamined:
        return _Attempt(
            Status.FAILED,
            "the function raised and the check never examined it: " + "; ".join(unexamined)
            + ". Call .expect() on the result (function_error=... when an error is expected)",
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
    """What a provided resource (``target``) says the check left unchecked."""
    report = getattr(value, "unexamined_failures", None)
    return report() if callable(report) else []


def _describe_assertion(exc: AssertionError) -> str:
    text = str(exc) or "assertion failed"
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
) -> RunResult:
    """Run one phase's checks and derive the verdict; a phase with no checks fails closed."""
    started = clock()
    if not checks:
        return RunResult.failed(
            phase, f"no checks are registered for {phase}; a hook that checks nothing must not approve a deployment"
        )
    outcomes = run_checks(
        checks, provide=provide, deadline=deadline, max_workers=max_workers, on_outcome=on_outcome,
        around=around, clock=clock, on_start=on_start,
    )
    return RunResult.from_outcomes(phase, outcomes, duration_ms=(clock() - started) * 1000.0)
