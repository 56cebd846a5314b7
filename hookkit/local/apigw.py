"""An in-process API Gateway, as a ``requests`` transport adapter, so smoke checks run in CI.

Mounted on a session, :class:`LocalApiAdapter` turns each request into the proxy event API
Gateway would send (payload 1.0 or 2.0, per route), calls the handler of the function behind the
route, and turns its answer back into an HTTP response, with API Gateway's own answers where the
handler gives none it can use: for no route a REST API's ``403 Missing Authentication Token`` or an
HTTP API's ``404 Not Found``, 502 for a crash or a malformed response. One adapter serves one API,
whose routes may belong to several functions, so a smoke check calls what a client would. The same
``api.get(...).expect(...)`` then runs offline against the functions' code.

Deliberate parity points, from how the real services behave:

- REST API: routes on the path as the client encoded it; ``path`` and ``pathParameters`` keep the
  percent-encoding; query values are decoded; ``headers``/``queryStringParameters`` hold the last
  value, ``multiValue*`` all of them. A proxy response with other keys is malformed (502).
- HTTP API: routes on the decoded path. Payload 2.0: header names are lower-case, repeated values
  comma-joined, cookies moved to ``cookies``, empty fields left out rather than null; an answer
  that is not an object with ``statusCode`` is a 200 ``application/json`` response whose body is
  the function's answer (a string as its text, anything else as its JSON).
- ``HEAD`` answers carry headers and no body.
- Request bodies that are not UTF-8 text are sent base64 with ``isBase64Encoded: true``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter
from requests.auth import AuthBase
from requests.cookies import extract_cookies_to_jar
from requests.exceptions import ReadTimeout
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3 import HTTPHeaderDict, HTTPResponse

from ..checks.eventfiles import is_http_status
from ..checks.invocation import Invocation
from ..checks.smoke import Api, new_session
from ..core.errors import ConfigurationError
from ..core.redact import redact_text
from .context import LOCAL_ACCOUNT_ID

LOCAL_BASE_URL = "http://hookkit.local"
PayloadVersion = Literal["1.0", "2.0"]
ApiKind = Literal["rest", "http"]
DEFAULT_STAGES: dict[str, str] = {"rest": "Prod", "http": "$default"}  # SAM's implicit APIs' stages
_KIND_OF_PAYLOAD: dict[str, ApiKind] = {"1.0": "rest", "2.0": "http"}

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
# REST API allows only these keys in a proxy response; anything else is "Malformed Lambda proxy
# response" (502).
_V1_RESPONSE_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})

# Connection-level headers end at API Gateway; the function never sees them.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"})
_PARAM = re.compile(r"^\{(?P<name>[A-Za-z0-9._-]+)(?P<greedy>\+?)\}$")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """One API route: a method (or ``ANY``) and a path template.

    Templates use API Gateway's syntax: ``/orders/{orderId}`` for one segment, ``/{proxy+}`` (last
    segment only) for the rest of the path. Bad templates fail here, when the routes are declared.
    """

    method: str
    path: str
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _rank: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        method = self.method.upper()
        if method not in METHODS:
            raise ConfigurationError(
                f"route {self.method} {self.path}: unknown method; use one of {', '.join(sorted(METHODS))}"
            )
        if not self.path.startswith("/"):
            raise ConfigurationError(f"route {self.method} {self.path}: the path must start with '/'")
        segments = [s for s in self.path.strip("/").split("/") if s] if self.path != "/" else []
        regex, names, ranks = [], [], []
        for index, segment in enumerate(segments):
            param = _PARAM.match(segment)
            if param is None:
                if "{" in segment or "}" in segment:
                    raise ConfigurationError(
                        f"route {self.method} {self.path}: {segment!r} must be a whole "
                        "'{name}' or '{name+}' segment"
                    )
                regex.append(re.escape(segment))
                ranks.append(0)
            elif param["greedy"]:
                if index != len(segments) - 1:
                    raise ConfigurationError(
                        f"route {self.method} {self.path}: a greedy {segment} must be the last segment"
                    )
                regex.append("(.+?)")
                names.append(param["name"])
                ranks.append(2)
            else:
                regex.append("([^/]+)")
                names.append(param["name"])
                ranks.append(1)
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "_pattern", re.compile("^/" + "/".join(regex) + "/?$"))
        object.__setattr__(self, "_names", tuple(names))
        # Most specific first, as API Gateway picks: a literal segment beats a {param}, which beats
        # a {greedy+}, compared left to right; then an exact method beats ANY.
        object.__setattr__(self, "_rank", (tuple(ranks), method == "ANY"))

    @property
    def key(self) -> str:
        """The route key as HTTP APIs name it: ``GET /orders/{orderId}``."""
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route takes the request, else None."""
        if self.method not in ("ANY", method):
            return None
        found = self._pattern.match(path)
        return dict(zip(self._names, found.groups(), strict=False)) if found else None


