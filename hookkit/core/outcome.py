"""Outcomes of checks and the verdict of a phase, as plain data.

Everything that happens in a run ends up here first; reporting to CodeDeploy, logs, and the CI
reporters all read the same records, so they can never disagree about what happened.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import Difference
from .phases import Phase
from .redact import MAX_DEPTH, TOO_DEEP

#: An outcome's message is cut to this many characters, and each difference's expected and actual
#: value (as JSON text) to :data:`MAX_VALUE_CHARS`: a check failing with a whole response in its
#: message (``assert "x" in body, body``) must cost the hook's process nothing before the report
#: (redacting megabytes of text in Python takes seconds), and no log or report needs more.
MAX_MESSAGE_CHARS = 8192
MAX_VALUE_CHARS = 4096
#: When cutting, the text is cut back to the last whitespace within this many characters, so that no
#: word (a URL, a ``name=value`` pair) is left half there: the redaction that follows sees only
#: whole ones.
_WORD_BACKOFF = 256


def clip_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text``, or its start and ``... (N more characters)`` when it is longer than ``limit``.

    Cut before redacting, this stays safe: what is kept is a prefix made of whole words (a
    partial last word is dropped), and :func:`hookkit.core.redact.redact_text` hides a secret's
    quoted value whose closing quote was cut off along with the rest of its line.
    """
    if len(text) <= limit:
        return text
    cut, start = limit, max(0, limit - _WORD_BACKOFF)
    space = max(text.rfind(" ", start, limit), text.rfind("\n", start, limit))
    if space > 0:
        cut = space
    return f"{text[:cut]}... ({len(text) - cut} more characters)"


def clip_value(value: Any, limit: int = MAX_VALUE_CHARS) -> Any:
    """A difference's value as it is kept: unchanged if small, else its JSON text cut by :func:`clip_text`."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return clip_text(value, limit)
    try:
        text = json.dumps(jsonable(value), default=repr)
    except (ValueError, TypeError, RecursionError):  # a value that cannot even be shown is shown as its type
        return f"[{type(value).__name__} that cannot be shown]"
    return value if len(text) <= limit else clip_text(text, limit)


class Status(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


class Verdict(enum.StrEnum):
    """The only two statuses ``PutLifecycleEventHookExecutionStatus`` accepts from a hook."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Outcome:
    name: str
    phase: Phase
    status: Status
    blocking: bool = True
    attempts: int = 0
    duration_ms: float = 0.0
    message: str = ""
    differences: tuple[Difference, ...] = ()
    #: The check could not run as written (a missing event file, a schema that is not a schema, a
    #: target it needs but was not given): never retried, and a configuration error in CI (exit 2).
    configuration: bool = False

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    def clipped(self) -> Outcome:
        """This outcome with its message and differences' values cut to size (see :func:`clip_text`)."""
        message = clip_text(self.message)
        differences = tuple(Difference(clip_text(d.path, MAX_VALUE_CHARS), clip_value(d.expected),
                                       clip_value(d.actual)) for d in self.differences)
        if message is self.message and all(
            a.path is b.path and a.expected is b.expected and a.actual is b.actual
            for a, b in zip(differences, self.differences, strict=True)
        ):
            return self
        return replace(self, message=message, differences=differences)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "phase": self.phase.value,
            "status": self.status.value,
            "blocking": self.blocking,
            "attempts": self.attempts,
            "durationMs": round(self.duration_ms, 1),
            "message": self.message,
            "configurationError": self.configuration,
            "differences": [
                {"path": d.path, "expected": jsonable(d.expected), "actual": jsonable(d.actual)}
                for d in self.differences
            ],
        }


@dataclass(frozen=True)
class RunResult:
    """A phase's outcomes and the verdict derived from them (see :func:`decide`)."""

    phase: Phase | None
    outcomes: tuple[Outcome, ...] = ()
    verdict: Verdict = Verdict.FAILED
    reason: str = ""
    duration_ms: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def from_outcomes(cls, phase: Phase, outcomes: Iterable[Outcome], duration_ms: float = 0.0) -> RunResult:
        outcomes = tuple(outcomes)
        verdict, reason = decide(outcomes)
        return cls(phase=phase, outcomes=outcomes, verdict=verdict, reason=reason, duration_ms=duration_ms)

    @classmethod
    def failed(cls, phase: Phase | None, reason: str, duration_ms: float = 0.0) -> RunResult:
        """A run that could not get as far as running checks: always ``Failed``, with why."""
        return cls(phase=phase, verdict=Verdict.FAILED, reason=reason, duration_ms=duration_ms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase.value if self.phase else None,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "durationMs": round(self.duration_ms, 1),
            "checks": [o.to_dict() for o in self.outcomes],
        }


def decide(outcomes: Iterable[Outcome]) -> tuple[Verdict, str]:
    """Fail closed: ``Succeeded`` needs at least one blocking check and every blocking check passed.

    A phase with no checks, or only non-blocking ones, proves nothing about the new version, so it
    must not let traffic shift.
    """
    outcomes = list(outcomes)
    if not outcomes:
        return Verdict.FAILED, "no checks ran for this phase (fail closed)"
    blocking = [o for o in outcomes if o.blocking]
    if not blocking:
        return Verdict.FAILED, "no blocking check ran; non-blocking checks alone cannot approve a deployment"
    not_passed = [o for o in blocking if not o.passed]
    if not_passed:
        names = ", ".join(f"{o.name} ({o.status})" for o in not_passed)
        return Verdict.FAILED, f"{len(not_passed)} of {len(blocking)} blocking check(s) did not pass: {names}"
    extra = len(outcomes) - len(blocking)
    tail = f" ({extra} non-blocking reported separately)" if extra else ""
    return Verdict.SUCCEEDED, f"all {len(blocking)} blocking check(s) passed{tail}"


def jsonable(value: Any, depth: int = 0) -> Any:
    """JSON-ready data; containers deeper than ``MAX_DEPTH`` (or cyclic) are cut, so the report never chokes."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple, dict)) and depth >= MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, (list, tuple)):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    return repr(value)
