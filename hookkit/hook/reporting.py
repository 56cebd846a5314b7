"""``PutLifecycleEventHookExecutionStatus``: the one call a hook must never miss.

A missing report holds the deployment for an hour; a duplicate delivery's second report is
answered with ``LifecycleEventAlreadyCompletedException``, which means "already done" (and, after
an attempt of this delivery whose answer was lost, "probably recorded by that attempt"). Throttling
and transient errors are retried until just before the Lambda's end; a denied call cannot be fixed
by retrying here, so it is raised with the exact permission to grant, for Lambda to deliver the
event again. A deployment or lifecycle event CodeDeploy does not know cannot be fixed by any retry
at all: it is logged with what to check, and not raised.

Each attempt as a whole is bounded by the time left, not only each read: botocore's read timeout
restarts with every byte, so an answer trickling in a byte at a time would otherwise keep the
handler past its Lambda's end. In the main thread (where Lambda runs the handler) an interval
timer interrupts the attempt wherever it blocks; elsewhere, only the client's own connect and read
timeouts bound it.
"""

from __future__ import annotations

import contextlib
import enum
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from ..checks.aws import error_code, error_message, is_access_denied, is_transient, permission
from ..core.errors import ReportError
from ..core.log import logger
from ..core.outcome import Verdict
from ..core.retry import call_with_retries

ACTION = "codedeploy:PutLifecycleEventHookExecutionStatus"
_GROUP_ARN = (
    "the deployment group: arn:aws:codedeploy:<region>:<account>:deploymentgroup:<application>/<deployment-group>"
)


class AttemptTimedOut(BaseException):
    """The time left for the report ran out during an attempt.

    A ``BaseException``, so that botocore and urllib3 (which catch ``Exception`` to wrap or retry
    what an HTTP call raises) let it through untouched, closing the connection on their way out.
    """


@contextlib.contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Raise :class:`AttemptTimedOut` in the enclosed block after ``seconds``, wherever it is blocked.

    Uses ``SIGALRM`` (``setitimer``), so it works in the main thread only; elsewhere it bounds
    nothing. Whatever alarm was pending before is put back afterwards, less the time spent here.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    armed = True

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        nonlocal armed
        if armed:
            armed = False
            raise AttemptTimedOut

    previous = signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    earlier, interval = signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        if earlier > 0:
            signal.setitimer(signal.ITIMER_REAL, max(earlier - (time.monotonic() - started), 0.001), interval)


#: However late it is, a first attempt gets this long: a report that may arrive beats one never sent.
_LEAST_ATTEMPT_S = 0.05


class Delivery(enum.StrEnum):
    """How a report ended, as the summary's ``reported`` says it."""

    REPORTED = "reported"
    #: CodeDeploy says the lifecycle event is already completed: another delivery of the event reported.
    ALREADY_COMPLETED = "already-completed"
    #: As above, but after an attempt of this delivery whose answer was lost (a read timeout, a
    #: connection closed after sending): that attempt probably recorded the status.
    PROBABLY_REPORTED = "probably-reported"
    #: CodeDeploy knows no such deployment or lifecycle event (a wrong region, an edited event): no
    #: retry, by hookkit or by Lambda re-running the whole hook, can change that. Logged, not raised.
    REFUSED = "refused"

    def __str__(self) -> str:
        return self.value


#: Refusals no retry can fix, with what to check; each names the event's ids in the log line.
_UNFIXABLE = {
    "DeploymentDoesNotExistException": "CodeDeploy has no such deployment in {region}",
    "InvalidDeploymentIdException": "CodeDeploy has no such deployment in {region}",
    "InvalidLifecycleEventHookExecutionIdException": "the deployment has no such lifecycle event hook execution",
    "UnsupportedActionForDeploymentTypeException": "this deployment's type takes no hook status",
}
_UNFIXABLE_FIX = (
    "check that the hook runs in the deployment's region (AWS_REGION, or the endpoint it is given) and that the "
    "event is CodeDeploy's, unedited (a test event or a hand-made replay names ids CodeDeploy does not know); "
    "not raised, since Lambda re-running the hook (its smoke calls included) could not change the answer"
)


def _lost_answer(exc: BaseException) -> bool:
    """The request may have reached CodeDeploy and been recorded, only its answer was lost."""
    return isinstance(exc, HTTPClientError) and not isinstance(exc, BotoConnectionError)


def report_status(
    codedeploy: Callable[[], Any],
    deployment_id: str,
    execution_id: str,
    verdict: Verdict,
    *,
    deadline: float,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Report ``verdict`` once; retry what is transient until ``deadline``; raise ``ReportError`` otherwise.

    Every attempt, connect and answer included, ends by ``deadline`` (see :func:`bounded`).
    """
    if verdict not in (Verdict.SUCCEEDED, Verdict.FAILED):  # CodeDeploy accepts no other status
        raise ValueError(f"cannot report {verdict!r}")

    lost: list[BaseException] = []  # attempts of this delivery whose answer was lost
    regions: list[str] = []  # the report client's region, for a refusal's message

    def put() -> None:
        client = codedeploy()
        regions.append(getattr(getattr(client, "meta", None), "region_name", None) or "this region")
        try:
            with bounded(max(deadline - clock(), _LEAST_ATTEMPT_S)):
                client.put_lifecycle_event_hook_execution_status(
                    deploymentId=deployment_id,
                    lifecycleEventHookExecutionId=execution_id,
                    status=verdict.value,
                )
        except Exception as exc:
            if _lost_answer(exc):
                lost.append(exc)
            raise

    try:
        call_with_retries(put, deadline=deadline, retryable=is_transient, on_retry=on_retry, clock=clock, sleep=sleep)
    except ClientError as exc:
        code, message = error_code(exc), error_message(exc)
        if code == "LifecycleEventAlreadyCompletedException":
            return Delivery.PROBABLY_REPORTED if lost else Delivery.ALREADY_COMPLETED
        if code in _UNFIXABLE:
            what = _UNFIXABLE[code].format(region=regions[-1] if regions else "this region")
            with contextlib.suppress(Exception):
                logger.error(
                    f"status {verdict} NOT reported, and never can be: {what} (deployment {deployment_id}, lifecycle "
                    f"event hook execution {execution_id}; {code}: {message}). Fix: {_UNFIXABLE_FIX}",
                    error_code=code,
                )
            return Delivery.REFUSED
        if is_access_denied(code):
            raise ReportError(
                f"CodeDeploy refused the status report ({code}: {message}). "
                f"Grant the hook's role {permission(ACTION, message, _GROUP_ARN)} (deployment {deployment_id})"
            ) from exc
        raise ReportError(f"the status report for deployment {deployment_id} failed: {code}: {message}") from exc
    except AttemptTimedOut:
        raise ReportError(
            f"the status report for deployment {deployment_id} did not finish in time: CodeDeploy had not answered "
            "completely when the time kept for the report ran out"
        ) from None
    except BotoCoreError as exc:
        raise ReportError(
            f"the status report for deployment {deployment_id} could not reach CodeDeploy: {exc}"
        ) from exc
    return Delivery.REPORTED
