"""Strict JSON, as recorded events must be, and a program that reads event files in a process of its own.

:func:`decode` is the one definition of what hookkit accepts in a recorded-event file: UTF-8
(a byte order mark allowed), plain JSON with no ``NaN``/``Infinity``, no duplicate keys and no
number too large for a double. :mod:`.eventfiles` words its errors; this module only decides.

It uses the standard library only, so that it also runs as a program, under the Python that
runs hookkit, in isolated mode (``python -I -S strictjson.py``; see :mod:`.eventcheck`): a CI run
of thousands of recorded events has part of them read and checked on another CPU while hookkit's
process reads the others. The program reads, on stdin, each event file's path and its expect
file's (empty when it has none), all ``\\0``-separated; it reads them from the last to the first
and writes a :data:`FILES` header to stdout for each, followed by the bytes it read: the event
file's when it is strict JSON, and then its expect file's. A file it cannot read, or an event it
refuses, it sends no bytes for: hookkit reads that one itself, and words the error. It stops at
the end of the list, or when hookkit stops reading.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
from typing import Any

#: helper to hookkit, per event: its index in the list, :data:`STRICT` and :data:`EXPECT` flags, and the
#: lengths of the bytes that follow (the event's, then its expect file's).
FILES = struct.Struct(">IBII")
STRICT, EXPECT = 1, 2
_BOM = b"\xef\xbb\xbf"
_BATCH = 16384  # bytes written at once: hookkit learns of a few events at a time


class Refused(ValueError):
    """Input Python's ``json`` reads but standard JSON does not allow; the message says what and the fix."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise Refused(
                    f"duplicate key {key!r} in one object; keep only one (JSON readers disagree on which one wins)"
                )
            seen.add(key)
    return result


def _no_constant(name: str) -> Any:
    raise Refused(f"{name} is not JSON; use null, a number or a string")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses to inf, which JSON cannot write back
        raise Refused(f"number {text} is too large for a double; write it as a string")
    return value


_STRICT = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_finite_float)


def decode(data: bytes) -> Any:
    """The JSON value of ``data``, read strictly.

    Raises ``UnicodeDecodeError`` (not UTF-8), ``json.JSONDecodeError`` (not JSON), :class:`Refused`
    (not standard JSON), ``RecursionError`` (nested too deeply) or ``ValueError`` (an integer past
    Python's digit limit).
    """
    return _STRICT.decode(data.removeprefix(_BOM).decode())  # the C codec: "utf-8-sig" runs Python code


def is_strict(data: bytes) -> bool:
    """Whether :func:`decode` accepts ``data``."""
    try:
        decode(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return False
    return True


def main(argv: list[str]) -> int:
    """``strictjson.py INT_DIGITS RECURSION MAX_EVENT_BYTES``: the limits of the Python that asks (isolated
    mode resets them), and the largest event hookkit takes."""
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(int(argv[1]))
    sys.setrecursionlimit(int(argv[2]))
    max_bytes = int(argv[3])
    paths = sys.stdin.buffer.read().split(b"\0")
    out = sys.stdout.fileno()
    said = bytearray()
    try:
        for index in range(len(paths) // 2 - 1, -1, -1):
            said += _files(index, paths[2 * index], paths[2 * index + 1], max_bytes)
            if len(said) >= _BATCH or not index:
                view = memoryview(said)
                while view:
                    view = view[os.write(out, view):]
                said = bytearray()
    except BrokenPipeError:  # hookkit has what it needs
        os._exit(0)
    return 0


def _files(index: int, event_path: bytes, expect_path: bytes, max_bytes: int) -> bytes:
    """One event's header and bytes: none when hookkit must read it itself (to word what is wrong)."""
    try:
        event = _read(event_path)
        expect = _read(expect_path) if expect_path else b""
    except OSError:
        return FILES.pack(index, 0, 0, 0)
    if len(event) > max_bytes or not is_strict(event):
        return FILES.pack(index, 0, 0, 0)
    flags = STRICT | (EXPECT if expect_path else 0)
    return FILES.pack(index, flags, len(event), len(expect)) + event + expect


def _read(path: bytes) -> bytes:
    with open(path, "rb") as file:
        return file.read()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
