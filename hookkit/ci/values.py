"""Option values, checked the same way for ``hookkit run`` and ``pytest --hookkit``.

Each function returns the value or raises a ConfigurationError saying what to write instead, so
a bad value is refused before anything runs (``--deadline -1`` would otherwise skip every check,
``--api localhost:3000`` fail every smoke call).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from urllib.parse import urlsplit

from ..core.errors import ConfigurationError
from .wiring import DEFAULT_DEADLINE, LOCAL_API


def api(text: str) -> str:
    """An http(s) base URL, or ``local`` (``local:API``: one API of the template, by logical id)."""
    if text == LOCAL_API or (text.startswith(f"{LOCAL_API}:") and text[len(LOCAL_API) + 1:].strip()):
        return text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{text!r} is not a URL: write the API's base URL with its scheme (e.g. http://localhost:3000 or "
            "https://abc123.execute-api.eu-west-1.amazonaws.com/Prod), or 'local' (local:API for one API of "
            "the template) to serve smoke calls from a local target"
        )
    return text


def workers(text: str) -> int:
    """``--workers``: how many checks run at once."""
    return _count(text, "how many checks may run at once")


def concurrency(text: str) -> int:
    """``--concurrency``: how many execution environments a local target's function may have at once."""
    return _count(text, "how many execution environments a local function may have at once")


def _count(text: str, what: str) -> int:
    """A whole number of at least 1; ``what`` says what it counts."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(f"{text!r}: pass {what}, a whole number >= 1")
    return value


def deadline(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(
            f"{text!r}: pass the seconds the whole run may take, more than 0 (default {DEFAULT_DEADLINE:g})"
        )
    return value


def parameters(pairs: Iterable[str], *, source: str = "--parameter") -> dict[str, str]:
    """``KEY=VALUE`` pairs: template parameters of a local target."""
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(f"{source} {pair!r}: write it as KEY=VALUE, e.g. {source} Stage=dev")
        found[key.strip()] = value
    return found
