"""Smoke calls to the API in front of the function: the ``api`` a check asks for.

::

    @post_traffic(timeout=10)
    def order_api_answers(api):
        api.get("/orders/ORD-1").expect(status=200, within_ms=800)

:class:`Api` is a thin layer over a ``requests.Session``: paths are joined to one base URL, each
call is bounded by the check's timeout, connection failures and 502/503/504 are retried by
urllib3's ``Retry``, and the answer is an :class:`ApiResponse` with the same ``.expect(...)`` as an
invocation. The same check runs against a deployed API (:meth:`Api.from_environment`) and, in CI,
against the function's code through an in-process API Gateway (``hookkit.local.apigw.in_process_api``).

Nothing a call reports shows a secret: URLs in subjects and errors go through
:func:`hookkit.core.redact.redact_url`, and auth lives in ``requests`` auth objects whose ``repr`` shows
no secret; urllib3's and botocore's own log lines are filtered through the same redaction.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from functools import cached_property
from http.client import RemoteDisconnected
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.exceptions import ProtocolError
from urllib3.util.retry import Retry

from ..core import settings
from ..core.errors import ConfigurationError, InvokeError
from ..core.redact import install_log_redaction, redact_text, redact_url
from ..core.version import __version__
from .auth import ClientFactory, auth_from_environment
from .expect import Expectable, Observed, observe_http

__all__ = ["DEFAULT_OUTPUT_KEY", "RETRY_STATUSES", "Api", "ApiResponse", "new_session", "user_agent"]

DEFAULT_OUTPUT_KEY = "ApiUrl"
RETRY_STATUSES = frozenset({502, 503, 504})
_URL_EXAMPLE = "https://abc123.execute-api.eu-west-1.amazonaws.com/Prod"

log = logging.getLogger(__name__)
# urllib3 logs every retry with the full URL, botocore's signer the canonical request at DEBUG.
install_log_redaction("urllib3.connectionpool", "urllib3.util.retry", "botocore.auth")


def user_agent() -> str:
    """``hookkit/<version> python-requests/<version>``: API logs and WAF rules can tell smoke calls apart."""
    return f"hookkit/{__version__} python-requests/{requests.__version__}"


class ApiResponse(Expectable):
    """One smoke call's answer; ``.expect(...)`` checks it and returns it, so calls chain.

    ``duration_ms`` is what the caller waited: from sending to the whole body, retries included.

    A 5xx answer is *examined* once the check calls ``.expect(...)`` on it; one never examined
    fails the check (see :meth:`Api.unexamined_failures`), as a function error never examined
    does for an invoke: ``api.post(...)`` alone must not pass against a version that crashes
    (API Gateway's 502). Reading ``status_code``, ``body``, ``text`` or ``json()`` does not
    examine it (logging or printing them would), and ``.expect(status=503)`` is how a check
    says an error status is expected.
    """

    def __init__(
        self, response: requests.Response, *, subject: str, duration_ms: float, base_dir: Path | None,
        call: str | None = None,
    ) -> None:
        self.response = response
        self.subject = subject
        self.duration_ms = duration_ms
        self.base_dir = base_dir
        self.call = call or subject  # ``GET https://.../orders/1``, redacted, for messages
        self.examined = False

    def _expecting(self) -> None:
        self.examined = True

    @cached_property
    def observed(self) -> Observed:
        return observe_http(
            self.subject,
            self.response.status_code,
            self.response.content,
            self.response.headers.get("Content-Type"),
            self.duration_ms,
        )

    @property
    def headers(self) -> Mapping[str, str]:
        return self.response.headers

    @property
    def body(self) -> Any:
        """The decoded body: JSON when it parses as JSON, else text, ``None`` when empty."""
        return self.observed.body

    @property
    def text(self) -> str:
        return self.response.text

    @property
    def content(self) -> bytes:
        return self.response.content

    def json(self) -> Any:
        return self.response.json()

    def __repr__(self) -> str:
        return f"<ApiResponse {self.subject}: status={self.status}>"


class Api:
    """Smoke calls against one API base URL, each bounded by the check's ``timeout`` (seconds).

    ``retries`` applies to connection failures (any method: nothing was sent) and to 502/503/504
    answers (idempotent methods only, so a POST that may have created an order is not sent
    twice); read timeouts are not retried, since each would cost a whole timeout. A ``session``
    passed in is used as is, its adapters and retries included.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        auth: AuthBase | None = None,
        session: requests.Session | None = None,
        base_dir: Path | None = None,
        retries: int = 2,
        backoff_factor: float = 0.5,
        connect_timeout: float = 3.05,
        source: str = "base_url",
    ) -> None:
        if not timeout > 0:
            raise ConfigurationError(f"Api timeout must be a positive number of seconds, got {timeout!r}")
        self.base_url = _checked_base_url(base_url, source)
        self.timeout = float(timeout)
        self.connect_timeout = min(connect_timeout, self.timeout)
        self.auth = auth
        self.base_dir = base_dir
        self.session = session if session is not None else new_session(retries, backoff_factor)
        self._failed_calls: list[ApiResponse] = []  # 5xx answers, for unexamined_failures

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str],
        *,
        timeout: float,
        base_dir: Path | None = None,
        cloudformation: ClientFactory | None = None,
        ssm: ClientFactory | None = None,
        secretsmanager: ClientFactory | None = None,
        credentials: Any = None,
    ) -> Api:
        """The deployed API, as the hook's environment describes it.

        The base URL is ``HOOKKIT_API_URL``, else the ``HOOKKIT_API_OUTPUT`` output (default
        ``ApiUrl``) of the CloudFormation stack ``HOOKKIT_STACK_NAME``. Auth comes from the
        ``HOOKKIT_API_KEY`` / ``HOOKKIT_API_TOKEN`` / ``HOOKKIT_API_AUTH`` variables (see
        :mod:`hookkit.checks.auth`). Clients are made only when needed; pass factories to inject them.
        """
        base_url, source = _base_url_from_environment(environ, cloudformation)
        checked = _checked_base_url(base_url, source)
        auth = auth_from_environment(
            environ, base_url=checked, ssm=ssm, secretsmanager=secretsmanager, credentials=credentials
        )
        return cls(checked, timeout=timeout, auth=auth, base_dir=base_dir, source=source)

    def url(self, path: str) -> str:
        """The absolute URL for ``path``; absolute URLs are refused so credentials stay on this API."""
        if "://" in path.split("?", 1)[0]:
            raise ConfigurationError(
                f"api path {redact_url(path)!r}: pass a path relative to the API's base URL "
                f"({redact_url(self.base_url)}), e.g. '/orders/ORD-1'"
            )
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    def request(
        self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any
    ) -> ApiResponse:
        """Call ``method path``; ``kwargs`` are ``requests``' (``params``, ``json``, ``data``, ``headers``...).

        A ``timeout`` here can only shorten the check's. A failure before any answer raises
        InvokeError saying which call, what happened and after how long.
        """
        method = method.upper()
        url = self.url(path)
        read_timeout = self.timeout if timeout is None else min(float(timeout), self.timeout)
        connect_timeout = min(self.connect_timeout, read_timeout)
        shown = requests.PreparedRequest()  # the URL as sent, ``params`` included, for messages
        shown.prepare_url(url, kwargs.get("params"))
        subject = f"{method} {redact_url(shown.url or url)}"
        if self.auth is not None:
            kwargs.setdefault("auth", self.auth)
        started = time.perf_counter()
        try:
            response = self.session.request(method, url, timeout=(connect_timeout, read_timeout), **kwargs)
        except requests.RequestException as exc:
            elapsed = time.perf_counter() - started
            what = redact_text(_describe(exc, url, connect_timeout, read_timeout))
            raise InvokeError(f"{subject} failed after {elapsed:.2f} s: {what}") from None
        duration_ms = (time.perf_counter() - started) * 1000
        log.debug("%s -> %s in %.0f ms", subject, response.status_code, duration_ms)
        answer = ApiResponse(
            response,
            subject=f"{subject} (answered {response.status_code} in {duration_ms:.0f} ms)",
            duration_ms=duration_ms,
            base_dir=self.base_dir,
            call=subject,
        )
        if response.status_code >= 500:
            self._failed_calls.append(answer)
        return answer

    def unexamined_failures(self) -> list[str]:
        """5xx answers this check never called ``.expect(...)`` on; the runner fails the check on any."""
        return [f"{r.call} answered {r.response.status_code}" for r in self._failed_calls if not r.examined]

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        """Release pooled connections; the API object is not used after."""
        self.session.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Api({redact_url(self.base_url)!r}, timeout={self.timeout:g}, auth={self.auth!r})"


