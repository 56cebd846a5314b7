"""E9103: a hook whose role may not report its status can never end the lifecycle event."""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base, iam
from hookkit.ci.doctor.model import Finding, deployment_group_arn

REPORT = "codedeploy:PutLifecycleEventHookExecutionStatus"


class HookReportPermission(base.HookkitRule):
    id = "E9103"
    shortdesc = "Hook role cannot report the hook's status to CodeDeploy"
    description = (
        f"A hook reports Succeeded or Failed with {REPORT}; if its role does not allow it, no status ever "
        "arrives and CodeDeploy fails the deployment after an hour. Fix: allow the action on the guarded "
        "function's deployment group in the hook's Policies."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        for hook in view.sam.hooks:
            grant = iam.role_allows(view.sam, hook.logical_id, REPORT)
            groups = ", ".join(f'!Sub "{deployment_group_arn(g.function)}"' for g in hook.guards)
            if grant.missing:
                yield Finding(
                    grant.path,
                    f"hook {hook.logical_id}'s role {grant.refusal} {REPORT}, so it can never report its result: "
                    "CodeDeploy waits an hour for it, then fails the deployment",
                    grant.fix(hook.logical_id,
                              f"add to {hook.logical_id}'s Policies a statement allowing {REPORT} on {groups}"),
                )
            elif grant.unreadable:
                yield grant.unreadable_finding(hook.logical_id, REPORT)

