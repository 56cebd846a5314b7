"""E9105: ``!Ref Fn.Version`` is the version's ARN; hookkit needs the version number."""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base
from hookkit.ci.doctor.model import SERVERLESS_FUNCTION, Finding, references
from hookkit.core import settings


class TargetVersionArn(base.HookkitRule):
    id = "E9105"
    shortdesc = "HOOKKIT_TARGET_VERSION is a version ARN, not a version number"
    description = (
        f"{settings.TARGET_VERSION}: !Ref Fn.Version is the version's ARN; hookkit invokes a published version "
        "by its number only, so the hook fails every deployment with a configuration error. "
        f"Fix: {settings.TARGET_VERSION}: !GetAtt Fn.Version.Version."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        for hook in view.sam.hooks:
            for variable in (settings.TARGET_VERSION, settings.CURRENT_VERSION):
                path = hook.at("Environment", "Variables", variable)
                for _, name in references(hook.variables.get(variable)):
                    function, _, attribute = name.partition(".")
                    if attribute != "Version" or view.sam.type_of(function) != SERVERLESS_FUNCTION:
                        continue
                    yield Finding(
                        path,
                        f"{hook.logical_id}'s {variable} is {function}.Version, the version's ARN, not its number; "
                        "hookkit invokes published versions by number only, so the hook fails every deployment",
                        f"{variable}: !GetAtt {function}.Version.Version",
                    )