def new_session(retries: int, backoff_factor: float) -> requests.Session:
    """A session with hookkit's User-Agent, retrying connection failures and 502/503/504 ``retries`` times."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent()
    retry = Retry(
        total=retries,
        connect=retries,
        status=retries,
        read=0,
        other=0,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        raise_on_status=False,  # the last 5xx is returned, so the check reports the real answer
        # A server's Retry-After may exceed the check's whole budget; our short backoff applies.
        respect_retry_after_header=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _checked_base_url(url: str, source: str) -> str:
    """``url`` if it can serve as a base URL; else a ConfigurationError naming where it came from."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        usable = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and not (parts.query or parts.fragment)
            and not any(c.isspace() for c in text)
        )
    except ValueError:  # e.g. an unclosed IPv6 bracket
        usable = False
    if not usable:
        raise ConfigurationError(
            f"{source}: {redact_url(url)!r} is not an http(s) base URL; set it to the API's URL "
            f"without query or fragment, e.g. {_URL_EXAMPLE}"
        )
    return text


def _base_url_from_environment(
    environ: Mapping[str, str], cloudformation: ClientFactory | None
) -> tuple[str, str]:
    """The API's base URL and a description of where it came from, for error messages."""
    url = environ.get(settings.API_URL, "").strip()
    if url:
        return url, settings.API_URL
    stack = environ.get(settings.STACK_NAME, "").strip()
    if not stack:
        raise ConfigurationError(
            f"no API URL: set {settings.API_URL} to the API's base URL (e.g. {_URL_EXAMPLE}), or "
            f"{settings.STACK_NAME} (and {settings.API_OUTPUT}, default {DEFAULT_OUTPUT_KEY}) to read it "
            "from a CloudFormation stack output (hookkit run: pass --api URL, or --api local)"
        )
    output = environ.get(settings.API_OUTPUT, "").strip() or DEFAULT_OUTPUT_KEY
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if cloudformation is None:
            import boto3

            client = boto3.client("cloudformation")
        else:
            client = cloudformation()
        stacks = client.describe_stacks(StackName=stack)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise ConfigurationError(
            f"{settings.STACK_NAME}={stack!r}: cannot read the stack ({exc}); check the name and region, "
            "and that the hook's role may call cloudformation:DescribeStacks"
        ) from None
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in (stacks[0].get("Outputs") or [])}
    if output not in outputs:
        known = ", ".join(sorted(outputs)) or "none"
        raise ConfigurationError(
            f"stack {stack!r} has no output {output!r} ({settings.API_OUTPUT}); its outputs are: {known}. "
            f"Set {settings.API_OUTPUT} to the output holding the API URL, or add that output to the template"
        )
    return outputs[output], f"output {output!r} of stack {stack!r} ({settings.STACK_NAME}, {settings.API_OUTPUT})"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: requests and urllib3 nest the real cause several levels deep."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
        pending.extend(n for n in nested if isinstance(n, BaseException))


