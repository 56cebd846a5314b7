"""Authentication for smoke calls: an API key, a bearer token, or IAM (SigV4).

Each is a ``requests`` auth object, so it applies to every call of a session and composes with
the rest of ``requests``. Their ``repr`` never shows the secret. Secret values come from the
environment directly or by reference to SSM Parameter Store / Secrets Manager, read through
Powertools' parameters utility (imported only when a reference is used):

========================  ===============================================================
``HOOKKIT_API_KEY``       API key, sent in ``HOOKKIT_API_KEY_HEADER`` (default ``x-api-key``)
``HOOKKIT_API_TOKEN``     bearer token, sent as ``Authorization: Bearer ...``
``HOOKKIT_API_AUTH=iam``  sign each request with the hook's own AWS credentials (SigV4)
========================  ===============================================================

A value of ``ssm:/path/to/param`` or ``secretsmanager:secret-id`` is fetched instead of used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from requests import PreparedRequest
from requests.auth import AuthBase

from ..core import settings
from ..core.errors import ConfigurationError

ClientFactory = Callable[[], Any]

SSM_PREFIX = "ssm:"
SECRETS_PREFIX = "secretsmanager:"
DEFAULT_KEY_HEADER = "x-api-key"

# botocore already leaves hop-by-hop headers and User-Agent unsigned; CloudFront (in front of
# edge-optimised APIs) normalises Accept-Encoding, so signing it would break verification.
_UNSIGNED_HEADERS = frozenset({"accept-encoding"})
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_FUNCTION_URL_HOST = re.compile(r"\.lambda-url\.(?P<region>[a-z0-9-]+)\.on\.aws$")


class ApiKeyAuth(AuthBase):
    """Sends an API Gateway API key (usage plans) in a header."""

    def __init__(self, key: str, header: str = DEFAULT_KEY_HEADER) -> None:
        self._key = key
        self.header = header

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers[self.header] = self._key
        return request

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={self.header!r})"


class BearerAuth(AuthBase):
    """Sends ``Authorization: Bearer <token>`` (Cognito, JWT and Lambda authorizers)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth()"


class SigV4Auth(AuthBase):
    """Signs each request for an IAM-authorised API with botocore's own SigV4 signer.

    ``credentials`` is a botocore credentials object, or a zero-argument callable returning one
    (default: the standard AWS chain, resolved on the first request). Refreshable credentials are
    frozen per request so a rotation mid-signature cannot mix two key pairs.
    """

    def __init__(
        self,
        region: str,
        *,
        service: str = "execute-api",
        credentials: Any = None,
    ) -> None:
        self.region = region
        self.service = service
        self._credentials = credentials

    def _frozen_credentials(self) -> Any:
        if self._credentials is None:
            import botocore.session

            self._credentials = botocore.session.get_session().get_credentials()
        credentials = self._credentials() if callable(self._credentials) else self._credentials
        if credentials is None:
            raise ConfigurationError(
                "IAM auth (HOOKKIT_API_AUTH=iam) needs AWS credentials and none were found; give the "
                "hook's role execute-api:Invoke, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
                "AWS_PROFILE where it runs outside Lambda"
            )
        freeze = getattr(credentials, "get_frozen_credentials", None)
        return freeze() if freeze is not None else credentials

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        from botocore.auth import SigV4Auth as BotocoreSigV4
        from botocore.awsrequest import AWSRequest

        url = request.url or ""
        parts = urlsplit(url)
        # Query pairs are handed over decoded so botocore canonicalises them its own (RFC 3986)
        # way, as the service does, whatever encoding requests chose (``+`` vs ``%20``).
        params = parse_qsl(parts.query, keep_blank_values=True)
        headers = {
            name: value for name, value in request.headers.items() if name.lower() not in _UNSIGNED_HEADERS
        }
        body = request.body
        if body is not None and not isinstance(body, (bytes, str)):
            raise ConfigurationError(
                f"{request.method} {parts.path}: IAM-signed calls need the body in memory (bytes, str, "
                "json= or data=); a streamed body cannot be hashed for the signature"
            )
        aws_request = AWSRequest(
            method=request.method,
            url=urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
            headers=headers,
            data=body,
            params=params,  # type: ignore[arg-type]  # pairs keep repeated keys; botocore takes them, its stub says Mapping
        )
        BotocoreSigV4(self._frozen_credentials(), self.service, self.region).add_auth(aws_request)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in aws_request.headers:
                request.headers[name] = aws_request.headers[name]
        return request

    def __repr__(self) -> str:
        return f"SigV4Auth(region={self.region!r}, service={self.service!r})"