@dataclass(frozen=True)
class Integration:
    """A route of an API and the function behind it: ``call`` gets the proxy event in the route's
    ``payload_version`` and returns the function's answer (see :class:`LocalApiAdapter`)."""

    route: Route
    call: Callable[[dict[str, Any]], Any]
    payload_version: PayloadVersion = "1.0"

    def __post_init__(self) -> None:
        if self.payload_version not in _KIND_OF_PAYLOAD:
            raise ConfigurationError(
                f"route {self.route.key}: payload_version {self.payload_version!r}: use '1.0' or '2.0'"
            )


def in_process_api(
    call: Callable[[dict[str, Any]], Any],
    routes: Sequence[Route],
    *,
    timeout: float,
    payload_version: PayloadVersion = "1.0",
    stage: str | None = None,
    stage_variables: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    auth: AuthBase | None = None,
) -> Api:
    """An :class:`~hookkit.checks.smoke.Api` answered by calling one function's handler in-process.

    ``call`` receives each API Gateway proxy event and returns the handler's answer; smoke checks
    written against a deployed API run unchanged against it. The API is a REST API for payload
    1.0 and an HTTP API for 2.0; :func:`local_api` serves routes of several functions.
    """
    return local_api(
        [Integration(route, call, payload_version) for route in routes],
        kind=_kind_of(payload_version), timeout=timeout, stage=stage, stage_variables=stage_variables,
        base_dir=base_dir, auth=auth,
    )


def local_api(
    integrations: Sequence[Integration],
    *,
    kind: ApiKind,
    timeout: float,
    stage: str | None = None,
    stage_variables: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    auth: AuthBase | None = None,
) -> Api:
    """An :class:`~hookkit.checks.smoke.Api` for one API whose routes may invoke different functions."""
    adapter = LocalApiAdapter.serving(integrations, kind=kind, stage=stage, stage_variables=stage_variables)
    session = new_session(retries=0, backoff_factor=0)
    session.mount(LOCAL_BASE_URL + "/", adapter)
    return Api(LOCAL_BASE_URL, timeout=timeout, auth=auth, session=session, base_dir=base_dir,
               source="the in-process API")


def _kind_of(payload_version: str) -> ApiKind:
    kind = _KIND_OF_PAYLOAD.get(payload_version)
    if kind is None:
        raise ConfigurationError(
            f"payload_version {payload_version!r}: use '1.0' (REST API) or '2.0' (HTTP API)"
        )
    return kind


