"""The one interface every way of running a function sits behind.

A deployed version is invoked through boto3; in CI the function's own code runs in local execution
environments (``hookkit.local``). Both return an :class:`Invocation`, so checks, expectations and
reports never know which ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Invocation:
    """What one invoke returned, before any interpretation.

    ``status_code`` is Lambda's own (200 for a synchronous invoke that ran, even if the function
    raised); ``function_error`` is set when the function raised (``Unhandled``/``Handled``) and
    ``payload`` then holds its ``errorType``/``errorMessage`` JSON.
    """

    status_code: int
    payload: bytes
    function_error: str | None = None
    log_tail: str = ""
    executed_version: str | None = None
    duration_ms: float = 0.0


class Invoker(Protocol):
    """Runs one version of one function synchronously with a JSON payload.

    ``qualifier`` is a published version number; implementations must refuse ``$LATEST`` and
    alias names (see ``hookkit.core.errors.TargetError``) because those do not name the new code.
    ``timeout`` (seconds) bounds the whole call including retries.
    """

    def invoke(self, payload: bytes, *, qualifier: str, timeout: float) -> Invocation: ...