class AuthChain(AuthBase):
    """Applies several auths in order (an API key *and* IAM); a signer must come last."""

    def __init__(self, *auths: AuthBase) -> None:
        self.auths = auths

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        for auth in self.auths:
            request = auth(request)
        return request

    def __repr__(self) -> str:
        return f"AuthChain{self.auths!r}"


def resolve_secret(
    value: str,
    *,
    variable: str,
    ssm: ClientFactory | None = None,
    secretsmanager: ClientFactory | None = None,
) -> str:
    """The secret itself: ``value`` as is, or fetched when it is an ``ssm:``/``secretsmanager:`` reference.

    The error names the variable and the reference (never a secret) so the fix is obvious.
    """
    if value.startswith(SSM_PREFIX):
        kind, name = "SSM parameter", value[len(SSM_PREFIX):]
    elif value.startswith(SECRETS_PREFIX):
        kind, name = "Secrets Manager secret", value[len(SECRETS_PREFIX):]
    else:
        return value
    if not name:
        raise ConfigurationError(f"{variable}: {value!r} names no {kind}; write e.g. ssm:/my-app/api-key")
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        if kind == "SSM parameter":
            provider: Any = parameters.SSMProvider(boto3_client=ssm() if ssm else None)
            secret = provider.get(name, decrypt=True)
        else:
            provider = parameters.SecretsProvider(boto3_client=secretsmanager() if secretsmanager else None)
            secret = provider.get(name)
    except GetParameterError as exc:
        raise ConfigurationError(
            f"{variable}: could not read {kind} {name!r} ({exc}); check the name and that the hook's "
            "role may read it (and decrypt it with its KMS key)"
        ) from None
    return secret.decode("utf-8") if isinstance(secret, bytes) else str(secret)


def region_for(url: str, environ: Mapping[str, str]) -> str:
    """The region to sign for: from an execute-api or function URL host, else the environment."""
    host = urlsplit(url).hostname or ""
    match = _EXECUTE_API_HOST.search(host) or _FUNCTION_URL_HOST.search(host)
    if match:
        return match["region"]
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigurationError(
            f"IAM auth for {host or url!r}: cannot tell the region from a custom domain; set AWS_REGION"
        )
    return region


def auth_from_environment(
    environ: Mapping[str, str],
    *,
    base_url: str,
    ssm: ClientFactory | None = None,
    secretsmanager: ClientFactory | None = None,
    credentials: Any = None,
) -> AuthBase | None:
    """The auth the ``HOOKKIT_API_*`` variables ask for (see the module doc), or None for none."""
    auths: list[AuthBase] = []
    key = environ.get(settings.API_KEY, "").strip()
    if key:
        header = environ.get(settings.API_KEY_HEADER, "").strip() or DEFAULT_KEY_HEADER
        secret = resolve_secret(key, variable=settings.API_KEY, ssm=ssm, secretsmanager=secretsmanager)
        auths.append(ApiKeyAuth(secret, header))
    token = environ.get(settings.API_TOKEN, "").strip()
    if token:
        auths.append(BearerAuth(
            resolve_secret(token, variable=settings.API_TOKEN, ssm=ssm, secretsmanager=secretsmanager)
        ))
    mode = environ.get(settings.API_AUTH, "").strip().lower()
    if mode == "iam":
        if token:
            raise ConfigurationError(
                f"{settings.API_TOKEN} and {settings.API_AUTH}=iam both set the Authorization header; keep one"
            )
        host = urlsplit(base_url).hostname or ""
        service = "lambda" if _FUNCTION_URL_HOST.search(host) else "execute-api"
        auths.append(SigV4Auth(region_for(base_url, environ), service=service, credentials=credentials))
    elif mode not in ("", "none"):
        raise ConfigurationError(
            f"{settings.API_AUTH}: unknown value {mode!r}; use 'iam' to sign with SigV4, or set "
            f"{settings.API_KEY} / {settings.API_TOKEN} for key or token auth"
        )
    if not auths:
        return None
    return auths[0] if len(auths) == 1 else AuthChain(*auths)
