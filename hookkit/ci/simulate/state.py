"""The deployment as CodeDeploy holds it, shared by the engine and the CodeDeploy stand-in.

Everything the stand-in answers (``GetDeployment``, ``GetApplicationRevision``, the deployment
targets) is read from here, and status reports are decided here, under one lock: the first
report of a lifecycle event completes it, any later one is ``LifecycleEventAlreadyCompletedException``,
as with CodeDeploy. A report sent while none of the hook's invocations runs (from a thread the
handler left behind) is refused: in Lambda that environment is frozen, the report never goes out.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...core.phases import Phase
from ...local.context import LOCAL_ACCOUNT_ID

LIFECYCLE = ("BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
ACCEPTED_STATUSES = ("Succeeded", "Failed")
#: The answer to a report from an environment Lambda would have frozen (not an AWS error: AWS never sees it).
FROZEN = "hookkit.FrozenExecutionEnvironment"


@dataclass(frozen=True)
class Refusal:
    """A CodeDeploy error answer: its code (``__type``) and message."""

    code: str
    message: str


class DeploymentState:
    """One deployment of one function; thread-safe."""

    def __init__(
        self, *, deployment_id: str, application: str, group: str, config_name: str, function: str, alias: str,
        current: str, target: str, hooks: dict[Phase, str], region: str,
        on_report: Callable[[Phase, str], None],
        running: Callable[[Phase], bool] | None = None,
        on_frozen: Callable[[Phase, str], None] | None = None,
    ) -> None:
        self.deployment_id, self.application, self.group = deployment_id, application, group
        self.config_name, self.function, self.alias = config_name, function, alias
        self.current, self.target, self.hooks, self.region = current, target, hooks, region
        self._on_report = on_report
        self._running, self._on_frozen = running, on_frozen
        self._lock = threading.Lock()
        self.status = "InProgress"
        self.weight = 0.0  # the target version's share of the alias's traffic, 0..1
        self.lifecycle = dict.fromkeys(LIFECYCLE, "Pending")
        self._executions: dict[str, Phase] = {}
        self._decided: set[str] = set()
        self.reports: list[tuple[str, str, str]] = []  # (execution id, status, answer code or "OK")

    # --- what the engine does -----------------------------------------------------------

    def open_execution(self, phase: Phase) -> str:
        """A lifecycle event starts: the id CodeDeploy puts in the hook's event."""
        execution_id = uuid.uuid4().hex + uuid.uuid4().hex
        with self._lock:
            self._executions[execution_id] = phase
            self.lifecycle[phase.value] = "InProgress"
        return execution_id

    def set_event(self, name: str, status: str) -> None:
        with self._lock:
            self.lifecycle[name] = status

    def expire(self, execution_id: str) -> bool:
        """The hour is over: no report can complete this event any more. False if one already did."""
        with self._lock:
            if execution_id in self._decided:
                return False
            self._decided.add(execution_id)
            self.lifecycle[self._executions[execution_id].value] = "Failed"
            return True

    def finish(self, status: str) -> None:
        """The deployment is over; what had not run is Skipped."""
        with self._lock:
            self.status = status
            self._decided.update(self._executions)
            for name, state in self.lifecycle.items():
                if state in ("Pending", "InProgress"):
                    self.lifecycle[name] = "Skipped" if state == "Pending" else "Failed"

    def set_weight(self, weight: float) -> None:
        with self._lock:
            self.weight = weight

    def current_weight(self) -> float:
        with self._lock:
            return self.weight

    # --- what the stand-in asks -----------------------------------------------------------

    def report(self, deployment_id: str, execution_id: str, status: Any) -> Refusal | None:
        """``PutLifecycleEventHookExecutionStatus``; None when accepted."""
        with self._lock:
            refusal = self._judge(deployment_id, execution_id, status)
            phase = self._executions.get(execution_id)
            frozen = refusal is None and phase is not None and self._running is not None and not self._running(phase)
            if frozen:
                refusal = Refusal(FROZEN, "hookkit simulate: this report was sent after the hook's invocation "
                                          "returned; Lambda freezes the execution environment then, so it would "
                                          "never reach CodeDeploy")
            self.reports.append((execution_id, str(status), refusal.code if refusal else "OK"))
            if refusal is None and phase is not None:
                self._decided.add(execution_id)
                self.lifecycle[phase.value] = str(status)
        if phase is None or refusal is not None:
            if frozen and phase is not None and self._on_frozen is not None:
                self._on_frozen(phase, str(status))
            return refusal
        self._on_report(phase, str(status))
        return None

    def _judge(self, deployment_id: str, execution_id: str, status: Any) -> Refusal | None:
        if deployment_id != self.deployment_id:
            return Refusal("DeploymentDoesNotExistException", f"The deployment {deployment_id} could not be found.")
        if status not in ACCEPTED_STATUSES:
            return Refusal("InvalidLifecycleEventHookExecutionStatusException",
                           f"The specified status {status} is not valid; use Succeeded or Failed.")
        if execution_id not in self._executions:
            return Refusal("InvalidLifecycleEventHookExecutionIdException",
                           f"The lifecycle event hook execution id {execution_id} is not valid for this deployment.")
        if execution_id in self._decided:
            return Refusal("LifecycleEventAlreadyCompletedException",
                           f"The execution {execution_id} is already in a completed state.")
        return None

    def deployment_info(self) -> dict[str, Any]:
        with self._lock:
            return {
                "deploymentId": self.deployment_id, "applicationName": self.application,
                "deploymentGroupName": self.group, "deploymentConfigName": self.config_name,
                "computePlatform": "Lambda", "status": self.status, "creator": "user",
                "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": self.sha256()}},
                "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            }

    def appspec(self) -> str:
        """The AppSpec SAM generates for the deployment (JSON)."""
        hooks = [{phase.value: name} for phase, name in sorted(self.hooks.items(), key=lambda i: LIFECYCLE.index(
            i[0].value))]
        document: dict[str, Any] = {
            "version": 0.0,
            "Resources": [{self.function: {"Type": "AWS::Lambda::Function", "Properties": {
                "Name": self.function, "Alias": self.alias,
                "CurrentVersion": self.current, "TargetVersion": self.target}}}],
        }
        if hooks:
            document["Hooks"] = hooks
        return json.dumps(document)

    def target_id(self) -> str:
        return f"{self.function}:{self.alias}"

    def lambda_target(self) -> dict[str, Any]:
        with self._lock:
            lifecycle = [{"lifecycleEventName": name, "status": status} for name, status in self.lifecycle.items()]
            return {
                "deploymentTargetType": "LambdaTarget",
                "lambdaTarget": {
                    "deploymentId": self.deployment_id,
                    "targetId": self.target_id(),
                    "targetArn": f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{self.target_id()}",
                    "status": self.status,
                    "lifecycleEvents": lifecycle,
                    "lambdaFunctionInfo": {
                        "functionName": self.function, "functionAlias": self.alias,
                        "currentVersion": self.current, "targetVersion": self.target,
                        "targetVersionWeight": self.weight,
                    },
                },
            }

    def sha256(self) -> str:
        return hashlib.sha256(self.appspec().encode()).hexdigest()
