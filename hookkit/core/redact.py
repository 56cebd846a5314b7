"""The one place that decides what counts as a secret and hides it.

Logs, outcomes and reports leave the hook: they land in CloudWatch, in CI artifacts, in a JUnit
file attached to a pull request. Anything that may carry a credential (headers, URLs, error
texts, recorded events) goes through here first. Names are matched after folding case and
dropping ``-``/``_``/``.``, so ``X-Api-Key``, ``x_api_key`` and ``apiKey`` are one rule; a name is
secret if it *contains* one of the fragments below, which errs on hiding too much.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

REDACTED = "[REDACTED]"

# A name (header, JSON key, query parameter, key=value in text) holding any of these is secret.
SECRET_FRAGMENTS = (
    "authorization",
    "cookie",
    "apikey",
    "accesskey",
    "privatekey",
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "credential",
)
# Short names that would match far too much as fragments ("author", "keyboard") but are secret
# when they are the whole name.
SECRET_NAMES = frozenset({"auth", "pwd", "jwt", "session", "sessionid"})
# Only in query strings: ``?key=`` (Google-style API keys), ``?code=`` (OAuth authorization
# codes), ``?sig=`` (pre-signed URLs). As JSON keys these are ordinary data (an S3 key, an error
# code), so they are not redacted there.
SECRET_QUERY_NAMES = frozenset({"key", "code", "sig"})

# An authorization scheme is kept so a report still says *how* a call was authenticated.
_SCHEME = re.compile(r"(?i)^(Bearer|Basic|Digest|Token|ApiKey|AWS4-HMAC-SHA256)\s+")
_FOLD = re.compile(r"[-_.\s]")


def _fold(name: str) -> str:
    return _FOLD.sub("", name).lower()


def is_secret_name(name: str) -> bool:
    """True for a header, JSON key or text field name whose value must not be shown."""
    folded = _fold(name)
    return folded in SECRET_NAMES or any(fragment in folded for fragment in SECRET_FRAGMENTS)


def is_secret_path(path: str) -> bool:
    """True for a difference's path any of whose segments is a secret name (:func:`is_secret_name`).

    Everything under a secret name is secret: ``/tokens/0``, ``/credentials/0/value`` and
    ``/session/id`` hide their values although ``0``, ``value`` and ``id`` are ordinary names. A
    JSON pointer is split at ``/`` (``~1`` and ``~0`` unescaped); any other path (``status``,
    ``order.token``) is also looked at whole and split at ``.``.
    """
    if path.startswith("/"):
        return any(is_secret_name(s.replace("~1", "/").replace("~0", "~")) for s in path[1:].split("/"))
    return is_secret_name(path) or any(is_secret_name(s) for s in path.split("."))


def _is_secret_query_name(name: str) -> bool:
    return is_secret_name(name) or _fold(name) in SECRET_QUERY_NAMES


def _hide(value: str) -> str:
    scheme = _SCHEME.match(value)
    return f"{scheme.group(1)} {REDACTED}" if scheme else REDACTED


def redact_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with secret header values hidden; other values pass through :func:`redact_text`."""
    return {
        name: _hide(str(value)) if is_secret_name(name) else redact_text(str(value))
        for name, value in headers.items()
    }


