"""``PutLifecycleEventHookExecutionStatus``: the one call a hook must never miss.

A missing report holds the deployment for an hour; a duplicate delivery's second report is
answered with ``LifecycleEventAlreadyCompletedException``, which means "already done". Throttling
and transient errors are retried until just before the Lambda's end; a denied call cannot be fixed
by retrying here, so it is raised with the exact permission to grant.

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

from botocore.exceptions import BotoCoreError, ClientError

from ..checks.aws import error_code, error_message, is_access_denied, is_transient, permission
from ..core.errors import ReportError
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
    REPORTED = "reported"
    ALREADY_COMPLETED = "already-completed"

    def __str__(self) -> str:
        return self.value


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

    def put() -> None:
        with bounded(max(deadline - clock(), _LEAST_ATTEMPT_S)):
            codedeploy().put_lifecycle_event_hook_execution_status(
                deploymentId=deployment_id,
                lifecycleEventHookExecutionId=execution_id,
                status=verdict.value,
            )

    try:
        call_with_retries(put, deadline=deadline, retryable=is_transient, on_retry=on_retry, clock=clock, sleep=sleep)
    except ClientError as exc:
        code, message = error_code(exc), error_message(exc)
        if code == "LifecycleEventAlreadyCompletedException":
            return Delivery.ALREADY_COMPLETED
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
