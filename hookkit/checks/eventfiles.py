"""Recorded events and their expectations, read from a folder of untrusted JSON files.

CI replays a folder of recorded events against the function::

    events/
      create_order.json          the event, exactly as the function receives it
      create_order.expect.json   optional: {"status": 201, "schema": "schemas/order.json"}

Files are data, never code: they are read with the ``json`` module only (no eval, pickle or
YAML tags), strictly (no ``NaN``/``Infinity``, no duplicate keys, UTF-8), and every problem is a
:class:`~hookkit.core.errors.ConfigurationError` naming the file, the line and column when the JSON
itself is broken, and the fix. No input escapes as a bare ``ValueError`` or ``RecursionError``.

:class:`ExpectSpec` is also where the keywords of ``hookkit.checks.expect.differences`` are checked,
so a check written in Python and an ``.expect.json`` file obey one set of rules. A relative
``schema`` path in an expect file is relative to that file's folder, like a link in a web page.
"""

from __future__ import annotations

import codecs
import difflib
import functools
import json
import math
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import Any

from ..core.errors import ConfigurationError, describe
from . import strictjson
from .jsondiff import split_pointer, to_pointer

__all__ = [
    "EVENT_SUFFIX",
    "EXPECT_KEYS",
    "EXPECT_SUFFIX",
    "MAX_EVENT_BYTES",
    "NO_EXPECTATIONS",
    "ExpectSpec",
    "discover_events",
    "event_payload",
    "is_http_status",
    "list_events",
    "load_event",
    "load_expect",
    "load_json",
    "missing_file_hint",
]

# Lambda refuses a synchronous invoke whose request payload exceeds 6 MB, so a bigger recorded
# event could never reach the deployed version; say so instead of reading it.
MAX_EVENT_BYTES = 6 * 1024 * 1024

EVENT_SUFFIX = ".json"
EXPECT_SUFFIX = ".expect.json"


@dataclass(frozen=True)
class ExpectSpec:
    """The keywords of ``differences()``, checked and normalised; every one is optional.

    Build it with :meth:`of`, which checks what a user wrote: ``status`` becomes an ``int``, a
    ``range`` or a sorted tuple; ``schema`` a mapping or a ``Path``; ``fields`` keys become JSON
    pointers (``"order.status"`` -> ``"/order/status"``). A bad value is a ConfigurationError
    naming the keyword.
    """

    status: int | range | tuple[int, ...] | None = None
    schema: Mapping[str, Any] | Path | None = None
    fields: Mapping[str, Any] | None = None
    within_ms: float | None = None
    function_error: str | bool | None = None

    @classmethod
    def of(
        cls,
        *,
        status: int | Collection[int] | None = None,
        schema: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        fields: Mapping[str, Any] | None = None,
        within_ms: float | None = None,
        function_error: str | bool | None = None,
    ) -> ExpectSpec:
        """The expectations as written in a check or an expect file, checked and normalised."""
        return cls(
            status=_check_status(status),
            schema=_check_schema(schema),
            fields=_check_fields(fields),
            within_ms=_check_within(within_ms),
            function_error=_check_function_error(function_error),
        )

    def keywords(self) -> dict[str, Any]:
        """Only the keywords that were set, ready for ``differences(observed, **spec.keywords())``."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


EXPECT_KEYS: tuple[str, ...] = tuple(f.name for f in fields(ExpectSpec))
#: No expect file: the function must only answer without raising.
NO_EXPECTATIONS = ExpectSpec()


def load_json(path: str | os.PathLike[str], *, what: str = "file", max_bytes: int | None = None) -> Any:
    """Read one strict JSON document; ``what`` names the kind of file in errors."""
    where = f"{what} {os.fspath(path)}"
    return _parse(_read(path, where, max_bytes), where)


def _parse(data: bytes, where: str) -> Any:
    try:
        return strictjson.decode(data)
    except UnicodeDecodeError as exc:
        body = data.removeprefix(codecs.BOM_UTF8)
        line, column = _byte_position(body, exc.start)
        raise ConfigurationError(
            f"{where}: line {line}, column {column}: not UTF-8 (byte 0x{body[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{where}: line {exc.lineno}, column {exc.colno}: {exc.msg}; fix the JSON syntax "
            "(plain JSON only: no comments, trailing commas or single quotes)"
        ) from None
    except strictjson.Refused as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    except RecursionError:
        raise ConfigurationError(f"{where}: nested too deeply to read; flatten the document") from None
    except ValueError as exc:  # e.g. an integer longer than Python's 4300-digit limit
        raise ConfigurationError(f"{where}: {exc}; write such values as strings") from None


def load_event(path: str | os.PathLike[str]) -> Any:
    """A recorded event: any JSON value, at most Lambda's 6 MB synchronous payload."""
    return load_json(path, what="event", max_bytes=MAX_EVENT_BYTES)


