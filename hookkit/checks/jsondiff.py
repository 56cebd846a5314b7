"""Structural differences between two JSON values, addressed by JSON pointers (RFC 6901).

Version parity (``target.compare``) asks "does the new version answer like the old one?". A
plain ``==`` says only yes or no; a report needs *where* they part. Differences come back as
:class:`hookkit.core.errors.Difference` data, in a deterministic order (object keys sorted, array
items by index), so two runs over the same values produce the same report.

Comparison follows JSON, not Python: ``true`` is not ``1``, ``1`` equals ``1.0``, and arrays of
different lengths report each missing or extra item at its index with :data:`MISSING` on the
side that lacks it.

The pointer helpers here (:func:`to_pointer`, :func:`split_pointer`, :func:`lookup`) are shared
with ``hookkit.checks.expect`` so both speak the same addresses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core.errors import MISSING, ConfigurationError, Difference

__all__ = ["MISSING", "diff", "lookup", "split_pointer", "to_pointer"]



_BAD_ESCAPE = re.compile(r"~(?![01])")


def to_pointer(segments: Iterable[str | int]) -> str:
    """Join path segments into a JSON pointer, escaping ``~`` and ``/`` inside keys."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in segments)


def split_pointer(pointer: str, *, what: str = "JSON pointer") -> list[str]:
    """Split a JSON pointer into unescaped segments; ``""`` is the whole document.

    ``what`` names the input in the error (``ignore``, ``fields key``...) so the message points
    at the argument the user wrote.
    """
    if not isinstance(pointer, str):
        raise ConfigurationError(f"{what} {pointer!r} is not a string; write a JSON pointer like '/items/0/id'")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ConfigurationError(
            f"{what} {pointer!r} is not a JSON pointer: it must start with '/' (or be '' for the "
            "whole document), e.g. '/items/0/id'"
        )
    segments = pointer[1:].split("/")
    for segment in segments:
        if _BAD_ESCAPE.search(segment):
            raise ConfigurationError(
                f"{what} {pointer!r}: '~' must be escaped as '~0' ('/' inside a key as '~1')"
            )
    return [s.replace("~1", "/").replace("~0", "~") for s in segments]


def lookup(value: Any, segments: Sequence[str]) -> Any:
    """The value at ``segments`` inside ``value``, or :data:`MISSING` when the path does not exist.

    A segment addresses an array item only when it is a plain decimal index within bounds
    (``"01"`` and ``"-"`` do not, as RFC 6901 says).
    """
    for segment in segments:
        if isinstance(value, Mapping):
            if segment not in value:
                return MISSING
            value = value[segment]
        elif _is_array(value):
            if not _is_index(segment) or int(segment) >= len(value):
                return MISSING
            value = value[int(segment)]
        else:
            return MISSING
    return value


def diff(expected: Any, actual: Any, *, ignore: Iterable[str] = ()) -> list[Difference]:
    """Every place where ``actual`` differs from ``expected``, as JSON-pointer differences.

    ``ignore`` holds JSON pointers to skip, with everything under them; a segment ``*`` matches
    any key or index (``"/items/*/createdAt"``), which is how volatile fields such as timestamps
    and request ids are left out of a parity check. A single string is taken as one pointer.
    """
    patterns = _ignore_patterns(ignore)
    found: list[Difference] = []
    _walk(expected, actual, [], patterns, found)
    return found


def _ignore_patterns(ignore: Iterable[str]) -> list[list[str]]:
    if isinstance(ignore, str):
        ignore = [ignore]
    return [split_pointer(p, what="ignore") for p in ignore]


def _ignored(path: list[str], patterns: list[list[str]]) -> bool:
    return any(
        len(p) <= len(path) and all(seg == "*" or seg == part for seg, part in zip(p, path, strict=False))
        for p in patterns
    )


def _walk(expected: Any, actual: Any, path: list[str], patterns: list[list[str]], found: list[Difference]) -> None:
    if patterns and _ignored(path, patterns):
        return
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        # Keys as strings: Python callers may pass {1: ...}, which JSON would have made "1".
        left = {str(k): v for k, v in expected.items()}
        right = {str(k): v for k, v in actual.items()}
        for key in sorted(left.keys() | right.keys()):
            _walk(left.get(key, MISSING), right.get(key, MISSING), [*path, key], patterns, found)
    elif _is_array(expected) and _is_array(actual):
        for index in range(max(len(expected), len(actual))):
            _walk(
                expected[index] if index < len(expected) else MISSING,
                actual[index] if index < len(actual) else MISSING,
                [*path, str(index)],
                patterns,
                found,
            )
    elif not _leaf_equal(expected, actual):
        found.append(Difference(to_pointer(path), expected, actual))


def _leaf_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and bool(a == b)
    if _is_number(a) and _is_number(b):
        return bool(a == b) or (a != a and b != b)  # NaN equals NaN here
    return a is b or bool(a == b)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_array(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _is_index(segment: str) -> bool:
    return segment.isascii() and segment.isdigit() and (segment == "0" or not segment.startswith("0"))
