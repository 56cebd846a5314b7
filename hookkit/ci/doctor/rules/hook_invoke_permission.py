"""W9104: a PreTraffic hook whose role may not invoke the new version cannot test it."""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base, iam
from hookkit.ci.doctor.model import Finding
from hookkit.core.phases import Phase

INVOKE = "lambda:InvokeFunction"


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
            grant = iam.role_allows(view.sam, hook.logical_id, INVOKE)
            if grant.missing:
                versions = ", ".join(f'!Sub "${{{name}.Arn}}:*"' for name in guarded)
                yield Finding(
                    grant.path,
                    f"PreTraffic hook {hook.logical_id}'s role {grant.refusal} {INVOKE}, so every check that invokes "
                    f"the new version of {', '.join(guarded)} fails with AccessDenied",
                    grant.fix(hook.logical_id, f"add to {hook.logical_id}'s Policies a statement allowing {INVOKE} "
                              f"on {versions} (the function's versions)"),
                )
            elif grant.unreadable:
                yield grant.unreadable_finding(hook.logical_id, INVOKE)
