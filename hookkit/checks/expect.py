"""Response expectations: status, JSON Schema, fields, latency and function errors.

One engine serves both kinds of response a check sees: a Lambda invoke result
(:func:`observe_invocation`) and an HTTP smoke call (:func:`observe_http`). Both become an
:class:`Observed`; :func:`differences` compares it with what the check expects and returns every
mismatch as data; :func:`expect` (and :meth:`Expectable.expect`, the chaining form) only raises
:class:`~hookkit.core.errors.ExpectationFailed` when that list is not empty.

Paths in a :class:`~hookkit.core.errors.Difference`:

- body checks (``schema``, ``fields``) use JSON pointers into the decoded body:
  ``"/items/0/price"``, and ``""`` for the whole body;
- the other aspects use fixed names without a leading slash: ``"status"``, ``"duration_ms"``,
  ``"function_error"``, and ``"body"`` when the body is not JSON but a body check needs it.

Differences come in that order: function error, status, body (schema violations sorted by path,
then fields in the order given), duration. A value missing from the body is
:data:`~hookkit.checks.jsondiff.MISSING` (shown as ``<missing>``). Differences end up in logs and CI
reports, so their values pass through ``hookkit.core.redact``: values under secret-looking keys
(tokens, passwords, API keys, cookies...) and secrets in error texts and body excerpts are hidden.

When the function raised and the check did not ask for that, the body is an error document, not
a response: status, schema and fields are not checked against it, and the ``function_error``
difference carries the error text instead.

A status is an HTTP status: an API's, or the ``statusCode`` of an API Gateway proxy response a
function returned. Lambda's own 200 for an invoke that ran says nothing about the function's
answer, so it is never used as one: a function that answers anything but a proxy response (no
JSON object, no ``statusCode``, a ``statusCode`` that is not an integer) has no status, and a
``status`` expectation on it is a difference saying what came back (``Observed.no_status``). A
function invoked directly (SQS, EventBridge, another service) is checked by its answer instead
(``fields``, ``schema``), or only for answering without a function error. Whenever a status
expectation fails, the error shows the start of the answer's body (redacted), so that a 500 can
be diagnosed from the CI log alone.

JSON Schemas are validated with ``jsonschema``: the draft comes from ``$schema`` (2020-12 when
absent), ``format`` is checked, and ``$ref`` may name other schema files relative to the
referring file, never the network. A validator is built once per schema: per file path and
modification time, or per inline schema's canonical JSON.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, cast
from urllib.parse import urlsplit

from ..core.errors import ConfigurationError, Difference, ExpectationFailed, describe
from ..core.redact import REDACTED, is_secret_path, redact_text, redact_value
from .eventfiles import ExpectSpec, load_json, missing_file_hint
from .invocation import Invocation
from .jsondiff import MISSING, diff, lookup, split_pointer, to_pointer

if TYPE_CHECKING:
    from jsonschema.protocols import Validator
    from referencing import Resource, Specification

__all__ = [
    "Expectable",
    "Observed",
    "differences",
    "expect",
    "expectation_failed",
    "observe_http",
    "observe_invocation",
    "schema_validator",
    "spec_differences",
]

_EXCERPT = 120
#: How much of an answer's body a failed status expectation shows.
ANSWER_EXCERPT = 300
# Keys of an API Gateway (REST or HTTP API) Lambda proxy response.
_PROXY_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"})


@dataclass(frozen=True)
class Observed:
    """One response as the expectations see it, whichever way it was obtained.

    ``status`` is the HTTP status of an API's answer, or the ``statusCode`` of the API Gateway
    proxy response a function returned; ``None`` for any other answer of a function, and then
    ``no_status`` says in words what came back instead. ``body`` is the decoded body: a JSON
    value when it parses as JSON (``is_json``), else text, ``None`` when empty.
    """

    subject: str
    status: int | None
    body: Any
    is_json: bool
    duration_ms: float
    function_error: str | None = None
    error: str | None = None
    no_status: str | None = None


def observe_invocation(subject: str, invocation: Invocation) -> Observed:
    """Interpret a Lambda invoke result, unwrapping an API Gateway proxy response.

    A JSON object with an integer ``statusCode`` and a ``body`` (or only proxy keys, as a 204
    without body) is a proxy response: its body string is base64-decoded when
    ``isBase64Encoded`` and then JSON-decoded when it is JSON. A body that claims base64 but is
    not stays the raw string, so the check shows what the function really returned. Any other
    answer has no status (Lambda's own 200 only says that the invoke ran).
    """
    body, is_json = _decode(invocation.payload, "utf-8")
    duration = invocation.duration_ms
    if invocation.function_error:
        error = _error_text(body) or invocation.function_error
        return Observed(subject, None, body, is_json, duration, function_error=invocation.function_error,
                        error=error, no_status=f"the function raised ({error})")
    if _is_proxy_response(body):
        proxy_body, proxy_is_json = _proxy_body(body)
        return Observed(subject, body["statusCode"], proxy_body, proxy_is_json, duration)
    return Observed(subject, None, body, is_json, duration, no_status=_not_a_proxy_response(body, is_json))


def observe_http(
    subject: str, status: int, content: bytes, content_type: str | None, duration_ms: float
) -> Observed:
    """Interpret an HTTP response; the charset comes from ``content_type`` (UTF-8 by default)."""
    body, is_json = _decode(content, _charset(content_type))
    return Observed(subject, status, body, is_json, duration_ms)


def differences(
    observed: Observed | Expectable,
    *,
    status: int | Collection[int] | None = None,
    schema: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    fields: Mapping[str, Any] | None = None,
    within_ms: float | None = None,
    function_error: str | bool | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> list[Difference]:
    """Every way ``observed`` differs from the expectations; ``[]`` when it meets them all.

    ``status`` is one code or a collection (``range(200, 300)`` works); ``schema`` a JSON Schema
    or the path of one, relative to ``base_dir``; ``fields`` maps JSON pointers or dotted paths
    (``"items.0.id"``) to expected values; ``within_ms`` bounds the duration; ``function_error``
    is ``True`` when the function must raise, or the ``errorType`` it must raise. Bad keyword
    values and unusable schemas raise ConfigurationError, whatever the response.

    ``observed`` is an invoke result or an API response (their ``.observed``), or an
    :class:`Observed` itself. Unlike their ``.expect(...)``, this does not mark a function error or
    a 5xx answer as looked at: a returned list nobody asserts on must not let a crash pass.
    """
    if isinstance(observed, Expectable):
        observed = observed.observed
    spec = ExpectSpec.of(status=status, schema=schema, fields=fields, within_ms=within_ms,
                      function_error=function_error)
    return spec_differences(observed, spec, base_dir=base_dir)


def spec_differences(
    observed: Observed, spec: ExpectSpec, *, base_dir: str | os.PathLike[str] | None = None
) -> list[Difference]:
    """:func:`differences` for expectations already checked into an :class:`ExpectSpec`.

    An expect file is checked once, when it is read; replaying its event need not check it again.
    """
    validator = None if spec.schema is None else _validator(spec.schema, base_dir)
    found = _function_error_differences(observed, spec.function_error)
    answered = not (observed.function_error and not spec.function_error)  # else the error difference says it all
    if answered and spec.status is not None and not _status_matches(spec.status, observed.status):
        actual = observed.status if observed.status is not None else _no_status(observed)
        found.append(Difference("status", spec.status, actual))
    if answered:
        found += _body_differences(observed, validator, spec.fields, lambda: _schema_source(spec.schema, base_dir))
    if spec.within_ms is not None and observed.duration_ms > spec.within_ms:
        found.append(Difference("duration_ms", spec.within_ms, observed.duration_ms))
    return found


def expect(
    observed: Observed,
    *,
    status: int | Collection[int] | None = None,
    schema: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    fields: Mapping[str, Any] | None = None,
    within_ms: float | None = None,
    function_error: str | bool | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Raise ExpectationFailed listing every difference, if there is any (see :func:`differences`)."""
    found = differences(observed, status=status, schema=schema, fields=fields, within_ms=within_ms,
                        function_error=function_error, base_dir=base_dir)
    if found:
        raise expectation_failed(observed, found)


def expectation_failed(observed: Observed, found: list[Difference]) -> ExpectationFailed:
    """The error for ``found``; when the status is among them, it shows what the answer was.

    A status difference alone (``expected 200, got 500``) cannot be diagnosed: the start of the
    body (redacted, at most :data:`ANSWER_EXCERPT` characters) is what a 500 says about itself,
    unless a ``body`` difference already shows it. An answer that has no status at all also says
    what to write for a function not behind an API.
    """
    paths = {d.path for d in found}
    if "status" not in paths:
        return ExpectationFailed(observed.subject, found)
    lines = []
    if "body" not in paths:  # else a difference already shows the (non-JSON) body
        lines.append(f"  answer body: {_answer_excerpt(observed)}")
    if observed.status is None and observed.function_error is None:
        lines.append(
            "  status is the statusCode of an API Gateway proxy response, and this answer is not one; for a "
            "function invoked directly (SQS, EventBridge, another service), leave status out and check the "
            "answer with fields or schema, or only that it answered: .expect_no_function_error()"
        )
    return ExpectationFailed(observed.subject, found, detail="\n".join(lines))


class Expectable:
    """Mixin giving a response object ``.expect(...)`` that returns itself, so calls chain.

    Subclasses provide ``observed`` (the :class:`Observed` response) and ``base_dir`` (where
    relative schema paths start, or ``None`` for the working directory).
    """

    base_dir: Path | None

    @property
    def observed(self) -> Observed:
        raise NotImplementedError

    @property
    def status_code(self) -> int | None:
        """The HTTP status: an API's answer, or the ``statusCode`` of a function's API Gateway proxy response.

        ``None`` when a function answered anything else (a function invoked directly, a function
        error): Lambda's own 200 only says the invoke ran, never what the function answered.
        """
        return self.observed.status

    @property
    def status(self) -> int | None:
        """The same as :attr:`status_code`, under the name ``expect(status=...)`` uses."""
        return self.status_code

    def _expecting(self) -> None:
        """Called by :meth:`expect` first; a subclass may record that its response was checked."""

    def expect(
        self,
        *,
        status: int | Collection[int] | None = None,
        schema: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        fields: Mapping[str, Any] | None = None,
        within_ms: float | None = None,
        function_error: str | bool | None = None,
    ) -> Self:
        self._expecting()
        expect(self.observed, status=status, schema=schema, fields=fields, within_ms=within_ms,
               function_error=function_error, base_dir=self.base_dir)
        return self


def schema_validator(
    schema: Mapping[str, Any] | str | os.PathLike[str], base_dir: str | os.PathLike[str] | None = None
) -> Validator:
    """The jsonschema validator for ``schema``, built once and reused while the schema is unchanged.

    A missing or malformed file, an unknown ``$schema`` or a schema its own draft rejects is a
    ConfigurationError naming the file and the fix.
    """
    checked = ExpectSpec.of(schema=schema).schema
    if checked is None:
        raise ConfigurationError("schema: got None; pass a JSON Schema object or the path of a schema file")
    return _validator(checked, base_dir)


def _validator(checked: Mapping[str, Any] | Path, base_dir: str | os.PathLike[str] | None) -> Validator:
    """:func:`schema_validator` for a schema :class:`ExpectSpec` has already checked."""
    if not isinstance(checked, Path):  # a mapping: an inline schema
        return _inline_validator(_canonical(checked))
    path = _schema_file(checked, base_dir)
    try:
        stat = os.stat(path)
    except OSError:
        relative = "" if base_dir is None else f" (relative to base_dir {os.fspath(base_dir)})"
        raise ConfigurationError(
            f"schema file {path}{relative} not found; {missing_file_hint(path)}, or the check's base_dir"
        ) from None
    return _file_validator(path, stat.st_mtime_ns, stat.st_size)


def _schema_file(schema: Path, base_dir: str | os.PathLike[str] | None) -> str:
    """The schema's absolute path, normalised without touching the disk (the stat that follows does).

    Worked out once per schema and base folder when neither depends on the working directory: a
    replay applies one schema to thousands of answers.
    """
    if schema.is_absolute():
        return _absolute(schema, None)
    base = None if base_dir is None else os.fspath(base_dir)
    if base is None or not os.path.isabs(base):
        return os.path.abspath(schema if base is None else os.path.join(base, schema))
    return _absolute(schema, base)


@functools.lru_cache(maxsize=1024)
def _absolute(schema: Path, base: str | None) -> str:
    return os.path.abspath(schema if base is None else os.path.join(base, schema))


# -- decoding ---------------------------------------------------------------------------------


def _decode(content: bytes, charset: str) -> tuple[Any, bool]:
    if not content:
        return None, False
    return _parse_text(content.decode(charset, errors="replace"))


def _parse_text(text: str) -> tuple[Any, bool]:
    if text == "":
        return None, False
    try:
        return json.loads(text), True
    except (ValueError, RecursionError):
        return text, False


def _charset(content_type: str | None) -> str:
    if not content_type:
        return "utf-8"
    from email.message import Message  # here: an HTTP answer with a content type; a replay never needs it

    header = Message()
    header["content-type"] = content_type
    charset = header.get_content_charset() or "utf-8"
    try:
        "".encode(charset)
    except LookupError:
        return "utf-8"
    return charset


def _is_proxy_response(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    code = value.get("statusCode")
    if not isinstance(code, int) or isinstance(code, bool):
        return False
    return "body" in value or value.keys() <= _PROXY_KEYS


def _proxy_body(response: dict[str, Any]) -> tuple[Any, bool]:
    raw = response.get("body")
    if raw is None:
        return None, False
    if not isinstance(raw, str):  # a function returning a dict body; keep it as the JSON it is
        return raw, True
    if response.get("isBase64Encoded") is True:
        try:
            return _decode(base64.b64decode(raw, validate=True), "utf-8")
        except ValueError:  # binascii.Error, or a body with non-ASCII characters (not base64 at all)
            return raw, False
    return _parse_text(raw)


def _error_text(payload: Any) -> str | None:
    if isinstance(payload, Mapping):
        parts = [str(payload[k]) for k in ("errorType", "errorMessage") if payload.get(k) is not None]
        return ": ".join(parts) or None
    if isinstance(payload, str):
        return str(_excerpt(payload))
    return None


def _not_a_proxy_response(body: Any, is_json: bool) -> str:
    """What a function answered instead of an API Gateway proxy response, in words."""
    if not is_json:
        return "the function answered nothing" if body is None else "the function answered text that is not JSON"
    if isinstance(body, dict):
        if "statusCode" not in body:
            return "the function answered a JSON object without statusCode"
        code = body["statusCode"]
        if not isinstance(code, int) or isinstance(code, bool):
            return f"its statusCode is {describe(code)}, not an integer"
        others = sorted(str(key) for key in body.keys() - _PROXY_KEYS)
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        return f"the function answered statusCode {code} beside other keys ({shown}) and no body"
    if body is None:
        return "the function answered null"
    kinds = ((bool, "boolean"), (list, "array"), (str, "string"))  # bool first: it is an int too
    kind = next((name for cls, name in kinds if isinstance(body, cls)), "number")
    return f"the function answered a JSON {kind}"


def _no_status(observed: Observed) -> str:
    return f"no API Gateway proxy response: {observed.no_status or 'the answer has no status'}"


def _answer_excerpt(observed: Observed) -> str:
    """The start of the answer's body, redacted, as a log line can hold it."""
    body = observed.body
    if body is None and not observed.is_json:
        return "(empty)"
    if observed.is_json:
        text = json.dumps(redact_value(body), ensure_ascii=False, default=str)
    else:
        text = redact_text(str(body))
    if len(text) > ANSWER_EXCERPT:
        return f"{text[:ANSWER_EXCERPT]}... ({len(text)} characters)"
    return text


def _excerpt(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _EXCERPT:
        return value[:_EXCERPT] + "..."
    return value


# -- comparing --------------------------------------------------------------------------------


def _function_error_differences(observed: Observed, wanted: str | bool | None) -> list[Difference]:
    raised = observed.function_error is not None
    if not wanted:
        return [Difference("function_error", None, _redacted_text(observed.error))] if raised else []
    if not raised:
        return [Difference("function_error", wanted, None)]
    if isinstance(wanted, str):
        error_type = observed.body.get("errorType") if isinstance(observed.body, Mapping) else None
        if error_type != wanted:
            return [Difference("function_error", wanted, _redacted_text(observed.error))]
    return []


def _status_matches(wanted: int | range | tuple[int, ...], actual: int | None) -> bool:
    return actual == wanted if isinstance(wanted, int) else actual in wanted


def _body_differences(
    observed: Observed,
    validator: Validator | None,
    fields: Mapping[str, Any] | None,
    where: Callable[[], str],
) -> list[Difference]:
    if validator is None and not fields:
        return []
    if not observed.is_json:
        return [Difference("body", "JSON", _excerpt(_redacted_text(observed.body)))]
    found = [] if validator is None else _schema_differences(validator, observed.body, where)
    for pointer, wanted in (fields or {}).items():
        actual = lookup(observed.body, split_pointer(pointer))
        if diff(wanted, actual):
            found.append(_redacted(Difference(pointer, wanted, actual), expected_too=True))
    return found


def _schema_differences(validator: Validator, body: Any, where: Callable[[], str]) -> list[Difference]:
    try:
        errors = list(validator.iter_errors(body))
    except Exception as exc:
        from referencing.exceptions import Unresolvable  # here: imported once a $ref fails, not per answer

        if isinstance(exc, Unresolvable):
            raise _unresolvable(exc, where()) from None
        raise
    if not errors:
        return []
    errors.sort(key=_error_order)
    # jsonschema raises `required` once per missing property, each carrying the whole list
    found: list[Difference] = []
    for difference in (d for e in errors for d in _violation(e)):
        if difference not in found:
            found.append(difference)
    return [_redacted(d, expected_too=False) for d in found]


def _violation(error: Any) -> list[Difference]:
    """One jsonschema error as differences that point at the property concerned.

    ``required`` and ``additionalProperties`` fail on the parent object; reporting the whole
    object as "actual" hides which property is missing or unexpected, so each gets its own
    pointer. A ``false`` (sub)schema rejects everything and has no keyword: its constraint is
    ``False``.
    """
    path = list(error.absolute_path)
    instance, keyword = error.instance, error.validator
    if keyword == "required" and isinstance(instance, dict):
        return [Difference(to_pointer([*path, name]), "required", MISSING)
                for name in error.validator_value if name not in instance]
    if keyword == "additionalProperties" and error.validator_value is False and isinstance(instance, dict):
        declared = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        patterns = error.schema.get("patternProperties", {}) if isinstance(error.schema, dict) else {}
        extra = [k for k in instance if k not in declared and not any(re.search(p, k) for p in patterns)]
        if extra:
            return [Difference(to_pointer([*path, name]), "no such property (additionalProperties: false)",
                               instance[name]) for name in extra]
    constraint = False if keyword is None else {keyword: error.validator_value}
    return [Difference(to_pointer(path), constraint, instance)]


def _error_order(error: Any) -> tuple[tuple[tuple[int, int, str], ...], tuple[str, ...]]:
    path = tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path)
    return path, tuple(map(str, error.absolute_schema_path))


def _schema_source(schema: Mapping[str, Any] | Path | None, base_dir: str | os.PathLike[str] | None) -> str:
    if isinstance(schema, Path):
        return f"schema file {_schema_file(schema, base_dir)}"
    return "inline schema"


def _unresolvable(exc: Exception, where: str) -> ConfigurationError:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConfigurationError):
            return ConfigurationError(f"{where}: $ref {getattr(exc, 'ref', '?')!r}: {cause}")
        cause = getattr(cause, "_wrapped", None) or cause.__cause__
    hint = ("move the schema into a file to $ref files next to it" if where == "inline schema"
            else "only schema files on disk, relative to the referring file, are loaded; never URLs")
    return ConfigurationError(f"{where}: cannot resolve $ref {getattr(exc, 'ref', '?')!r}; {hint}")


def _redacted(difference: Difference, *, expected_too: bool) -> Difference:
    """Hide secrets in a body difference; a schema's constraint is the user's own file, a field's
    expected value may come from a secret, so only the latter is hidden too."""
    path, expected, actual = difference
    if is_secret_path(path):  # any segment: /tokens/0 and /session/id hide as /token does
        hidden = REDACTED if actual is not MISSING else MISSING
        return Difference(path, REDACTED if expected_too else expected, hidden)
    return Difference(path, redact_value(expected) if expected_too else expected, redact_value(actual))


def _redacted_text(text: str | None) -> str | None:
    return None if text is None else redact_text(text)


# -- building validators ----------------------------------------------------------------------


def _canonical(schema: Mapping[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return dict(value)
        raise TypeError(f"{type(value).__name__} is not JSON data")

    try:
        return json.dumps(schema, sort_keys=True, default=plain)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"schema: the inline schema is not JSON data ({exc}); use dicts with string keys, "
            "lists, strings, numbers, booleans and None"
        ) from None


class _BuiltOnce:
    """A bounded cache whose values are built once, even when several threads ask at once.

    ``functools.lru_cache`` lets every thread that misses build the value itself: the checks a
    run starts together, all naming one schema, would each check it against its metaschema,
    the costliest step of validating anything. Here the first builds it and the others wait.
    """

    def __init__(self, build: Callable[..., Validator], maxsize: int) -> None:
        self._build = build
        self._maxsize = maxsize
        self._values: dict[tuple[Any, ...], Validator] = {}
        self._lock = threading.Lock()

    def __call__(self, *key: Any) -> Validator:
        value = self._values.get(key)
        if value is not None:
            return value
        with self._lock:
            if key not in self._values:
                value = self._build(*key)  # a failure caches nothing: it is raised to every caller
                if len(self._values) >= self._maxsize:
                    del self._values[next(iter(self._values))]  # the oldest
                self._values[key] = value
            return self._values[key]


def _build_inline(canonical: str) -> Validator:
    return _build(json.loads(canonical), "inline schema", base=None)


def _build_file(path: str, mtime_ns: int, size: int) -> Validator:
    # mtime and size are in the key so an edited schema file is read again.
    return _build(load_json(path, what="schema file"), f"schema file {path}", base=Path(path).parent)


_inline_validator = _BuiltOnce(_build_inline, maxsize=256)
_file_validator = _BuiltOnce(_build_file, maxsize=64)


def _build(schema: Any, where: str, base: Path | None) -> Validator:
    import referencing
    import referencing.jsonschema
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, (dict, bool)):
        raise ConfigurationError(
            f"{where}: a JSON Schema is an object (or true/false), got {type(schema).__name__}; "
            'start it with {"type": ...}'
        )
    cls = _validator_class(schema, where)
    try:
        cls.check_schema(schema)  # type: ignore[arg-type]  # true/false are schemas too; the stub says dict
    except SchemaError as exc:
        at = to_pointer(exc.absolute_path) or "the top level"
        raise ConfigurationError(
            f"{where} is not a valid JSON Schema for {cls.__name__}: {exc.message} (at {at}); "
            "fix the schema (https://json-schema.org/understanding-json-schema)"
        ) from None
    dialect = referencing.jsonschema.specification_with(cls.META_SCHEMA["$schema"])
    # ``retrieve`` is an attrs alias mypy's attrs support does not see
    registry: referencing.Registry[Any] = referencing.Registry(retrieve=_LocalSchemas(base, dialect))  # type: ignore[call-arg]
    return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)


