"""E9107: ``HOOKKIT_PHASE`` must be the phase the ``Hooks`` key runs the hook in."""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base
from hookkit.ci.doctor.model import Finding, literal
from hookkit.core import settings
from hookkit.core.errors import ConfigurationError
from hookkit.core.phases import Phase


class HookPhase(base.HookkitRule):
    id = "E9107"
    shortdesc = "HOOKKIT_PHASE disagrees with the Hooks key that runs the hook"
    description = (
        f"A hook named as PreTraffic runs BeforeAllowTraffic, one named as PostTraffic AfterAllowTraffic; a "
        f"{settings.PHASE} that says otherwise runs the other phase's checks, or fails on a name hookkit does not "
        f"know. Fix: {settings.PHASE} matching the Hooks key, or no {settings.PHASE} at all."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        for hook in view.sam.hooks:
            text = literal(hook.variables.get(settings.PHASE))
            if text is None or not text.strip():
                continue  # unset: hookkit asks CodeDeploy which phase it runs in
            path = hook.at("Environment", "Variables", settings.PHASE)
            wanted = hook.phases
            fix = f"{settings.PHASE}: {wanted[0].value}" if len(wanted) == 1 else (
                f"one hook function per phase, or no {settings.PHASE} (hookkit then asks CodeDeploy)"
            )
            try:
                phase = Phase.parse(text)
            except ConfigurationError:
                yield Finding(path, f"{hook.logical_id}'s {settings.PHASE} {text!r} is not a phase hookkit knows, "
                              "so the hook fails every deployment", fix)
                continue
            for guard in hook.guards:
                if guard.phase is not phase:
                    yield Finding(
                        path,
                        f"{hook.logical_id}'s {settings.PHASE} is {_shown(text, phase)}, but {guard.function} runs "
                        f"it as its {guard.key} hook ({guard.phase.value}): it would run the wrong phase's checks",
                        fix,
                    )


def _shown(text: str, phase: Phase) -> str:
    """``'post' (AfterAllowTraffic)``: the value, and the phase it means when it is spelled otherwise."""
    return repr(text) if text.strip() == phase.value else f"{text!r} ({phase.value})"
