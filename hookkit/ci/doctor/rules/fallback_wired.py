"""W9108: every hook needs a last-resort reporter for the failures no code inside it survives."""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base
from hookkit.ci.doctor.model import (
    FALLBACK_HANDLER,
    LAMBDA_FUNCTION,
    SERVERLESS_FUNCTION,
    Finding,
    Hook,
    SamTemplate,
    literal,
    on_failure_destination,
    referenced_resource,
)

WIRING = (
    "EventInvokeConfig: {DestinationConfig: {OnFailure: {Type: Lambda, Destination: !GetAtt HookFallback.Arn}}}"
)


class FallbackWired(base.HookkitRule):
    id = "W9108"
    shortdesc = "Hook has no last-resort reporter (hookkit.fallback as its on-failure destination)"
    description = (
        "When a hook invocation fails outright (an init error, out of memory, Lambda's timeout) no code inside it "
        "reports, and CodeDeploy waits an hour before failing the deployment. Lambda hands such an invocation to "
        f"the function's on-failure destination. Fix: {WIRING} on the hook, with a function HookFallback whose "
        f"Handler is {FALLBACK_HANDLER}."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        for hook in view.sam.hooks:
            yield from _check(view.sam, hook)


def _check(sam: SamTemplate, hook: Hook) -> Iterator[Finding]:
    fix = f"add {WIRING} to {hook.logical_id}, with a function HookFallback whose Handler is {FALLBACK_HANDLER}"
    found = on_failure_destination(hook)
    if found is None:
        path = hook.at("EventInvokeConfig") if "EventInvokeConfig" in hook.properties else hook.path
        yield Finding(
            path,
            f"hook {hook.logical_id} has no last-resort reporter: if it fails outright (init error, out of memory, "
            "Lambda timeout) nothing reports to CodeDeploy, which fails the deployment only after an hour",
            fix,
        )
        return
    path, destination = found
    target = referenced_resource(destination)
    kind = sam.type_of(target) if target else None
    if target is None or kind is None:
        yield Finding(
            path,
            f"hook {hook.logical_id}'s on-failure destination is not a resource of this template, so doctor cannot "
            f"check that it is {FALLBACK_HANDLER}",
            f"make sure it runs {FALLBACK_HANDLER}, or point it at one with !GetAtt <Function>.Arn",
            unchecked=True,
        )
        return
    handler = literal(sam.properties(target).get("Handler"))
    if kind in (SERVERLESS_FUNCTION, LAMBDA_FUNCTION) and handler == FALLBACK_HANDLER:
        return
    what = f"whose Handler is {handler!r}" if kind in (SERVERLESS_FUNCTION, LAMBDA_FUNCTION) else f"an {kind}"
    yield Finding(
        path,
        f"hook {hook.logical_id}'s on-failure destination is {target}, {what}, not {FALLBACK_HANDLER}: a hook "
        "that fails outright would not be reported to CodeDeploy",
        fix,
    )