def event_payload(path: str | os.PathLike[str]) -> bytes:
    """A recorded event as the bytes to invoke with: the file itself, once it has been read strictly.

    The bytes are the file's (less a UTF-8 byte order mark), which carry the same JSON value
    that :func:`load_event` returns.
    """
    where = f"event {os.fspath(path)}"
    data = _read(path, where, MAX_EVENT_BYTES)
    _parse(data, where)
    return payload_of(data)


def payload_of(data: bytes) -> bytes:
    """The bytes to invoke with, of an event file's bytes known to be strict JSON: less a byte order mark."""
    return data.removeprefix(codecs.BOM_UTF8)


def load_expect(path: str | os.PathLike[str], *, data: bytes | None = None) -> ExpectSpec:
    """An ``NAME.expect.json`` file (``data``: its bytes, when read already): a JSON object whose keys
    are ``differences()`` keywords.

    The expect files of a replay mostly hold the same few documents; one already read in the same
    folder (where its relative schema path starts) is not parsed and checked again.
    """
    where = f"expect file {os.fspath(path)}"
    if data is None:
        data = _read(path, where, None)
    text = os.fspath(path)
    key = (os.path.dirname(text if os.path.isabs(text) else os.path.abspath(text)), data)
    spec = _expect_files.get(key)
    if spec is None:
        spec = _load_expect(data, path, where)
        if len(_expect_files) < _EXPECT_FILES:
            _expect_files[key] = spec
    return spec


_EXPECT_FILES = 1024
_expect_files: dict[tuple[str, bytes], ExpectSpec] = {}  # (folder, the file's bytes): its spec


