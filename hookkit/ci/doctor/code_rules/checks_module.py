"""E9121: the hook's checks module must be in its code and declare checks for its phase."""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base
from hookkit.ci.doctor.model import Finding, Hook, literal
from hookkit.core import settings
from hookkit.core.loader import split_spec
from hookkit.core.phases import Phase

HOOKKIT_HANDLER = "hookkit.handler"
DECORATOR = {Phase.BEFORE_ALLOW_TRAFFIC: "pre_traffic", Phase.AFTER_ALLOW_TRAFFIC: "post_traffic"}


class ChecksModule(base.HookkitRule):
    id = "E9121"
    shortdesc = "HOOKKIT_CHECKS names no module of the hook's code, or one without checks for its phase"
    description = (
        f"A hook running {HOOKKIT_HANDLER} imports {settings.CHECKS} from its own code (CodeUri) and runs the checks "
        "declared for its phase; a module that is not there, or declares none for the phase, fails every "
        f"deployment. Fix: {settings.CHECKS} naming a module of the hook's CodeUri that declares checks with "
        "@pre_traffic / @post_traffic."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        for hook in view.sam.hooks:
            yield from _check(view, hook)


def _check(view: base.TemplateView, hook: Hook) -> Iterator[Finding]:
    path = hook.at("Environment", "Variables", settings.CHECKS)
    value = hook.variables.get(settings.CHECKS)
    if value is None:
        if literal(hook.properties.get("Handler")) == HOOKKIT_HANDLER:
            yield Finding(
                hook.path,
                f"hook {hook.logical_id} runs {HOOKKIT_HANDLER} without {settings.CHECKS}, so it has no checks "
                "to run and fails every deployment",
                f"set {settings.CHECKS} to the checks module in its CodeUri, e.g. {settings.CHECKS}: checks",
            )
        return
    spec = literal(value)
    code = base.hook_code(view).code(hook)
    if spec is None or code.folder is None:
        why = "is computed at deploy time" if spec is None else f"cannot be looked for: {code.why_not}"
        yield Finding(path, f"{hook.logical_id}'s {settings.CHECKS} {why}, so doctor cannot check its checks",
                      "check by hand that the module is packaged with the hook", unchecked=True)
        return
    names = split_spec(spec)
    missing = [name for name in names if code.locate(name) is None]
    if not names or missing:
        there = ", ".join(code.modules()) or "none"
        yield Finding(
            path,
            f"{hook.logical_id}'s {settings.CHECKS} names {', '.join(map(repr, missing)) or 'nothing'}, which is not "
            f"in its code ({code.shown}), so the hook fails every deployment",
            f"name a module of that folder (Python modules there: {there}), by module name or relative path",
        )
        return
    declared = base.hook_code(view).declared(hook)
    if declared is None or declared[1].error is not None:
        return  # W9122 says why
    probe = declared[1]
    for phase in hook.phases:
        checks = probe.of_phase(phase)
        if any(check.blocking for check in checks):
            continue
        what = "only non-blocking" if checks else "no"
        yield Finding(
            path,
            f"{hook.logical_id}'s checks module {spec!r} declares {what} {phase.value} checks, so the hook fails "
            "every deployment (hookkit never lets a hook that checks nothing approve one)",
            f"declare blocking {phase.value} checks in it (@{DECORATOR[phase]}), or point {settings.CHECKS} at the "
            "module that does",
        )
