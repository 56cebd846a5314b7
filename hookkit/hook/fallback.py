"""The last resort: report ``Failed`` for a hook invocation that failed entirely.

Whatever a check does, ``hookkit.handler`` reports. What no code inside the hook can survive is
the hook's own invocation failing: its init (a missing layer, a wrong ``Handler``), running out of
memory, Lambda's own timeout. CodeDeploy invokes hooks asynchronously, so Lambda retries such an
invocation (``EventInvokeConfig.MaximumRetryAttempts``) and then hands an *invocation record* to
the hook's on-failure destination::

    {"version": "1.0", "timestamp": "2019-11-14T18:16:05.568Z",
     "requestContext": {"requestId": "...", "functionArn": "arn:...:function:CodeDeployHook_...:$LATEST",
                        "condition": "RetriesExhausted", "approximateInvokeCount": 3},
     "requestPayload": {"DeploymentId": "d-...", "LifecycleEventHookExecutionId": "..."},
     "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
     "responsePayload": {"errorType": "...", "errorMessage": "RequestId: ... Process exited before completing request"}}

``hookkit.fallback`` is that destination (``Handler: hookkit.fallback``). It reports ``Failed`` for
the CodeDeploy event in ``requestPayload``, so the deployment stops and rolls back now instead of
waiting an hour for a status that will never come, and logs why Lambda gave up (the condition
and the error it recorded, redacted). If the hook had reported before it failed, CodeDeploy keeps
that first status (``LifecycleEventAlreadyCompletedException``: already done). A record that
cannot be read names no lifecycle event to report to: one error is logged, nothing is raised
(retrying could not help). A report that cannot be made is raised, as in the hook, so that Lambda
delivers the record again. No check runs here, and nothing is imported but what the report needs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.errors import EventError, ReportError
from ..core.log import logger
from ..core.outcome import Verdict
from ..core.redact import redact_text, redact_value
from .clients import Clients
from .event import HookEvent, parse_event
from .reporting import ACTION, Delivery, report_status

#: Without a Lambda context (a direct call), assume the fallback's usual short timeout.
NO_CONTEXT_BUDGET_MS = 30_000
#: How much of the error Lambda recorded is logged.
ERROR_EXCERPT = 1000

#: errorTypes of a function that could not start (its module, its handler, its runtime's init).
_INIT_ERRORS = ("Runtime.ImportModuleError", "Runtime.HandlerNotFound", "Runtime.UserCodeSyntaxError",
                "Runtime.MalformedHandlerName", "Runtime.Init")

_WIRING = (
    "hookkit.fallback must be a hook's on-failure destination (SAM: EventInvokeConfig.DestinationConfig."
    "OnFailure {Type: Lambda, Destination: !GetAtt HookFallback.Arn} on the hook function)"
)


@dataclass(frozen=True)
class FailedInvocation:
    """What an invocation record says: which lifecycle event, why Lambda gave up, what it recorded."""

    event: HookEvent
    condition: str
    attempts: int | None = None
    function_arn: str | None = None
    error_type: str | None = None
    error: str | None = None


def parse_record(record: Any) -> FailedInvocation:
    """Read a Lambda invocation record; an EventError names what is missing or wrong, and the fix.

    Only what the report needs is required: ``requestContext.condition`` and the CodeDeploy event
    in ``requestPayload``. The rest (attempts, the hook's ARN, the error) is read when present and
    well formed, and otherwise left out of the log line.
    """
    if not isinstance(record, Mapping):
        raise EventError(f"the invocation record must be a JSON object, got {type(record).__name__}; {_WIRING}")
    context = record.get("requestContext")
    if not isinstance(context, Mapping):
        raise EventError(f"the invocation record has no requestContext object; {_WIRING}", field="requestContext")
    condition = context.get("condition")
    if not isinstance(condition, str) or not condition.strip():
        raise EventError(
            f"the invocation record's requestContext.condition must be a non-empty string, got {condition!r:.60}; "
            f"{_WIRING}",
            field="requestContext.condition",
        )
    if condition == "Success":
        raise EventError(
            "the invocation record is of a successful invocation (condition Success): the hook reported itself. "
            "Wire hookkit.fallback as the OnFailure destination, not OnSuccess",
            field="requestContext.condition",
        )
    if "requestPayload" not in record:
        raise EventError(f"the invocation record has no requestPayload (the hook's event); {_WIRING}",
                         field="requestPayload")
    try:
        event = parse_event(record["requestPayload"])
    except EventError as exc:
        raise EventError(f"requestPayload: {exc}", field=f"requestPayload.{exc.field}" if exc.field else None) from None
    attempts = context.get("approximateInvokeCount")
    arn = context.get("functionArn")
    error_type, error = _recorded_error(record.get("responsePayload"), record.get("responseContext"))
    return FailedInvocation(
        event=event,
        condition=condition.strip(),
        attempts=attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else None,
        function_arn=arn if isinstance(arn, str) and arn else None,
        error_type=error_type,
        error=error,
    )


def _recorded_error(payload: Any, response: Any) -> tuple[str | None, str | None]:
    """``errorType`` and the error as one redacted line: ``Type: message`` (or whatever was recorded)."""
    function_error = response.get("functionError") if isinstance(response, Mapping) else None
    error_type = None
    if isinstance(payload, Mapping):
        kind, message = payload.get("errorType"), payload.get("errorMessage")
        error_type = kind if isinstance(kind, str) and kind else None
        parts = [str(part) for part in (error_type, message) if part is not None and part != ""]
        text = ": ".join(parts) if parts else _as_text(payload)
    elif payload is None:
        text = None
    else:
        text = _as_text(payload)
    if text is None and isinstance(function_error, str) and function_error:
        text = f"{function_error} function error (no response recorded)"
    if text is None:
        return error_type, None
    text = redact_text(text)
    if len(text) > ERROR_EXCERPT:
        text = f"{text[:ERROR_EXCERPT]}... ({len(text)} characters)"
    return error_type, text


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(redact_value(value), ensure_ascii=False, default=str)


def what_to_check(failed: FailedInvocation) -> str:
    """Where an operator should look first, from what Lambda recorded."""
    if failed.condition == "EventAgeExceeded":
        return ("the event waited in Lambda's queue past its maximum age without running to the end: check the "
                "hook's throttles and reserved concurrency")
    text = f"{failed.error_type or ''} {failed.error or ''}"
    if (failed.error_type or "").startswith(_INIT_ERRORS):
        return "the hook could not start: check its Handler (hookkit.handler), Layers and Runtime"
    if "timed out" in text.lower() or "Timedout" in text:
        return "the hook ran out of time: raise its Timeout above the slowest check plus HOOKKIT_REPORT_RESERVE_MS"
    if "OutOfMemory" in text or "signal: killed" in text or "Runtime exited" in text:
        return "the hook's process died (out of memory, or killed): raise its MemorySize, and check the checks"
    return "read the hook's own log for this request"


class FallbackHandler:
    """``handler(record, context) -> summary``: one ``Failed`` report per usable record."""

    def __init__(self, *, clients: Clients | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clients = clients if clients is not None else Clients()
        self.clock = clock

    def __call__(self, record: Any, context: Any = None) -> dict[str, Any]:
        started = self.clock()
        try:
            failed = parse_record(record)
        except EventError as exc:
            logger.error(f"unusable invocation record, no status can be reported: {redact_text(str(exc))}",
                         field=exc.field)
            return {"reported": False, "error": redact_text(str(exc))}
        ids = failed.event
        logger.append_keys(deployment_id=ids.deployment_id, execution_id=ids.execution_id)
        try:
            return self._report(failed, self._deadline(context, started))
        finally:
            logger.remove_keys(["deployment_id", "execution_id"])

    def _report(self, failed: FailedInvocation, deadline: float) -> dict[str, Any]:
        ids = failed.event
        attempts = f" after {failed.attempts} attempt(s)" if failed.attempts is not None else ""
        logger.error(
            f"the hook's invocation failed ({failed.condition}{attempts}): {failed.error or 'no error recorded'}; "
            f"reporting Failed; {what_to_check(failed)}",
            condition=failed.condition,
            approximate_invoke_count=failed.attempts,
            hook_function=failed.function_arn,
            error_type=failed.error_type,
        )

        def on_retry(attempt: int, exc: BaseException, delay: float) -> None:
            logger.warning(f"status report attempt {attempt} failed ({exc}); retrying in {delay:.2f} s")

        try:
            delivery = report_status(
                self.clients.factory("codedeploy-report"), ids.deployment_id, ids.execution_id, Verdict.FAILED,
                deadline=deadline, on_retry=on_retry, clock=self.clock,
            )
        except ReportError as exc:
            logger.error(f"status Failed NOT reported: {exc}", missing_permission=ACTION)
            raise  # so Lambda's asynchronous retry delivers the record again
        if delivery is Delivery.ALREADY_COMPLETED:
            logger.info("status Failed not recorded: CodeDeploy says this lifecycle event is already completed "
                        "(the hook reported before its invocation failed); nothing to do")
        elif delivery is Delivery.PROBABLY_REPORTED:
            logger.info("status Failed probably recorded by the earlier attempt of this delivery: its answer was "
                        "lost, and the retry was told the lifecycle event is already completed; nothing to do")
        elif delivery is Delivery.REPORTED:
            logger.info("reported Failed to CodeDeploy")
        return {
            "deploymentId": ids.deployment_id,
            "lifecycleEventHookExecutionId": ids.execution_id,
            "verdict": Verdict.FAILED.value,
            "condition": failed.condition,
            "error": failed.error,
            "reported": delivery.value,
        }

    def _deadline(self, context: Any, started: float) -> float:
        """The report's deadline: before this function's own end, with a little time left to return."""
        try:
            remaining_ms = float(context.get_remaining_time_in_millis())
        except AttributeError:
            remaining_ms = NO_CONTEXT_BUDGET_MS
        except Exception as exc:  # noqa: BLE001 - a strange context must not cost the report
            logger.warning(f"cannot read the Lambda context's remaining time ({exc!r}); assuming "
                           f"{NO_CONTEXT_BUDGET_MS / 1000:g} s")
            remaining_ms = NO_CONTEXT_BUDGET_MS
        if not remaining_ms > 0:  # NaN or spent: one attempt at once rather than none
            remaining_ms = 0.0
        end = started + remaining_ms / 1000.0
        return end - min(1.0, remaining_ms / 1000.0 / 4)


def fallback(record: Any, context: Any = None) -> dict[str, Any]:
    """The ready handler (``Handler: hookkit.fallback``) for a hook's on-failure destination."""
    return _default_fallback(record, context)


_default_fallback = FallbackHandler()
