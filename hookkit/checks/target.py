"""``target``: the new version of the function, invoked by version number and checked.

In BeforeAllowTraffic the alias still points at the old version, and ``$LATEST`` may be anything
at all; the only honest way to test the new code is its published version number. A Target
refuses every other qualifier.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, cast

from ..core import settings
from ..core.deployment import Deployment, LambdaTarget
from ..core.errors import ConfigurationError, Difference, ExpectationFailed, InvokeError, TargetError
from ..core.retry import call_with_retries
from .eventfiles import event_payload
from .expect import Expectable, Observed, observe_invocation
from .invocation import BeginsInvocations, Invocation, Invoker, PendingInvocation
from .jsondiff import diff

if TYPE_CHECKING:
    from botocore.exceptions import ClientError as BotoClientError

_VERSION = re.compile(r"^[0-9]+$")
#: What a check may invoke with: an event as JSON data, or the path of a recorded event file.
Event = Mapping[str, Any] | list[Any] | str | os.PathLike[str]
INVOKE_ACTION = "lambda:InvokeFunction"


def require_version(function_name: str, qualifier: Any) -> str:
    """A published version number, or a TargetError saying why anything else is unsafe."""
    text = str(qualifier).strip() if qualifier is not None else ""
    if not _VERSION.match(text):
        raise TargetError(
            f"refusing to invoke {function_name} with qualifier {text or '(none)'!r}: hookkit invokes "
            "a published version number only. $LATEST may hold unpublished code and an alias still "
            "points at the old version before traffic shifts; pass the version the deployment "
            "installs (HOOKKIT_TARGET_VERSION, or let discovery find it)"
        )
    return text


def unqualified_name(function_name: str) -> str:
    """Refuse names that carry their own qualifier, which would bypass the version guard."""
    parts = function_name.split(":")
    qualified = (function_name.startswith("arn:") and len(parts) > 7) or (
        not function_name.startswith("arn:") and (len(parts) == 2 or len(parts) == 4)
    )
    if qualified:
        raise TargetError(
            f"function {function_name!r} carries a qualifier; name the function alone (name or "
            "unqualified ARN) and let hookkit add the version"
        )
    return function_name


class LambdaInvoker:
    """Invokes a deployed function through boto3, retrying throttling and 5xx within the timeout."""

    def __init__(self, lambda_client: Callable[[], Any], function_name: str) -> None:
        self._client = lambda_client
        self.function_name = unqualified_name(function_name)

    def invoke(self, payload: bytes, *, qualifier: str, timeout: float) -> Invocation:
        from botocore.exceptions import (  # a local run never needs them
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            NoRegionError,
            PartialCredentialsError,
            ReadTimeoutError,
        )

        from .aws import is_transient

        version = require_version(self.function_name, qualifier)
        started = time.monotonic()

        def call() -> Any:
            return self._client().invoke(
                FunctionName=self.function_name,
                Qualifier=version,
                InvocationType="RequestResponse",
                LogType="Tail",
                Payload=payload,
            )

        try:
            response = call_with_retries(call, deadline=started + timeout, retryable=is_transient)
        except ClientError as exc:
            raise self._explain(exc, version, time.monotonic() - started) from exc
        except ReadTimeoutError as exc:
            raise InvokeError(
                f"invoking {self.function_name}:{version} timed out after {time.monotonic() - started:.2f} s "
                "waiting for Lambda's answer"
            ) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:  # the job's set-up: no retry can fix it
            raise ConfigurationError(
                f"invoking {self.function_name}:{version}: {exc}; configure AWS credentials for this job "
                "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a role such as GitHub's OIDC "
                "aws-actions/configure-aws-credentials), or run against a local target (--target local:...)"
            ) from exc
        except NoRegionError as exc:
            raise ConfigurationError(
                f"invoking {self.function_name}:{version}: {str(exc).rstrip('.')}; set AWS_REGION or "
                "AWS_DEFAULT_REGION (or a region in the AWS profile) to the function's region"
            ) from exc
        except BotoCoreError as exc:
            raise InvokeError(
                f"invoking {self.function_name}:{version} failed after {time.monotonic() - started:.2f} s: {exc}"
            ) from exc
        elapsed_ms = (time.monotonic() - started) * 1000.0
        log = response.get("LogResult")
        return Invocation(
            status_code=int(response.get("StatusCode", 0)),
            payload=response["Payload"].read() if response.get("Payload") is not None else b"",
            function_error=response.get("FunctionError"),
            log_tail=base64.b64decode(log).decode("utf-8", "replace") if log else "",
            executed_version=response.get("ExecutedVersion"),
            duration_ms=elapsed_ms,
        )

    def _explain(self, exc: BotoClientError, version: str, elapsed: float) -> InvokeError:
        from .aws import error_code, error_message, is_access_denied, is_throttling, permission

        code, message = error_code(exc), error_message(exc)
        name = f"{self.function_name}:{version}"
        if code == "ResourceNotFoundException":
            hint = "check that the version is published and that the deployment's target version is right"
        elif is_access_denied(code):
            versions = f"arn:aws:lambda:<region>:<account>:function:{self.function_name}:* (the function's versions)"
            hint = f"grant the hook's role {permission(INVOKE_ACTION, message, versions)}"
        elif is_throttling(code):
            hint = (f"still throttled after retrying for {elapsed:.2f} s; raise the check's timeout or the "
                    "function's concurrency")
        else:
            hint = f"after {elapsed:.2f} s"
        return InvokeError(f"invoking {name} failed: {code}: {message}; {hint}")


class InvokeResult(Expectable):
    """What one invoke returned; ``.expect(...)`` checks it and returns it, so calls chain.

    ``status_code`` is the ``statusCode`` of the API Gateway proxy response the function returned,
    and ``None`` for any other answer (a function invoked directly, a function error): Lambda's
    own status, 200 for every invoke that ran, is ``invocation.status_code``.

    A function error is *examined* once the check calls ``.expect(...)`` on the result; one never
    examined fails the check (see :meth:`Target.unexamined_failures`), because
    ``target.invoke(event)`` alone, or ``assert result.status_code == 200``, must not pass for a
    function that crashed. ``.expect(function_error=...)`` is how a check says an error is expected.
    """

    def __init__(self, invocation: Invocation, *, subject: str, base_dir: Path | None) -> None:
        self.invocation = invocation
        self.subject = subject
        self.base_dir = base_dir
        self.examined = False
        self._observed: Observed | None = None

    def _expecting(self) -> None:
        self.examined = True

    def expect_no_function_error(self) -> Self:
        """Check that the function answered without raising; returns the result, so calls chain.

        The expectation for a function invoked directly (an SQS or EventBridge consumer, another
        service's client) when nothing more about its answer needs checking: such a function has
        no HTTP status to expect. Every ``.expect(...)`` includes it, unless it names a
        ``function_error`` the function must raise.
        """
        return self.expect()

    @property
    def observed(self) -> Observed:
        observed = self._observed
        if observed is None:  # worked out once (not a cached_property: its lock costs more than this check)
            observed = self._observed = observe_invocation(self.subject, self.invocation)
        return observed

    @cached_property
    def payload(self) -> Any:
        """The function's raw answer, parsed as JSON (text when it is not JSON)."""
        try:
            return json.loads(self.invocation.payload) if self.invocation.payload else None
        except ValueError:
            return self.invocation.payload.decode("utf-8", "replace")

    @property
    def body(self) -> Any:
        """The decoded proxy body (base64 and JSON undone), or the payload of a non-proxy function."""
        return self.observed.body

    @property
    def function_error(self) -> str | None:
        """``Unhandled`` when the function raised, else ``None``; reading it does not examine it."""
        return self.invocation.function_error

    @property
    def log_tail(self) -> str:
        return self.invocation.log_tail

    @property
    def executed_version(self) -> str | None:
        return self.invocation.executed_version

    @property
    def duration_ms(self) -> float:
        return self.invocation.duration_ms

    def __repr__(self) -> str:
        error = self.invocation.function_error
        return f"<InvokeResult {self.subject}: status={self.status_code} function_error={error}>"


class Target:
    """One version of the function under deployment; ``current`` is the version it replaces."""

    def __init__(
        self,
        invoker: Invoker,
        version: str,
        *,
        function_name: str,
        current: Target | Callable[[], str] | None = None,
        base_dir: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.invoker = invoker
        self.version = version
        self.function_name = function_name
        self._current = current  # a Target, or a callable that finds the current version on demand
        self.base_dir = base_dir
        self.timeout = timeout
        self._failed_calls: list[InvokeResult] = []  # shared with ``current``: one check, one ledger
        if isinstance(current, Target):
            current._failed_calls = self._failed_calls

    @classmethod
    def deployed(
        cls, deployment: Deployment, lambda_client: Callable[[], Any], *, base_dir: Path | None = None,
        timeout: float = 30.0, find_current: Callable[[], str] | None = None,
    ) -> Target:
        """The deployment's target version, and its current version when known.

        ``find_current`` looks the current version up when discovery did not give it (SAM's
        environment shortcut names only the new version); it runs only if a check needs it.
        """
        found = deployment.target
        if not isinstance(found, LambdaTarget):
            kind = type(found).__name__ if found is not None else "no target"
            raise TargetError(
                f"deployment {deployment.deployment_id} is not a Lambda deployment ({kind}); "
                "target.invoke and target.compare need a Lambda function"
            )
        invoker = LambdaInvoker(lambda_client, found.function_name)
        target_version = require_version(found.function_name, found.target_version)
        current: Target | Callable[[], str] | None = find_current
        if found.current_version is not None:
            current = cls(invoker, require_version(found.function_name, found.current_version),
                          function_name=found.function_name, base_dir=base_dir, timeout=timeout)
        return cls(invoker, target_version, function_name=found.function_name, current=current,
                   base_dir=base_dir, timeout=timeout)

    @property
    def current(self) -> Target:
        """The version traffic is shifting away from (for ``compare`` and baselines)."""
        if self._current is None:
            raise TargetError(
                f"target.current: the version of {self.function_name} being replaced is not known to this run; "
                f"in a hook, set {settings.CURRENT_VERSION} on the hook function, or unset {settings.FUNCTION} and "
                f"{settings.TARGET_VERSION} so hookkit reads both versions from CodeDeploy; with hookkit run, "
                "pass --current"
            )
        if not isinstance(self._current, Target):
            version = require_version(self.function_name, self._current())
            self._current = Target(self.invoker, version, function_name=self.function_name,
                                   base_dir=self.base_dir, timeout=self.timeout)
            self._current._failed_calls = self._failed_calls
        return self._current

    def invoke(self, event: Event, *, timeout: float | None = None) -> InvokeResult:
        """Invoke this version with ``event``: a dict, or a recorded event file relative to the checks' folder."""
        payload, label = self._event(event)
        return self.invoke_payload(payload, label, timeout=timeout)

    def invoke_payload(self, payload: bytes, label: str, *, timeout: float | None = None) -> InvokeResult:
        """Invoke with an event already serialised, ``label`` naming it in reports.

        For recorded events, read and checked once at registration: replaying thousands of them
        need not read each file again.
        """
        invocation = self.invoker.invoke(payload, qualifier=self.version, timeout=timeout or self.timeout)
        return self._result(invocation, label)

    def begin_payload(self, payload: bytes, label: str, notify: Callable[[], None]) -> PendingResult | None:
        """:meth:`invoke_payload` with no thread waiting for the answer, when the invoker can do that
        (a local target's; see ``hookkit.core.stages``); ``None``, having done nothing, otherwise."""
        if getattr(self.invoker, "begin", None) is None:
            return None
        invoker = cast(BeginsInvocations, self.invoker)
        pending = invoker.begin(payload, qualifier=self.version, timeout=self.timeout, notify=notify)
        return None if pending is None else PendingResult(self, pending, label)

    def _result(self, invocation: Invocation, label: str) -> InvokeResult:
        result = InvokeResult(
            invocation, subject=f"invoke {self.function_name}:{self.version} with {label}", base_dir=self.base_dir
        )
        if invocation.function_error:
            self._failed_calls.append(result)
        return result

    def unexamined_failures(self) -> list[str]:
        """Function errors this check never looked at; the runner fails the check on any."""
        return [f"{r.subject} raised {r.observed.error or r.invocation.function_error}"
                for r in self._failed_calls if not r.examined]

    def compare(
        self, event: Event, *, ignore: Iterable[str] = (), timeout: float | None = None
    ) -> list[Difference]:
        """Invoke current and target with the same event; raise ``ExpectationFailed`` on any difference.

        ``ignore`` holds JSON pointers into the decoded body (``/createdAt``, ``/items/*/id``) for
        what legitimately changes between calls. Returns ``[]`` when the versions agree.
        """
        ignore = list(ignore)
        current_result, new_result = self.current.invoke(event, timeout=timeout), self.invoke(event, timeout=timeout)
        current_result.examined = new_result.examined = True  # function errors are part of the diff
        current, new = current_result.observed, new_result.observed
        differences = _behaviour_diff(current, new, ignore)
        if differences:
            _, label = self._event(event)
            raise ExpectationFailed(
                f"version {self.version} of {self.function_name} answers {label} differently from version "
                f"{self.current.version} (expected = current, actual = new)",
                differences,
            )
        return differences

    def _event(self, event: Any) -> tuple[bytes, str]:
        if isinstance(event, (str, os.PathLike)):
            path = Path(event)
            relative = not path.is_absolute()
            if relative:
                if self.base_dir is None:
                    raise ConfigurationError(
                        f"target.invoke({os.fspath(event)!r}): a relative event path starts at the checks module's "
                        "folder, which this target was not given; pass an absolute path, or build the Target "
                        "with base_dir=Path(__file__).parent"
                    )
                path = self.base_dir / path
            try:
                return event_payload(path), str(event)
            except ConfigurationError as exc:  # say which call, and where relative paths start
                call = f"target.invoke({os.fspath(event)!r})"
                if relative:
                    call += f" (relative event paths start at the checks module's folder {self.base_dir})"
                raise ConfigurationError(f"{call}: {exc}") from None
        try:
            return json.dumps(event).encode(), "an inline event"
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"the event is not JSON-serialisable ({exc}); pass a dict or a path to a .json file"
            ) from None


class PendingResult:
    """An invoke begun with :meth:`Target.begin_payload`: stepped until its :class:`InvokeResult` is there."""

    __slots__ = ("_label", "_pending", "_target")

    def __init__(self, target: Target, pending: PendingInvocation, label: str) -> None:
        self._target, self._pending, self._label = target, pending, label

    @property
    def wake_at(self) -> float:
        return self._pending.wake_at

    def fileno(self) -> int | None:
        return self._pending.fileno()

    def step(self, readable: bool) -> InvokeResult | None:
        invocation = self._pending.step(readable)
        return None if invocation is None else self._target._result(invocation, self._label)

    def cancel(self) -> None:
        self._pending.cancel()


def _behaviour_diff(current: Observed, new: Observed, ignore: list[str]) -> list[Difference]:
    found = []
    if current.status != new.status:
        found.append(Difference("status", current.status, new.status))
    if (current.function_error, current.error) != (new.function_error, new.error):
        found.append(Difference("function_error", current.error, new.error))
    return found + diff(current.body, new.body, ignore=ignore)