class LocalApiAdapter(BaseAdapter):
    """Answers requests by calling Lambda handlers in-process with API Gateway proxy events.

    ``call`` takes the event and returns what the function returned: a proxy response dict (or any
    JSON value for payload 2.0), the raw JSON payload as bytes, or an
    :class:`~hookkit.checks.invocation.Invocation` (a ``function_error`` there is a crash).

    Built from one ``call`` for every route, the API is a REST API for payload 1.0 and an HTTP API
    for 2.0 (``kind`` says otherwise); :meth:`serving` builds one whose routes each have their own
    function and payload version.
    """

    def __init__(
        self,
        call: Callable[[dict[str, Any]], Any],
        routes: Sequence[Route],
        *,
        payload_version: PayloadVersion = "1.0",
        kind: ApiKind | None = None,
        stage: str | None = None,
        stage_variables: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        kind = kind or _kind_of(payload_version)
        self._setup([Integration(route, call, payload_version) for route in routes], kind, stage, stage_variables)

    @classmethod
    def serving(
        cls,
        integrations: Sequence[Integration],
        *,
        kind: ApiKind,
        stage: str | None = None,
        stage_variables: Mapping[str, str] | None = None,
    ) -> LocalApiAdapter:
        """An adapter for one API: each integration's route invokes its own function."""
        adapter = cls.__new__(cls)
        BaseAdapter.__init__(adapter)
        adapter._setup(list(integrations), kind, stage, stage_variables)
        return adapter

    def _setup(
        self, integrations: list[Integration], kind: ApiKind, stage: str | None,
        stage_variables: Mapping[str, str] | None,
    ) -> None:
        if kind not in DEFAULT_STAGES:
            raise ConfigurationError(f"API kind {kind!r}: use 'rest' (REST API) or 'http' (HTTP API)")
        if not integrations:
            raise ConfigurationError("LocalApiAdapter needs at least one route, e.g. Route('ANY', '/{proxy+}')")
        self.integrations = sorted(integrations, key=lambda i: i.route._rank)
        self.kind: ApiKind = kind
        self.stage = stage or DEFAULT_STAGES[kind]
        self.stage_variables = dict(stage_variables or {})

    @property
    def routes(self) -> list[Route]:
        """The routes served, most specific first (the order API Gateway matches them in)."""
        return [integration.route for integration in self.integrations]

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Response:
        started = time.monotonic()
        parts = urlsplit(request.url or "")
        method = (request.method or "GET").upper()
        # HTTP APIs route on (and deliver) the decoded path; REST APIs keep the client's encoding.
        path = (unquote(parts.path) if self.kind == "http" else parts.path) or "/"
        integration, params = self._route(method, path)
        if integration is None:
            status, headers, body = _no_route(self.kind)
        else:
            event = self._event(integration, request, params, path, parts.query)
            status, headers, body = self._answer(integration, method, path, event)
        if method == "HEAD":  # the headers a GET would have; never a body
            body = b""
        elapsed = time.monotonic() - started
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        if isinstance(read_timeout, (int, float)) and elapsed > read_timeout:
            # The call is waited out (its environment is not killed: a deployed function, too, runs
            # on after its client gave up, up to its Timeout); the client still gets its timeout.
            raise ReadTimeout(f"the handler took {elapsed:.2f} s, over the read timeout of {read_timeout} s")
        return _build_response(request, status, headers, body)

    def close(self) -> None:
        """Nothing to release: no sockets, no pools."""

    def _route(self, method: str, path: str) -> tuple[Integration | None, dict[str, str]]:
        for integration in self.integrations:
            params = integration.route.match(method, path)
            if params is not None:
                return integration, params
        return None, {}

    def _answer(
        self, integration: Integration, method: str, path: str, event: dict[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            result = integration.call(event)
        except Exception:  # noqa: BLE001 - a crash is API Gateway's 502, as deployed
            log.error("%s %s: the handler raised\n%s", method, path, redact_text(traceback.format_exc()))
            return _internal_error()
        try:
            return _parse_result(result, integration.payload_version, self.kind)
        except _Malformed as exc:
            log.error("%s %s: %s", method, path, redact_text(str(exc)))
            return _internal_error()

    def _event(
        self, integration: Integration, request: PreparedRequest, params: dict[str, str], path: str, query: str
    ) -> dict[str, Any]:
        incoming = _Incoming.of(request, integration.route, params, path, query)
        if integration.payload_version == "1.0":
            event = _event_v1(incoming, self.stage, self.stage_variables)
            if self.kind == "http":  # an HTTP API says which format it sent; a REST API never does
                event = {"version": "1.0", **event}
            return event
        return _event_v2(incoming, self.stage, self.stage_variables)


@dataclass(frozen=True)
class _Incoming:
    """What both payload formats are built from: the request as API Gateway would have seen it."""

    method: str
    route: Route
    params: dict[str, str]
    path: str
    query: str
    pairs: list[tuple[str, str]]
    headers: dict[str, str]
    body: str | None
    is_base64: bool
    host: str
    request_id: str
    now: datetime

    @classmethod
    def of(cls, request: PreparedRequest, route: Route, params: dict[str, str], path: str, query: str) -> _Incoming:
        parts = urlsplit(request.url or "")
        # What API Gateway adds in front of the client's own headers.
        headers: dict[str, str] = {
            "Host": parts.netloc,
            "X-Forwarded-For": "127.0.0.1",
            "X-Forwarded-Port": str(parts.port or (443 if parts.scheme == "https" else 80)),
            "X-Forwarded-Proto": parts.scheme,
            "X-Amzn-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
        }
        headers.update({
            name: str(value) for name, value in request.headers.items() if name.lower() not in _HOP_BY_HOP
        })
        body, is_base64 = _encode_body(request.body)
        return cls(
            method=(request.method or "GET").upper(), route=route, params=params, path=path, query=query,
            pairs=parse_qsl(query, keep_blank_values=True), headers=headers, body=body, is_base64=is_base64,
            host=parts.netloc, request_id=str(uuid.uuid4()), now=datetime.now(UTC),
        )

    @property
    def user_agent(self) -> str:
        return self.headers.get("User-Agent", "")

    @property
    def request_time(self) -> str:
        return self.now.strftime("%d/%b/%Y:%H:%M:%S +0000")

    @property
    def epoch_ms(self) -> int:
        return int(self.now.timestamp() * 1000)


def _event_v1(incoming: _Incoming, stage: str, stage_variables: dict[str, str]) -> dict[str, Any]:
    multi_query: dict[str, list[str]] = {}
    for name, value in incoming.pairs:
        multi_query.setdefault(name, []).append(value)
    return {
        "resource": incoming.route.path,
        "path": incoming.path,
        "httpMethod": incoming.method,
        "headers": dict(incoming.headers),
        "multiValueHeaders": {name: [value] for name, value in incoming.headers.items()},
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": incoming.params or None,
        "stageVariables": stage_variables or None,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": "local",
            "domainName": incoming.host,
            "domainPrefix": incoming.host.split(".")[0],
            "extendedRequestId": incoming.request_id,
            "httpMethod": incoming.method,
            "identity": {
                "accessKey": None, "accountId": None, "caller": None,
                "cognitoAuthenticationProvider": None, "cognitoAuthenticationType": None,
                "cognitoIdentityId": None, "cognitoIdentityPoolId": None, "principalOrgId": None,
                "sourceIp": "127.0.0.1", "user": None, "userAgent": incoming.user_agent, "userArn": None,
            },
            "path": f"/{stage}{incoming.path}",
            "protocol": "HTTP/1.1",
            "requestId": incoming.request_id,
            "requestTime": incoming.request_time,
            "requestTimeEpoch": incoming.epoch_ms,
            "resourceId": "local",
            "resourcePath": incoming.route.path,
            "stage": stage,
        },
        "body": incoming.body,
        "isBase64Encoded": incoming.is_base64,
    }


def _event_v2(incoming: _Incoming, stage: str, stage_variables: dict[str, str]) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for name, value in incoming.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    query: dict[str, str] = {}
    for name, value in incoming.pairs:
        query[name] = f"{query[name]},{value}" if name in query else value
    raw_path = incoming.path if stage == "$default" else f"/{stage}{incoming.path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": incoming.route.key,
        "rawPath": raw_path,
        "rawQueryString": incoming.query,
        "cookies": cookies,
        "headers": headers,
        "queryStringParameters": query,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": "local",
            "domainName": incoming.host,
            "domainPrefix": incoming.host.split(".")[0],
            "http": {
                "method": incoming.method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": incoming.user_agent,
            },
            "requestId": incoming.request_id,
            "routeKey": incoming.route.key,
            "stage": stage,
            "time": incoming.request_time,
            "timeEpoch": incoming.epoch_ms,
        },
        "body": incoming.body,
        "pathParameters": incoming.params,
        "isBase64Encoded": incoming.is_base64,
        "stageVariables": stage_variables,
    }
    # HTTP APIs leave out what is empty instead of sending null.
    for optional in ("cookies", "queryStringParameters", "body", "pathParameters", "stageVariables"):
        if not event[optional]:
            del event[optional]
    return event


