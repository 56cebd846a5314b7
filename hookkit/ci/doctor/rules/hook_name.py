"""E9101: SAM's CodeDeploy role may only invoke hooks named ``CodeDeployHook_*``."""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base
from hookkit.ci.doctor.model import HOOK_NAME_PREFIX, Finding, Hook, literal_prefix


class HookFunctionName(base.HookkitRule):
    id = "E9101"
    shortdesc = "Hook function name lacks the CodeDeployHook_ prefix"
    description = (
        "SAM's default CodeDeploy role (AWSCodeDeployRoleForLambda) may only invoke functions whose name "
        "starts with CodeDeployHook_; a hook named otherwise (or left to SAM's generated name) never runs and "
        "the deployment fails. Fix: FunctionName: !Sub CodeDeployHook_${AWS::StackName}-<Hook>, or a Role in "
        "the DeploymentPreference that may invoke the hook."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        for hook in view.sam.hooks:
            preference = view.sam.deployment_preference
            guarded = [g.function for g in hook.guards if "Role" not in (preference(g.function) or {})]
            if not guarded:
                continue  # every deployment preference brings a role of its own
            yield from self._check(hook, guarded)

    def _check(self, hook: Hook, guarded: list[str]) -> Iterator[Finding]:
        fix = (
            f'start its FunctionName with {HOOK_NAME_PREFIX}, e.g. FunctionName: !Sub '
            f'"{HOOK_NAME_PREFIX}${{AWS::StackName}}-{hook.logical_id}" (at most 64 characters), or give '
            f"{guarded[0]}'s DeploymentPreference a Role that may invoke it"
        )
        why = (
            f"SAM's CodeDeploy role may only invoke functions named {HOOK_NAME_PREFIX}*, so {guarded[0]}'s "
            "deployment cannot run it and fails"
        )
        name = hook.properties.get("FunctionName")
        if name is None:
            yield Finding(hook.path, f"hook {hook.logical_id} has no FunctionName, so SAM names it "
                          f"<stack>-{hook.logical_id}-<random>; {why}", fix)
            return
        prefix, complete = literal_prefix(name)
        if complete or len(prefix) >= len(HOOK_NAME_PREFIX):
            wrong = not prefix.startswith(HOOK_NAME_PREFIX)
        elif prefix:
            wrong = not HOOK_NAME_PREFIX.startswith(prefix)
        else:
            yield Finding(hook.at("FunctionName"), f"hook {hook.logical_id}'s FunctionName is computed at deploy "
                          f"time, so doctor cannot tell whether it starts with {HOOK_NAME_PREFIX}",
                          f"make sure it does, or write its {HOOK_NAME_PREFIX} start literally", unchecked=True)
            return
        if wrong:
            shown = f"{prefix!r}" if complete else f"{prefix + '...'!r}"
            yield Finding(hook.at("FunctionName"), f"hook {hook.logical_id} is named {shown}; {why}", fix)
