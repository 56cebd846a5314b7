"""One shallow exception tree with a single root.

Every error hookkit raises on purpose derives from :class:`HookkitError`, so a caller (the CLI,
the Lambda handler, a user's own code) can tell "hookkit refused this input, the message says
what to do" from "something crashed". Errors carry their data as attributes, not only as text,
so reporters can render them without parsing messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple


def describe(value: Any) -> str:
    """A value as an error message shows it: its type and a short ``repr`` (``str '200'``, ``list []``).

    Messages quote what was found so the fix is obvious, but never echo a whole document back.
    """
    if value is None:
        return "nothing"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def exception_text(exc: BaseException) -> str:
    """``str(exc)``, never raising: an exception's ``__str__`` is user code and may itself fail.

    Falls back to ``repr(exc)``, then to a sentence naming the type, so whatever a check raises can
    be described (and a worker thread describing it never dies of it).
    """
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - any failure of user code here is answered with the next best text
        try:
            return f"(its str() failed) {exc!r}"
        except Exception:  # noqa: BLE001 - as above
            return f"(a {type(exc).__name__} whose str() and repr() both failed)"


def describe_exception(exc: BaseException) -> str:
    """``TypeName: text``, as a traceback's last line shows it, never raising (see :func:`exception_text`)."""
    return f"{type(exc).__name__}: {exception_text(exc)}"


class HookkitError(Exception):
    """Root of every error hookkit raises deliberately."""


class RegistrationError(HookkitError):
    """A check was declared wrongly; raised at import time, never at deploy time."""


class ConfigurationError(HookkitError):
    """The environment, a file or an argument is missing or malformed; the message names the fix."""


class EventError(HookkitError):
    """The hook event cannot be used (so it cannot even be reported on)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DiscoveryError(HookkitError):
    """The deployment's target could not be found; ``attempts`` lists each step and its result."""

    def __init__(self, message: str, attempts: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.attempts = list(attempts)


class InvokeError(HookkitError):
    """Invoking a function failed before it could answer (throttled out, not found, timed out)."""


class TargetError(HookkitError):
    """A check asked for something the deployment's target cannot give (e.g. an unsafe qualifier)."""


class ReportError(HookkitError):
    """The status report to CodeDeploy could not be made; raised so Lambda retries the delivery."""


class _Missing:
    """The value on the side of a difference where the path does not exist.

    It renders as ``<missing>`` so a report reads ``/id: expected 'A-1', got <missing>``, which
    ``None`` could not say (``null`` is a real JSON value).
    """

    def __repr__(self) -> str:
        return "<missing>"

    __str__ = __repr__

    def __reduce__(self) -> str:
        # Copies (copy.deepcopy, pickle) come back as this same sentinel.
        return "MISSING"


MISSING: Final = _Missing()


class Difference(NamedTuple):
    """One way an observed response differs from what a check expected.

    ``path`` is a JSON pointer into the decoded body (``/items/0/price``; ``""`` is the whole
    body), or one of the fixed names ``status``, ``duration_ms``, ``function_error`` and ``body``
    for what is not inside it, so a report points at the exact place.
    """

    path: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.path or '(body)'}: expected {self.expected!r}, got {self.actual!r}"


class ExpectationFailed(HookkitError, AssertionError):
    """A response did not meet a check's expectations.

    It is an ``AssertionError`` too, so plain ``assert``-style handling (pytest, the runner's
    "failed" outcome) treats it as a failed check rather than a crash. ``detail`` is shown after
    the differences: what the response was, to diagnose the failure from a log alone.
    """

    def __init__(self, subject: str, differences: Sequence[Difference], *, detail: str = "") -> None:
        self.subject = subject
        self.differences = list(differences)
        self.detail = detail
        super().__init__(self.text_with(self.differences))

    def text_with(self, differences: Sequence[Difference]) -> str:
        """This failure's text with ``differences`` in place of its own: the runner shows a failure
        with its differences as they may leave the process (hidden by their path), not as raised."""
        lines = "".join(f"\n  - {d}" for d in differences) + (f"\n{self.detail}" if self.detail else "")
        return f"{self.subject}: {len(differences)} difference(s){lines}"