def _describe(exc: requests.RequestException, url: str, connect_timeout: float, read_timeout: float) -> str:
    """What went wrong, in plain words."""
    causes = list(_causes(exc))
    host = urlsplit(url).hostname or url

    def found(kind: type[BaseException] | tuple[type[BaseException], ...]) -> BaseException | None:
        return next((c for c in causes if isinstance(c, kind)), None)

    if isinstance(exc, requests.ConnectTimeout):
        return f"could not connect to {host} within the connect timeout of {connect_timeout:g} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"no answer within the read timeout of {read_timeout:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        tls = found(ssl.SSLError)
        detail = (getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or str(tls)) if tls else str(exc)
        return f"TLS handshake with {host} failed ({detail})"
    if isinstance(exc, requests.ConnectionError):
        if found(socket.gaierror):
            return f"DNS lookup for {host} failed (no such host?)"
        if found(ConnectionRefusedError):
            return "connection refused"
        if found(ConnectionResetError):
            return "connection reset by the server"
        if found(socket.timeout):
            return f"no answer within the read timeout of {read_timeout:g} s"
        if found((RemoteDisconnected, ProtocolError)):
            return "the server closed the connection without answering"
        return f"connection failed ({exc})"
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return f"the answer's body was cut off or could not be decoded ({exc})"
    return f"{type(exc).__name__}: {exc}"