def _load_expect(raw: bytes, path: str | os.PathLike[str], where: str) -> ExpectSpec:
    data = _parse(raw, where)
    if not isinstance(data, dict):
        raise ConfigurationError(
            f'{where}: expected a JSON object such as {{"status": 200}}, got {describe(data)}'
        )
    for key, value in data.items():
        if key not in EXPECT_KEYS:
            close = difflib.get_close_matches(key, EXPECT_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigurationError(
                f"{where}: unknown key {key!r}{hint}; allowed keys: {', '.join(EXPECT_KEYS)}"
            )
        if value is None:
            raise ConfigurationError(f"{where}: {key} is null; remove the key to skip that check")
    schema = data.get("schema")
    if isinstance(schema, str) and schema.strip():  # relative to this file, like a link
        data["schema"] = _relative_schema(os.path.dirname(os.path.abspath(path)), schema)
    try:
        return ExpectSpec.of(**data)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


@functools.lru_cache(maxsize=256)
def _relative_schema(folder: str, schema: str) -> Path:
    """One Path for every expect file of a folder naming one schema (a replay reads thousands)."""
    return Path(folder, schema)


def discover_events(folder: str | os.PathLike[str]) -> list[tuple[str, Path, Path | None]]:
    """``(name, event path, expect path or None)`` for each ``NAME.json``, sorted by name.

    Dot-files (editor backups) and sub-folders are skipped. An ``.expect.json`` without its
    event is an error: it is almost always a typo that would silently drop a check.
    """
    root = Path(folder)
    return [
        (name, root / f"{name}{EVENT_SUFFIX}", root / f"{name}{EXPECT_SUFFIX}" if has_expect else None)
        for name, has_expect in list_events(root)
    ]


def list_events(folder: str | os.PathLike[str]) -> list[tuple[str, bool]]:
    """:func:`discover_events` as ``(name, whether it has an expect file)``, without a Path per file."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigurationError(
            f"events folder {root} does not exist or is not a folder; create it with one "
            "NAME.json per recorded event (and optional NAME.expect.json), or pass the right path"
        )
    events: set[str] = set()
    expects: set[str] = set()
    try:
        with os.scandir(root) as listing:  # file types from the listing: no stat per file
            names = [e.name for e in listing if not e.name.startswith(".") and e.is_file()]
    except OSError as exc:
        raise ConfigurationError(f"events folder {root}: cannot list it ({exc.strerror})") from None
    for name in names:
        if name.endswith(EXPECT_SUFFIX):
            expects.add(name[: -len(EXPECT_SUFFIX)])
        elif name.endswith(EVENT_SUFFIX):
            events.add(name[: -len(EVENT_SUFFIX)])
    orphans = sorted(expects - events)
    if orphans:
        shown = ", ".join(f"{o}{EXPECT_SUFFIX}" for o in orphans)
        raise ConfigurationError(
            f"events folder {root}: {shown} has no event file ({orphans[0]}.json); "
            "rename it to match its event or remove it"
        )
    if not events:
        raise ConfigurationError(
            f"events folder {root} has no NAME.json event files; record at least one event there"
        )
    return [(name, name in expects) for name in sorted(events)]


def _read(path: str | os.PathLike[str], where: str, max_bytes: int | None) -> bytes:
    """The file's bytes.

    Plain ``os`` calls rather than ``open()``: a CI replay reads thousands of recorded events and
    their expect files, and a buffered file object costs more than reading a small file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise ConfigurationError(f"{where} not found; {missing_file_hint(path)}") from None
    except IsADirectoryError:
        raise ConfigurationError(f"{where} is a folder; name a JSON file") from None
    except OSError as exc:
        raise ConfigurationError(f"{where}: cannot read it ({exc.strerror}); check its permissions") from None
    try:
        stat = os.fstat(fd)
        if S_ISDIR(stat.st_mode):
            raise ConfigurationError(f"{where} is a folder; name a JSON file")
        data = _read_all(fd, stat.st_size if S_ISREG(stat.st_mode) else None, max_bytes)
    except OSError as exc:
        raise ConfigurationError(f"{where}: cannot read it ({exc.strerror}); check its permissions") from None
    finally:
        os.close(fd)
    if max_bytes is not None and len(data) > max_bytes:
        raise ConfigurationError(
            f"{where} is larger than {max_bytes} bytes, more than Lambda accepts in one "
            "synchronous invoke; record a smaller event"
        )
    return data


def _read_all(fd: int, size: int | None, max_bytes: int | None) -> bytes:
    """To the end of a regular file (``size`` known); at most ``max_bytes + 1`` of anything else.

    A regular file is read in one call when its size holds: a read that returns less than it
    asked for has met the end of the file (Linux and macOS read regular files in full).
    """
    limit = None if size is not None or max_bytes is None else max_bytes + 1
    chunks, total = [], 0
    while limit is None or total < limit:
        want = size + 1 if size else 65536
        chunk = os.read(fd, want if limit is None else min(want, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if size and len(chunk) < want:  # the whole regular file: no second read to learn that it ended
            break
        size = None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def missing_file_hint(path: str | os.PathLike[str]) -> str:
    """How to fix a path that names no file: a close name in its folder, or the folder it is missing from.

    Only for error messages: it lists the folder.
    """
    given = Path(path)
    folder = given.parent if given.is_absolute() else Path.cwd() / given.parent
    relative = "" if given.is_absolute() else f" (relative paths start at {Path.cwd()})"
    try:
        with os.scandir(folder) as listing:
            names = [entry.name for entry in listing]
    except OSError:
        return f"its folder {folder} does not exist either; check the path{relative}"
    close = difflib.get_close_matches(given.name, names, n=1)
    return (f"did you mean {close[0]!r}? " if close else "") + f"check the file name and folder{relative}"


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def is_http_status(value: Any) -> bool:
    """An ``int`` (not a ``bool``) from 100 to 599: what HTTP, and API Gateway, accept as a status."""
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


def _check_status(value: Any) -> int | range | tuple[int, ...] | None:
    if value is None:
        return None
    if is_http_status(value):
        return int(value)
    if isinstance(value, range) and len(value) and is_http_status(value[0]) and is_http_status(value[-1]):
        return value
    if isinstance(value, Collection) and not isinstance(value, (str, bytes, Mapping, range)):
        items = list(value)
        if items and all(is_http_status(v) for v in items):
            return tuple(sorted(set(items)))
    raise ConfigurationError(
        f"status: got {describe(value)}; expected an HTTP status code 100-599 or a non-empty list of "
        "them, e.g. 200 or [200, 201]"
    )


def _check_schema(value: Any) -> Mapping[str, Any] | Path | None:
    if value is None or isinstance(value, Mapping):
        return value
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if isinstance(text, str) and text.strip().startswith(("{", "[")):
            raise ConfigurationError(
                f"schema: got {describe(value)}, which is JSON text, not a file name; pass the schema as a "
                "dict (json.loads the text) or the path of a JSON Schema file"
            )
        if isinstance(text, str) and text.strip():
            return value if isinstance(value, Path) else Path(text)
    raise ConfigurationError(
        f"schema: got {describe(value)}; expected a JSON Schema object or the path of a JSON Schema "
        "file, e.g. \"schemas/order.json\""
    )


def _check_fields(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"fields: got {describe(value)}; expected a mapping of path to value, e.g. "
            '{"/order/status": "CREATED"} or {"order.status": "CREATED"}'
        )
    result: dict[str, Any] = {}
    named_by: dict[str, str] = {}
    for key, expected in value.items():
        pointer = _field_pointer(key)
        if pointer in named_by:
            raise ConfigurationError(
                f"fields: {named_by[pointer]!r} and {key!r} name the same path {pointer!r}; keep one"
            )
        named_by[pointer] = key
        result[pointer] = expected
    return result


def _field_pointer(key: Any) -> str:
    if not isinstance(key, str):
        raise ConfigurationError(
            f"fields: key {key!r} is not a string; write a JSON pointer ('/items/0/id') or a "
            "dotted path ('items.0.id')"
        )
    if key == "" or key.startswith("/"):
        return to_pointer(split_pointer(key, what="fields key"))
    segments = key.split(".")
    if "" in segments:
        raise ConfigurationError(
            f"fields: key {key!r} has an empty segment; use a JSON pointer ('/a.b/c') for keys "
            "that contain dots or are empty"
        )
    return to_pointer(segments)


def _check_within(value: Any) -> float | None:
    if value is None:
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and value > 0 and (isinstance(value, int) or math.isfinite(value)):
        return float(value) if isinstance(value, float) else int(value)
    raise ConfigurationError(
        f"within_ms: got {describe(value)}; expected a positive number of milliseconds, e.g. 800"
    )


def _check_function_error(value: Any) -> str | bool | None:
    if value is None or isinstance(value, bool) or (isinstance(value, str) and value.strip()):
        return value
    raise ConfigurationError(
        f"function_error: got {describe(value)}; expected true (any error) or the errorType the "
        'function must raise, e.g. "ValueError"'
    )
