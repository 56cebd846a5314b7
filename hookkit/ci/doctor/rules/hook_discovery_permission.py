"""E9112: a hook that must look its deployment up in CodeDeploy needs the role to read it.

``hookkit.handler`` learns the function and version it checks from ``HOOKKIT_FUNCTION`` +
``HOOKKIT_TARGET_VERSION``, and its phase from ``HOOKKIT_PHASE``; what the environment does not
say, it asks CodeDeploy (:mod:`hookkit.hook.discovery`), either through the deployment's targets
(ListDeploymentTargets + BatchGetDeploymentTargets) or through its AppSpec (GetDeployment +
GetApplicationRevision). A role that allows neither pair makes that lookup fail, and the hook
reports Failed on every deployment.

The lookup is lazy: a hook whose phase is set asks CodeDeploy for the function only when a check
takes ``target``. A PreTraffic hook's checks invoke the new version, so there it is needed; a
PostTraffic hook's checks usually call the API, and whether they take ``target`` is in the code,
not the template, so PostTraffic hooks with ``HOOKKIT_PHASE`` set are not held to it here.
"""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base, iam
from hookkit.ci.doctor.model import Finding, Hook, SamTemplate, given, literal
from hookkit.core import settings
from hookkit.core.phases import Phase
from hookkit.hook.discovery import READ_ACTIONS

HOOKKIT_HANDLER = "hookkit.handler"
#: Either pair of READ_ACTIONS is one complete way to look a deployment up (discovery's steps 2 and 3).
LOOKUPS = (
    ("codedeploy:ListDeploymentTargets", "codedeploy:BatchGetDeploymentTargets"),
    ("codedeploy:GetDeployment", "codedeploy:GetApplicationRevision"),
)


class HookDiscoveryPermission(base.HookkitRule):
    id = "E9112"
    shortdesc = "Hook must look its deployment up in CodeDeploy, and its role may not"
    description = (
        f"A hook running {HOOKKIT_HANDLER} without {settings.FUNCTION} and {settings.TARGET_VERSION}, or without "
        f"{settings.PHASE}, asks CodeDeploy what it checks ({', '.join(READ_ACTIONS)}); a role that allows neither "
        "ListDeploymentTargets + BatchGetDeploymentTargets nor GetDeployment + GetApplicationRevision makes the hook "
        f"report Failed on every deployment. Fix: set {settings.FUNCTION}: !Ref Fn, {settings.TARGET_VERSION}: "
        f"!GetAtt Fn.Version.Version and {settings.PHASE}, or allow those actions in the hook's Policies."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        for hook in view.sam.hooks:
            unset = _lookup_because(hook)
            if unset:
                yield from _check(view.sam, hook, unset)


def _lookup_because(hook: Hook) -> list[str]:
    """The settings whose absence makes this hook ask CodeDeploy; empty if it never needs to."""
    if literal(hook.properties.get("Handler")) != HOOKKIT_HANDLER:
        return []
    variables = hook.variables
    unset = [name for name in (settings.FUNCTION, settings.TARGET_VERSION) if not given(variables.get(name))]
    if unset and Phase.BEFORE_ALLOW_TRAFFIC not in hook.phases and given(variables.get(settings.PHASE)):
        unset = []  # the function is looked up only for checks that take target (see the module's docstring)
    if not given(variables.get(settings.PHASE)):
        unset.append(settings.PHASE)
    return unset


def _check(sam: SamTemplate, hook: Hook, unset: list[str]) -> Iterator[Finding]:
    grants = {action: iam.role_allows(sam, hook.logical_id, action) for action in READ_ACTIONS}
    if any(all(grants[a].allowed for a in pair) for pair in LOOKUPS):
        return
    for pair in LOOKUPS:  # no pair surely refused: the policies doctor cannot read may allow it
        if not any(grants[a].missing for a in pair):
            unknown = [a for a in pair if not grants[a].allowed]
            yield grants[unknown[0]].unreadable_finding(hook.logical_id, " and ".join(unknown))
            return
    missing = [a for a in READ_ACTIONS if not grants[a].allowed]
    guarded = hook.guards[0].function
    phase = f" and {settings.PHASE}: {hook.phases[0].value}" if len(hook.phases) == 1 else ""
    yield Finding(
        grants[missing[0]].path,
        f"hook {hook.logical_id} runs {HOOKKIT_HANDLER} without {' or '.join(unset)}, so it asks CodeDeploy what "
        f"it checks, but its role does not allow {', '.join(missing)}: the lookup fails and the hook reports "
        "Failed on every deployment",
        f"set {settings.FUNCTION}: !Ref {guarded}, {settings.TARGET_VERSION}: !GetAtt {guarded}.Version.Version"
        f"{phase} in its Environment, or allow {', '.join(READ_ACTIONS)} in {hook.logical_id}'s Policies",
    )