def _encode_body(body: Any) -> tuple[str | None, bool]:
    """The event's ``body`` and ``isBase64Encoded`` for a request body requests prepared."""
    if body is None:
        return None, False
    if isinstance(body, str):
        data = body.encode("utf-8")
    elif isinstance(body, (bytes, bytearray)):
        data = bytes(body)
    elif hasattr(body, "read"):
        data = body.read()
        data = data.encode("utf-8") if isinstance(data, str) else data
    else:  # a generator of chunks (a streamed upload)
        data = b"".join(c.encode("utf-8") if isinstance(c, str) else c for c in body)
    if not data:
        return None, False
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), True


class _Malformed(Exception):
    """The handler's answer is not a proxy response API Gateway would accept."""


def _internal_error() -> tuple[int, list[tuple[str, str]], bytes]:
    return 502, [("Content-Type", "application/json")], b'{"message": "Internal server error"}'


def _no_route(kind: ApiKind) -> tuple[int, list[tuple[str, str]], bytes]:
    """API Gateway's own answer when no route takes the request (method and path)."""
    if kind == "rest":  # a REST API cannot tell an unknown route from an unsigned request
        return 403, [("Content-Type", "application/json"),
                     ("x-amzn-ErrorType", "MissingAuthenticationTokenException")], \
            b'{"message":"Missing Authentication Token"}'
    return 404, [("Content-Type", "application/json")], b'{"message":"Not Found"}'


