"""The one interface every way of running a function sits behind.

A deployed version is invoked through boto3; in CI the function's own code runs in local execution
environments (``hookkit.local``). Both return an :class:`Invocation`, so checks, expectations and
reports never know which ran.
"""

from __future__ import annotations

from collections.abc import Callable
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


class PendingInvocation(Protocol):
    """An invoke under way that no thread waits for; :meth:`step` never blocks.

    Its driver waits until :meth:`fileno` is readable (``None``: until the ``notify`` given to
    ``begin`` is called) or :attr:`wake_at` (monotonic) comes, then calls :meth:`step`.
    """

    @property
    def wake_at(self) -> float: ...

    def fileno(self) -> int | None: ...

    def step(self, readable: bool) -> Invocation | None: ...

    def cancel(self) -> None: ...


class BeginsInvocations(Invoker, Protocol):
    """An invoker that can also begin an invoke without a thread waiting for it (a local target's).

    ``begin`` returns ``None``, having done nothing, when the invoke cannot go on that way (it
    needs a process started first): :meth:`Invoker.invoke` then does it.
    """

    def begin(
        self, payload: bytes, *, qualifier: str, timeout: float, notify: Callable[[], None]
    ) -> PendingInvocation | None: ...
