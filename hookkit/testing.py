"""In-memory stand-ins for testing hooks, shared by the pytest plugin, the demo and the benchmarks.

Importing this module imports neither pytest nor boto3, so a demo or a benchmark can use it in
a plain Python process.
"""

from __future__ import annotations

import time


class FakeCodeDeploy:
    """Stands in for the CodeDeploy client: records every status report, answers as configured.

    ``answers`` is consumed one per report: ``None`` accepts, an exception instance is raised
    (build botocore ``ClientError``\\s to simulate throttling or a duplicate delivery).
    ``arrived`` holds the ``time.monotonic()`` of each report, to check it came before a deadline.
    """

    def __init__(self) -> None:
        self.reports: list[dict[str, str]] = []
        self.arrived: list[float] = []
        self.answers: list[BaseException | None] = []

    def put_lifecycle_event_hook_execution_status(self, **params: str) -> dict[str, str]:
        self.reports.append(dict(params))
        self.arrived.append(time.monotonic())
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        return {"lifecycleEventHookExecutionId": params["lifecycleEventHookExecutionId"]}

    @property
    def statuses(self) -> list[str]:
        return [r["status"] for r in self.reports]