def _parse_result(
    result: Any, payload_version: str, kind: ApiKind = "rest"
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, header pairs and body from what the function returned, as API Gateway reads it."""
    if isinstance(result, Invocation):
        if result.function_error:
            raise _Malformed(f"the function failed ({result.function_error}): {result.payload[:500]!r}")
        result = result.payload
    raw: bytes | None = None  # the function's answer as Lambda returned it, when we have it
    if isinstance(result, (bytes, bytearray)):
        raw = bytes(result).strip()
        try:
            result = json.loads(raw) if raw else None
        except ValueError as exc:
            raise _Malformed(f"the function's payload is not JSON ({exc})") from None
    else:
        try:  # Lambda serialises the return value; what json cannot encode fails there too
            result = json.loads(json.dumps(result))
        except (TypeError, ValueError) as exc:
            raise _Malformed(f"the function's return value is not JSON-serialisable ({exc})") from None
    if payload_version == "2.0" and not (isinstance(result, dict) and "statusCode" in result):
        # HTTP APIs infer a 200 application/json response whose body is the function's answer:
        # a string is sent as its text, any other value as its JSON.
        text = result if isinstance(result, str) else None
        body = text.encode("utf-8") if text is not None else raw or json.dumps(result).encode("utf-8")
        return 200, [("Content-Type", "application/json")], body
    if not isinstance(result, dict):
        raise _Malformed(f"a proxy response must be an object with statusCode, got {type(result).__name__}")
    if payload_version == "1.0" and kind == "rest" and set(result) - _V1_RESPONSE_KEYS:
        raise _Malformed(f"unexpected keys in the proxy response: {sorted(set(result) - _V1_RESPONSE_KEYS)}")
    status = _status(result.get("statusCode"))
    headers = _header_pairs(result)
    if payload_version == "2.0":
        cookies = result.get("cookies") or []
        if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
            raise _Malformed(f"cookies must be a list of strings, got {cookies!r}")
        headers += [("Set-Cookie", cookie) for cookie in cookies]
    elif not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return status, headers, _body(result)


def _status(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not is_http_status(value):
        raise _Malformed(f"statusCode must be an HTTP status number, got {value!r}")
    return int(value)


def _header_pairs(result: dict[str, Any]) -> list[tuple[str, str]]:
    """Both header maps merged as API Gateway does: every multi value, plus single values not already there."""
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise _Malformed("headers and multiValueHeaders must be objects")
    pairs: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise _Malformed(f"multiValueHeaders[{name!r}] must be a list, got {values!r}")
        pairs.extend((name, _header_value(name, value)) for value in values)
    present = {(name.lower(), value) for name, value in pairs}
    for name, value in single.items():
        text = _header_value(name, value)
        if (name.lower(), text) not in present:
            pairs.append((name, text))
    return pairs


def _header_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    raise _Malformed(f"header {name!r} must be a string or number, got {value!r}")


def _body(result: dict[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise _Malformed(f"body must be a string (serialise JSON yourself), got {type(body).__name__}")
    if result.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _Malformed(f"isBase64Encoded is true but the body is not base64 ({exc})") from None
    return body.encode("utf-8")


def _build_response(
    request: PreparedRequest, status: int, headers: Iterable[tuple[str, str]], body: bytes
) -> Response:
    """A ``requests`` response the way ``HTTPAdapter`` builds one from urllib3's, cookies included."""
    header_dict = HTTPHeaderDict()
    for name, value in headers:
        header_dict.add(name, value)
    # requests reads cookies from the original (http.client) response's ``msg``; a closed stand-in
    # carrying the headers is enough, the same trick the ``responses`` library uses.
    closed = BytesIO()
    closed.close()
    original = HTTPResponse(body=closed, msg=header_dict, preload_content=False)  # type: ignore[arg-type]
    raw = HTTPResponse(
        body=BytesIO(body),
        headers=header_dict,
        status=status,
        reason=_reason(status),
        preload_content=False,
        original_response=original,  # type: ignore[arg-type]
        request_method=request.method,
    )
    response = Response()
    response.status_code = status
    response.headers = CaseInsensitiveDict(header_dict)
    response.encoding = get_encoding_from_headers(response.headers)
    response.raw = raw
    response.reason = raw.reason or ""
    response.url = request.url or ""
    response.request = request
    extract_cookies_to_jar(response.cookies, request, raw)  # type: ignore[no-untyped-call]  # requests' own helper
    return response


def _reason(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None
