"""Strict JSON, as recorded events must be: and a program that checks event files in a process of its own.

:func:`decode` is the one definition of what hookkit accepts in a recorded-event file: UTF-8
(a byte order mark allowed), plain JSON with no ``NaN``/``Infinity``, no duplicate keys and no
number too large for a double. :mod:`.eventfiles` words its errors; this module only decides.

It uses the standard library only, so that it also runs as a program, under the Python that
runs hookkit, in isolated mode (``python -I -S strictjson.py``; see :mod:`.eventcheck`): a CI run
of thousands of recorded events has them checked on another CPU while hookkit's process reads
them. The program reads file paths (``\\0``-separated) on stdin, checks them from the last to the
first, and writes a :data:`VERDICT` for each to stdout: the file's index, whether it is strict
JSON, and the CRC-32 of the bytes it checked (so that hookkit trusts a verdict only for the very
bytes it read itself). It stops at the end of the list, or when hookkit stops reading.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
import zlib
from typing import Any

#: helper to hookkit, per file: its index in the list, 1 if it is strict JSON (else 0), the CRC-32 of its bytes.
VERDICT = struct.Struct(">IBI")
_BOM = b"\xef\xbb\xbf"
_BATCH = 32 * VERDICT.size  # verdicts written at once: hookkit learns of them within a millisecond or so


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
    """``strictjson.py INT_DIGITS RECURSION``: the limits of the Python that asks, which isolated mode resets."""
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(int(argv[1]))
    sys.setrecursionlimit(int(argv[2]))
    paths = sys.stdin.buffer.read().split(b"\0")
    out = sys.stdout.fileno()
    said = bytearray()
    try:
        for index in range(len(paths) - 1, -1, -1):
            try:
                with open(paths[index], "rb") as file:
                    data = file.read()
            except OSError:  # hookkit's own read says why
                said += VERDICT.pack(index, 0, 0)
            else:
                said += VERDICT.pack(index, is_strict(data), zlib.crc32(data))
            if len(said) >= _BATCH or not index:
                os.write(out, said)  # at most PIPE_BUF bytes: written whole
                said.clear()
    except BrokenPipeError:  # hookkit has what it needs
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
