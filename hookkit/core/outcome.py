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

from .errors import MISSING, Difference
from .phases import Phase
from .redact import MAX_DEPTH, REDACTED, TOO_DEEP, is_secret_path, redact_value

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
    # The result, tail included, fits in ``limit``: cutting it again changes nothing.
    room = max(1, limit - len(f"... ({len(text)} more characters)"))
    cut, start = room, max(0, room - _WORD_BACKOFF)
    space = max(text.rfind(" ", start, room), text.rfind("\n", start, room))
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


#: Values a difference at a secret path still shows, since they say nothing about the secret: that
#: it is missing, null or a boolean, hidden already, or what a schema asked of it (a word hookkit's
#: schema check writes, or a JSON type).
_NOT_SECRET_WORDS = frozenset({REDACTED, repr(MISSING), "required", "no such property (additionalProperties: false)"})
_JSON_TYPES = frozenset({"null", "boolean", "object", "array", "number", "string", "integer"})


def _shown_at_a_secret_path(value: Any) -> bool:
    if value is None or value is MISSING or isinstance(value, bool):
        return True
    if isinstance(value, str):
        return value in _NOT_SECRET_WORDS
    if isinstance(value, dict) and value.keys() == {"type"}:  # a schema's {"type": "integer"}
        types = value["type"]
        return all(isinstance(t, str) and t in _JSON_TYPES for t in (types if isinstance(types, list) else [types]))
    return False


def redact_difference(difference: Difference) -> Difference:
    """A difference as it may leave the process: its values cut to size (:func:`clip_value`), both
    hidden when any segment of its path is a secret name (:func:`hookkit.core.redact.is_secret_path`),
    else with secret-named keys and secret text inside them hidden (:func:`hookkit.core.redact.redact_value`).

    Every :class:`Outcome` applies it to its differences, so whatever made them (``expect``,
    ``target.compare``, a check's own ``ExpectationFailed``, the hook's child process) they reach no
    log or report as they were. It is idempotent.
    """
    path = clip_text(difference.path, MAX_VALUE_CHARS)
    expected, actual = clip_value(difference.expected), clip_value(difference.actual)
    if is_secret_path(path):
        return Difference(path, expected if _shown_at_a_secret_path(expected) else REDACTED,
                          actual if _shown_at_a_secret_path(actual) else REDACTED)
    return Difference(path, redact_value(expected), redact_value(actual))


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

    def __post_init__(self) -> None:
        # The one place every difference passes on its way to a log or report (see redact_difference).
        if self.differences:
            object.__setattr__(self, "differences", tuple(redact_difference(d) for d in self.differences))

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    def clipped(self) -> Outcome:
        """This outcome with its message cut to size (see :func:`clip_text`); its differences were cut
        (and hidden by their path) when it was made."""
        message = clip_text(self.message)
        return self if message is self.message else replace(self, message=message)

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
