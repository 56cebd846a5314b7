"""W9123: a PostTraffic hook whose checks take ``target`` invokes the function, and needs to be allowed to.

W9104 holds PreTraffic hooks to ``lambda:InvokeFunction`` from the template alone; a PostTraffic
hook usually calls the API instead, and whether its checks invoke the function is only in its
code. This rule reads that from the checks module doctor imports anyway (for E9120-W9122): a
PostTraffic check that asks for ``target`` invokes the new version through it.
"""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base, iam
from hookkit.ci.doctor.model import Finding
from hookkit.core.phases import Phase

INVOKE = iam.INVOKE
TARGET = "target"


class PostTrafficInvokePermission(base.HookkitRule):
    id = "W9123"
    shortdesc = "PostTraffic hook's checks take target, and its role cannot invoke the function's versions"
    description = (
        f"A @post_traffic check that takes {TARGET} invokes the new version; without {INVOKE} on the function's "
        "versions in the hook's role it fails with AccessDenied. Fix: allow the action on "
        '!Sub "${Function.Arn}:*" in the hook\'s Policies.'
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        reader = base.hook_code(view)
        for hook in view.sam.hooks:
            guarded = [g.function for g in hook.guards if g.phase is Phase.AFTER_ALLOW_TRAFFIC]
            if not guarded or Phase.BEFORE_ALLOW_TRAFFIC in hook.phases:
                continue  # not a PostTraffic hook, or one W9104 already holds to it
            declared = reader.declared(hook)
            if declared is None or declared[1].error is not None:
                continue  # E9121 / W9122 / I9110 say why its checks are unknown
            invoking = [c.name for c in declared[1].of_phase(Phase.AFTER_ALLOW_TRAFFIC) if TARGET in c.params]
            if not invoking:
                continue
            yield from iam.invoke_findings(
                view.sam, hook.logical_id, guarded,
                f"PostTraffic hook {hook.logical_id}'s checks {', '.join(invoking)} take {TARGET} and invoke the new "
                f"version of {', '.join(guarded)}, but its role", ": they fail with AccessDenied",
            )
