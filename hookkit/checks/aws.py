"""How hookkit reads AWS's answers: error codes, what is worth a retry, and what is a denial.

The hook makes three kinds of AWS call (the report, discovery's reads, the target's invoke) and
each must tell "try again" from "grant a permission" from "this is wrong"; the rules live here
once so the three can never disagree.
"""

from __future__ import annotations

import re

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "ProvisionedThroughputExceededException",
    "SlowDown", "EC2ThrottledException", "RequestThrottled", "BandwidthLimitExceeded",
})
TRANSIENT_CODES = frozenset({
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "InternalError",
    "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException", "ServiceException",
})
#: Refusals a retry cannot fix: the caller's identity may not do this (or is not recognised).
DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
    "UnrecognizedClientException",
})

_DENIED_RESOURCE = re.compile(r"\bon resource: (\S+)")


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (``""`` for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    """The AWS error message of a ``ClientError`` (``""`` for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", ""))
    return ""


def is_access_denied(code: str) -> bool:
    return code in DENIED_CODES or "AccessDenied" in code


def is_throttling(code: str) -> bool:
    return code in THROTTLING_CODES


def is_transient(exc: BaseException) -> bool:
    """Throttling, a 5xx, or a connection-level failure: worth another try."""
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return True
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0
        return code in THROTTLING_CODES or code in TRANSIENT_CODES or status >= 500 or status == 429
    return False


def denied_resource(message: str) -> str | None:
    """The ARN an AccessDenied message names (``... to perform: <action> on resource: <arn> ...``).

    IAM words its refusals this way for every service; repeating that exact ARN in the fix lets
    an operator grant the one permission missing instead of guessing at a resource pattern.
    """
    found = _DENIED_RESOURCE.search(message or "")
    return found.group(1).rstrip(".,;") if found else None


def permission(action: str, message: str, fallback: str) -> str:
    """``<action> on <resource>``: the permission to grant, the resource taken from AWS's refusal when it names one."""
    return f"{action} on {denied_resource(message) or fallback}"