def _validator_class(schema: dict[str, Any] | bool, where: str) -> type[Validator]:
    from jsonschema import validators

    if not isinstance(schema, dict) or "$schema" not in schema:
        return validators.validator_for(schema)
    dialect = schema["$schema"]
    try:
        cls = validators.validator_for(schema, default=cast(Any, None)) if isinstance(dialect, str) else None
    except ValueError:  # not even a URI
        cls = None
    if cls is None:
        known = ", ".join(repr(c.META_SCHEMA["$schema"]) for c in _known_drafts())
        raise ConfigurationError(
            f"{where}: unknown $schema {dialect!r}; use one of {known}, or leave $schema out "
            "for draft 2020-12"
        )
    return cls


def _known_drafts() -> tuple[type[Validator], ...]:
    import jsonschema

    return (jsonschema.Draft3Validator, jsonschema.Draft4Validator, jsonschema.Draft6Validator,
            jsonschema.Draft7Validator, jsonschema.Draft201909Validator, jsonschema.Draft202012Validator)


class _LocalSchemas:
    """``$ref`` retrieval from schema files on disk, relative to the referring file.

    jsonschema's default would fetch ``http(s)`` references over the network, which a hook must
    never do behind a user's back; here they are unresolvable, and the error says so. Each file
    is read once per validator.
    """

    def __init__(self, base: Path | None, dialect: Specification[Any]) -> None:
        self.base = base
        self.dialect = dialect
        self.loaded: dict[str, Resource[Any]] = {}

    def __call__(self, uri: str) -> Resource[Any]:
        from referencing import Resource
        from referencing.exceptions import NoSuchResource

        parts = urlsplit(uri)
        if self.base is None or parts.scheme not in ("", "file") or parts.netloc:
            raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # an attrs field mypy does not see
        if uri not in self.loaded:
            from urllib.request import url2pathname  # here: a $ref to another file; most schemas have none

            path = Path(url2pathname(parts.path))
            contents = load_json(path if path.is_absolute() else self.base / path, what="schema file")
            self.loaded[uri] = Resource.from_contents(contents, default_specification=self.dialect)
        return self.loaded[uri]
