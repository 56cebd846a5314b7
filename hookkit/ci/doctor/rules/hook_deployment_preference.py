"""E9102: a hook function must not be released by CodeDeploy itself."""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base
from hookkit.ci.doctor.model import Finding, intrinsic


class HookDeploymentPreference(base.HookkitRule):
    id = "E9102"
    shortdesc = "Hook function has a DeploymentPreference of its own"
    description = (
        "A hook function with an enabled DeploymentPreference (often inherited from "
        "Globals.Function.DeploymentPreference) is itself released by CodeDeploy, through the hooks it is "
        "meant to serve. Fix: DeploymentPreference: {Enabled: false} on the hook function."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        inherited = "DeploymentPreference" in view.sam.globals_function
        for hook in view.sam.hooks:
            preference = view.sam.deployment_preference(hook.logical_id)
            if preference is None or intrinsic(preference.get("Enabled")) is not None:
                continue  # off, or switched by a condition only a deployment decides
            source = "Globals.Function gives it a DeploymentPreference" if inherited \
                else "it has a DeploymentPreference"
            yield Finding(
                hook.path,
                f"hook {hook.logical_id} would be released by CodeDeploy itself: {source}, so SAM gives the "
                "hook its own alias, deployment group and traffic shifting, guarded by hooks of its own",
                f"add DeploymentPreference: {{Enabled: false}} to {hook.logical_id}",
            )
