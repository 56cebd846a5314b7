"""What the handler knows of a run while it happens, and the result it makes of it however it ends.

The code that imports and runs the checks (in a child process, or in a worker thread) tells a
:class:`Sink` each step as it happens: which stage it is in, the phase, the checks it is about to
run, each attempt that starts and each outcome that settles, and finally the run's result. The
handler keeps a :class:`RunRecord` of those steps, so that when the run is cut short (the deadline
came, the child process died, its messages stopped making sense) every check still gets an outcome
that says why, and the report is made from one place.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..core.outcome import Outcome, RunResult, Status, Verdict
from ..core.phases import Phase
from ..core.runner import AT_DEADLINE


class Stage(enum.StrEnum):
    """Where a run is; what it was doing when it was cut short is in every explanation."""

    STARTING = "starting"
    IMPORTING = "importing"
    DISCOVERING = "discovering"
    RUNNING = "running"


@dataclass(frozen=True)
class Planned:
    """A check the run announced before starting it: enough to give it an outcome if it never reports one."""

    name: str
    blocking: bool = True


class Sink(Protocol):
    """Where the code running the checks tells what happens, as it happens."""

    def stage(self, stage: Stage) -> None: ...

    def phase(self, phase: Phase) -> None: ...

    def announce(self, checks: Sequence[Planned]) -> None: ...

    def start(self, name: str) -> None: ...

    def outcome(self, outcome: Outcome) -> None: ...

    def finish(self, result: RunResult, function: str | None) -> None: ...


@dataclass(frozen=True)
class Ending:
    """How a run was cut short: the hook's deadline came, or (``died``) the run ended on its own
    without finishing (killed by a signal, exited, broke its protocol), which fails it whatever
    its outcomes. ``what`` says so as a clause: "the check process was killed by SIGSEGV"."""

    what: str
    died: bool

    @classmethod
    def deadline(cls) -> Ending:
        return cls("the hook's deadline came", died=False)


def names(items: Sequence[str], limit: int = 5) -> str:
    """```a```, ```a`` and ``b```, ```a``, ``b`` and 3 more``: checks named in one sentence."""
    quoted = [f"`{item}`" for item in items[:limit]]
    if len(items) > limit:
        quoted.append(f"{len(items) - limit} more")
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


class RunRecord:
    """A :class:`Sink` that remembers; thread-safe, and deaf once :meth:`result` has sealed it."""

    def __init__(self, phase: Phase | None, modules: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._sealed = False
        self.clock = clock
        self.started_at = clock()
        self.modules = modules  # how the checks modules are named, for "while importing ..."
        self.current = Stage.STARTING
        self.known_phase = phase
        self.planned: list[Planned] = []
        self.running: set[str] = set()  # checks with an attempt under way
        self.first_started: dict[str, float] = {}
        self.attempts: dict[str, int] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.final: RunResult | None = None
        self.function: str | None = None

    # --- the Sink side -----------------------------------------------------------------------

    def stage(self, stage: Stage) -> None:
        with self._lock:
            if not self._sealed:
                self.current = stage

    def phase(self, phase: Phase) -> None:
        with self._lock:
            if not self._sealed:
                self.known_phase = phase

    def announce(self, checks: Sequence[Planned]) -> None:
        with self._lock:
            if not self._sealed:
                self.planned = list(checks)
                self.current = Stage.RUNNING

    def start(self, name: str) -> None:
        with self._lock:
            if not self._sealed:
                self.running.add(name)
                self.first_started.setdefault(name, self.clock())
                self.attempts[name] = self.attempts.get(name, 0) + 1

    def outcome(self, outcome: Outcome) -> None:
        with self._lock:
            if not self._sealed:
                self.running.discard(outcome.name)
                self.outcomes[outcome.name] = outcome

    def finish(self, result: RunResult, function: str | None) -> None:
        with self._lock:
            if not self._sealed:
                self.final, self.function = result, function

    @property
    def finished(self) -> bool:
        return self.final is not None

    # --- the handler's side ------------------------------------------------------------------

    def result(self, ending: Ending | None) -> tuple[RunResult, list[Outcome]]:
        """The run's result, and the outcomes made up here for checks that never reported one.

        ``ending`` is None when the run finished; otherwise it says how the run was cut short.
        Seals the record: a worker thread still running cannot change what is reported.
        """
        with self._lock:
            self._sealed = True
            if self.final is not None and (ending is None or not ending.died):
                return self.final, []
            ending = ending or Ending("the run ended without a result (a bug in hookkit)", died=True)
            duration_ms = (self.clock() - self.started_at) * 1000.0
            if not self.planned:
                return RunResult.failed(self.known_phase, self._before_checks(ending), duration_ms), []
            return self._cut_short(ending, duration_ms)

    def _before_checks(self, ending: Ending) -> str:
        if ending.died:
            doing = {
                Stage.STARTING: "before importing the checks",
                Stage.IMPORTING: f"while importing the checks ({self.modules})",
                Stage.DISCOVERING: "while discovering which lifecycle event this hook runs for",
            }.get(self.current, "before running the checks")
            return f"{ending.what} {doing}"
        if self.current is Stage.DISCOVERING:
            return (
                "the hook's deadline came while discovering which lifecycle event this hook runs for (CodeDeploy's "
                "read calls did not answer in time); set HOOKKIT_PHASE on the hook function so no discovery is needed"
            )
        if self.current is Stage.IMPORTING:
            return (
                f"the hook's deadline came while importing the checks ({self.modules}); a checks module must not "
                "wait on the network or loop when imported (do such work inside a check, which has a timeout)"
            )
        return "the hook's deadline came before the checks could be imported"

    def _cut_short(self, ending: Ending, duration_ms: float) -> tuple[RunResult, list[Outcome]]:
        phase = self.known_phase or Phase.BEFORE_ALLOW_TRAFFIC  # announced checks always follow a known phase
        running = [p.name for p in self.planned if p.name in self.running]
        if ending.died:
            sentence = ending.what
            if running:
                sentence += f" while {names(running)} {'was' if len(running) == 1 else 'were'} running"
            in_flight, not_started = (Status.ERROR, sentence), (Status.SKIPPED, f"not started: {sentence}")
        else:
            in_flight, not_started = (Status.TIMED_OUT, AT_DEADLINE), (
                Status.SKIPPED, "not started: the hook's deadline came first")
        made: list[Outcome] = []
        outcomes: list[Outcome] = []
        now = self.clock()
        for planned in self.planned:
            outcome = self.outcomes.get(planned.name)
            if outcome is None:
                started = self.first_started.get(planned.name)
                status, message = in_flight if planned.name in self.running else not_started
                outcome = Outcome(name=planned.name, phase=phase, status=status, blocking=planned.blocking,
                                  attempts=self.attempts.get(planned.name, 0), message=message,
                                  duration_ms=(now - started) * 1000.0 if started is not None else 0.0)
                made.append(outcome)
            outcomes.append(outcome)
        result = RunResult.from_outcomes(phase, outcomes, duration_ms=duration_ms)
        if ending.died:  # whatever passed, a process that died mid-run proves nothing
            result = RunResult(phase=phase, outcomes=result.outcomes, verdict=Verdict.FAILED,
                               reason=f"{sentence}; {result.reason}", duration_ms=duration_ms)
        return result, made
