"""E9109: the last-resort reporter must itself be allowed to report."""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base, iam
from hookkit.ci.doctor.model import (
    FALLBACK_HANDLER,
    LAMBDA_FUNCTION,
    SERVERLESS_FUNCTION,
    Finding,
    SamTemplate,
    deployment_group_arn,
    literal,
    on_failure_destination,
    referenced_resource,
)

REPORT = "codedeploy:PutLifecycleEventHookExecutionStatus"


class FallbackPermission(base.HookkitRule):
    id = "E9109"
    shortdesc = "Last-resort reporter's role cannot report to CodeDeploy"
    description = (
        f"The {FALLBACK_HANDLER} function reports Failed for a hook that failed outright; without {REPORT} in its "
        "role that report is refused and CodeDeploy waits an hour. Fix: allow the action on the deployment groups "
        "of the functions whose hooks it backs."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        sam = view.sam
        for fallback, guarded in _fallbacks(sam).items():
            grant = iam.role_allows(sam, fallback, REPORT)
            if grant.missing:
                groups = ", ".join(f'!Sub "{deployment_group_arn(name)}"' for name in guarded) or (
                    "the deployment groups of the functions whose hooks it backs"
                )
                yield Finding(
                    grant.path,
                    f"fallback {fallback}'s role {grant.refusal} {REPORT}, so it cannot report a hook that failed "
                    "outright, and CodeDeploy fails the deployment only after an hour",
                    grant.fix(fallback, f"add to {fallback}'s Policies a statement allowing {REPORT} on {groups}"),
                )
            elif grant.unreadable:
                yield grant.unreadable_finding(fallback, REPORT)


def _fallbacks(sam: SamTemplate) -> dict[str, list[str]]:
    """Every function running hookkit.fallback, with the functions whose hooks send it their failures."""
    found: dict[str, list[str]] = {
        name: [] for name in sam.of_type(SERVERLESS_FUNCTION, LAMBDA_FUNCTION)
        if literal(sam.properties(name).get("Handler")) == FALLBACK_HANDLER
    }
    for hook in sam.hooks:
        destination = on_failure_destination(hook)
        target = referenced_resource(destination[1]) if destination else None
        if target in found:
            found[target].extend(g.function for g in hook.guards if g.function not in found[target])
    return found
