"""Retries bounded by a deadline, for the calls a hook cannot afford to lose.

botocore's own retry modes count attempts but know nothing of the Lambda's remaining time; a hook
must stop retrying while there is still time to finish. So the report and the target invoke run
with botocore retries off and go through this loop instead, which never sleeps past the deadline.
What is worth retrying is the caller's to say (``hookkit.checks.aws.is_transient`` for AWS calls).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def call_with_retries(
    call: Callable[[], T],
    *,
    deadline: float,
    retryable: Callable[[BaseException], bool],
    base_delay: float = 0.1,
    max_delay: float = 2.0,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call until it succeeds, fails for good, or another try would not fit before ``deadline``.

    Backoff is exponential with full jitter. The last exception propagates unchanged.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except Exception as exc:
            if not retryable(exc):
                raise
            delay = random.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 1)))  # noqa: S311 - jitter, not a secret
            if clock() + delay >= deadline:
                raise
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            sleep(delay)
