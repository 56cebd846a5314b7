"""``PutLifecycleEventHookExecutionStatus``: the one call a hook must never miss.

A missing report holds the deployment for an hour; a duplicate delivery's second report is
answered with ``LifecycleEventAlreadyCompletedException``, which means "already done". Throttling
and transient errors are retried until just before the Lambda's end; a denied call cannot be fixed
by retrying here, so it is raised with the exact permission to grant.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
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
    """Report ``verdict`` once; retry what is transient until ``deadline``; raise ``ReportError`` otherwise."""
    if verdict not in (Verdict.SUCCEEDED, Verdict.FAILED):  # CodeDeploy accepts no other status
        raise ValueError(f"cannot report {verdict!r}")

    def put() -> None:
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
    except BotoCoreError as exc:
        raise ReportError(
            f"the status report for deployment {deployment_id} could not reach CodeDeploy: {exc}"
        ) from exc
    return Delivery.REPORTED
