"""W9104: a PreTraffic hook whose role may not invoke the new version cannot test it."""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base, iam
from hookkit.ci.doctor.model import Finding
from hookkit.core.phases import Phase

INVOKE = iam.INVOKE


class HookInvokePermission(base.HookkitRule):
    id = "W9104"
    shortdesc = "PreTraffic hook role cannot invoke the function's versions"
    description = (
        f"A PreTraffic hook tests the new version by invoking it; without {INVOKE} on the function's versions "
        "every check that invokes it fails with AccessDenied. Fix: allow the action on "
        '!Sub "${Function.Arn}:*" in the hook\'s Policies.'
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        for hook in view.sam.hooks:
            guarded = [g.function for g in hook.guards if g.phase is Phase.BEFORE_ALLOW_TRAFFIC]
            if not guarded:
                continue  # a PostTraffic hook usually calls the API, not the function
            yield from iam.invoke_findings(
                view.sam, hook.logical_id, guarded, f"PreTraffic hook {hook.logical_id}'s role",
                f", so every check that invokes the new version of {', '.join(guarded)} fails with AccessDenied",
            )