def _redact_pairs(text: str) -> str:
    """``a=1&token=x`` → ``a=1&token=[REDACTED]``; the raw encoding of other pairs is kept."""
    parts = []
    for pair in text.split("&"):
        name, sep, _ = pair.partition("=")
        parts.append(f"{name}={REDACTED}" if sep and _is_secret_query_name(unquote_plus(name)) else pair)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """Hide a userinfo password and secret query (or fragment) parameters, keep everything else.

    The fragment matters: OAuth's implicit flow returns ``#access_token=...``.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # not parseable as a URL (bad IPv6 literal...): fall back to field rules
        return _redact_plain(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{host}" if has_password else netloc
    fragment = _redact_pairs(parts.fragment) if "=" in parts.fragment else parts.fragment
    return urlunsplit((parts.scheme, netloc, parts.path, _redact_pairs(parts.query), fragment))


# Any scheme: a database or broker URL in an error message carries its password in the userinfo.
# A scheme starts only where no scheme character precedes it and is short, so the scan stays linear
# on long runs such as ``a.a.a...`` instead of retrying from every character.
_URL = re.compile(r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,31}://[^\s\"'<>]+")
# ``Bearer abc`` anywhere, even with no header name before it (an exception message, a log line).
_BEARER = re.compile(r"(?i)\b(Bearer)\s+[A-Za-z0-9\-._~+/]+=*")
# ``name: value`` / ``name=value`` / ``"name": "value"``; only the name and separator are matched
# here, the value is taken (and hidden) only when the name is secret, so that scanning resumes
# inside a harmless value instead of skipping over it.
# The look-behind makes a name start only at a word's start, which keeps the scan linear on
# long unbroken strings (a base64 body) instead of retrying from every character.
_FIELD = re.compile(r"""(?<![\w.\-])(?P<name>[A-Za-z_][\w.\-]*)(?P<sep>["']?\s*[:=]\s*)""")
_QUOTED = re.compile(r"""(?P<q>["'])(?P<value>[^"'\r\n]*)(?P=q)""")
_SCHEMED = re.compile(r"""(?i)(?:Bearer|Basic|Digest|Token|ApiKey|AWS4-HMAC-SHA256)\s+[^\s"',;&]+""")
_BARE = re.compile(r"""[^\s"',;&{\[]+""")
_REST_OF_LINE = re.compile(r"[^\r\n]*")  # a Cookie header line holds many ``name=value;`` pairs
# ``secrets.py:16`` (``:16:5``) is a file and a line, where a check or an error is, not a field: a name
# with a file extension, a bare ``:``, and digits ending the word.
_EXTENSION = re.compile(r"\.(?P<ext>[A-Za-z][A-Za-z0-9]{0,9})")
_LINE_NUMBER = re.compile(r"\d+(?::\d+)?(?![\w\-])")


def _is_file_and_line(name: str, sep: str, text: str, pos: int) -> bool:
    """True for ``secrets.py:16``; ``api.token:1234`` stays a field, since its "extension" is the secret name."""
    if sep != ":":
        return False
    extension = _EXTENSION.search(name, max(0, name.rfind(".")))
    return (extension is not None and extension.end() == len(name) and not is_secret_name(extension["ext"])
            and _LINE_NUMBER.match(text, pos) is not None)


def _redact_fields(text: str) -> str:
    out: list[str] = []
    pos = 0
    while (field := _FIELD.search(text, pos)) is not None:
        out.append(text[pos:field.end()])
        pos = field.end()
        if not is_secret_name(field["name"]) or _is_file_and_line(field["name"], field["sep"], text, pos):
            continue
        quoted = _QUOTED.match(text, pos)
        if quoted:
            out.append(f"{quoted['q']}{_hide(quoted['value'])}{quoted['q']}")
            pos = quoted.end()
            continue
        if "cookie" in _fold(field["name"]) or text.startswith(('"', "'"), pos):
            # a Cookie line; or a quoted value with no closing quote on its line (a message cut short, a
            # quote inside the value): hide the rest of the line rather than show the value
            value = _REST_OF_LINE.match(text, pos)
        else:
            value = _SCHEMED.match(text, pos) or _BARE.match(text, pos)
        if value and value.group():
            out.append(_hide(value.group()))
            pos = value.end()
    out.append(text[pos:])
    return "".join(out)


# A difference as hookkit writes it (``/items/0/token: expected 'a', got 'b'``, see
# ``hookkit.core.errors.Difference``): a JSON pointer starting a word, then the two values to the end
# of the line. Its values are hidden by the whole path, not by the last name before the colon, which
# would take the word "expected" for the secret and show the values after it. A path has no
# whitespace here, so the scan stays linear.
_DIFFERENCE = re.compile(r"(?<![^\s(])(?P<path>/\S*?): expected (?P<rest>[^\r\n]*)")
# What a value at a secret path may still show: it says nothing about the secret.
_SHOWN_WORDS = frozenset({
    REDACTED, f"'{REDACTED}'", f'"{REDACTED}"', "<missing>", "None", "null", "True", "False", "true", "false",
    "'required'", '"required"', "'no such property (additionalProperties: false)'",
    '"no such property (additionalProperties: false)"',
})
_TYPE_CONSTRAINT = re.compile(r"""\{(["'])type\1: (["'])(null|boolean|object|array|number|string|integer)\2\}""")


def _hide_shown_value(value: str) -> str:
    if value in _SHOWN_WORDS or _TYPE_CONSTRAINT.fullmatch(value):
        return value
    quote = value[:1]
    return f"{quote}{REDACTED}{quote}" if len(value) >= 2 and quote in "'\"" and value.endswith(quote) else REDACTED


def _redact_difference(line: re.Match[str]) -> str:
    path, rest = line["path"], line["rest"]
    if not is_secret_path(path):
        return f"{path}: expected {_redact_fields(rest)}"
    expected, got, actual = rest.rpartition(", got ")
    if not got:
        return f"{path}: expected {_hide_shown_value(rest)}"
    return f"{path}: expected {_hide_shown_value(expected)}, got {_hide_shown_value(actual)}"


def redact_text(text: str) -> str:
    """Best-effort redaction of free text: URLs, ``Bearer`` tokens and secret ``name: value`` pairs.

    It covers what hookkit itself writes (header dumps, exception messages, SigV4
    ``Credential=.../Signature=...``) and the usual shapes in JSON and log lines; it is not a
    parser, so it hides by name and never guesses at unnamed high-entropy strings.
    """
    return _redact_plain(_URL.sub(lambda m: redact_url(m.group()), text))


def _redact_plain(text: str) -> str:
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    if ": expected " not in text:
        return _redact_fields(text)
    out, pos = [], 0
    for line in _DIFFERENCE.finditer(text):
        out += [_redact_fields(text[pos:line.start()]), _redact_difference(line)]
        pos = line.end()
    out.append(_redact_fields(text[pos:]))
    return "".join(out)


#: Containers nested deeper than this are cut on the way out. A report has no use for them, and a
#: cyclic or absurdly deep value (a function's answer, a check's own data) would otherwise crash
#: whatever walks it next (this function, the JSON writers) on the way to the status report.
MAX_DEPTH = 64
TOO_DEEP = "[nested too deeply to show]"


def redact_value(value: Any) -> Any:
    """A copy of JSON-like data with values under secret keys hidden and strings text-redacted.

    Lists, tuples and mappings nested more than :data:`MAX_DEPTH` deep (a cycle among them)
    become :data:`TOO_DEEP`.
    """
    return _redact_value(value, 0)


def _redact_value(value: Any, depth: int) -> Any:
    if isinstance(value, (Mapping, list, tuple)) and depth >= MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, Mapping):
        return {
            key: (REDACTED if is_secret_name(str(key)) and item is not None else _redact_value(item, depth + 1))
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_redact_value(item, depth + 1) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites each record's message through :func:`redact_text`.

    For loggers whose text hookkit does not write: urllib3 logs each retry with the full URL
    (query string included), botocore's signer logs canonical requests (header values included).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        return True


def install_log_redaction(*logger_names: str) -> None:
    """Attach one :class:`RedactingFilter` to each named logger (once, however often called)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
