"""E9111: SAM refuses a DeploymentPreference without AutoPublishAlias, or without a Type."""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base
from hookkit.ci.doctor.model import SERVERLESS_FUNCTION, Finding, given


class DeploymentPreferenceAlias(base.HookkitRule):
    id = "E9111"
    shortdesc = "DeploymentPreference without AutoPublishAlias or Type"
    description = (
        "CodeDeploy shifts traffic between versions of an alias, so SAM's transform refuses an enabled "
        "DeploymentPreference on a function without AutoPublishAlias (\"'DeploymentPreference' requires "
        "AutoPublishAlias\"), and one without Type (how traffic shifts): the stack never deploys, and no hook runs. "
        "Fix: AutoPublishAlias: live on the function and a Type (Canary10Percent5Minutes, AllAtOnce, ...) in its "
        "DeploymentPreference, or DeploymentPreference: {Enabled: false}."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        sam = view.sam
        hooks = {hook.logical_id for hook in sam.hooks}
        for function in sam.of_type(SERVERLESS_FUNCTION):
            preference = sam.deployment_preference(function)
            if preference is None or function in hooks:
                continue  # off; a hook's own preference is E9102's (it must be off, not completed)
            lacks = []
            if not given(sam.properties(function).get("AutoPublishAlias")):
                lacks.append(("AutoPublishAlias", f"AutoPublishAlias: live to {function}"))
            if not given(preference.get("Type")):
                lacks.append(("Type", "Type: Canary10Percent5Minutes (or another) to its DeploymentPreference"))
            if lacks:
                yield Finding(
                    ("Resources", function, "Properties", "DeploymentPreference"),
                    f"{function}'s DeploymentPreference is on but it has no {' and no '.join(n for n, _ in lacks)}: "
                    "SAM's transform refuses the template, so the stack never deploys",
                    f"add {' and '.join(f for _, f in lacks)}, or set DeploymentPreference: {{Enabled: false}}",
                )
