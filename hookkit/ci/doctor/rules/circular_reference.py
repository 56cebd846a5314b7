"""E9106: a hook that names the API or alias it guards closes a dependency loop.

The guarded function's alias carries the update policy that names the hook; the API invokes the
alias. A hook that refers to either (in its environment, its policies, anywhere in its
properties) depends on them, and CloudFormation refuses the loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from hookkit.ci.doctor import base
from hookkit.ci.doctor.model import Finding, Hook, Path, SamTemplate, literal, mapping, referenced_resource, references
from hookkit.core import settings

#: SAM's implicit APIs: what an Api / HttpApi event without RestApiId / ApiId attaches to.
IMPLICIT_API = {"Api": ("RestApiId", "ServerlessRestApi"), "HttpApi": ("ApiId", "ServerlessHttpApi")}


class Part(NamedTuple):
    """Something that depends on a guarded function's alias."""

    function: str
    what: str
    api: bool


class CircularReference(base.HookkitRule):
    id = "E9106"
    shortdesc = "Hook refers to the API or alias it guards (circular dependency)"
    description = (
        "The guarded function's alias names the hook in its update policy and the API invokes that alias, so a hook "
        "that refers to the API (!Sub https://${ServerlessRestApi}...) or the alias (!Ref FnAliaslive, !Ref Fn.Alias) "
        f"makes CloudFormation refuse the template. Fix: read the API URL from a stack output ({settings.STACK_NAME}: "
        f"!Ref AWS::StackName, {settings.API_OUTPUT}: ApiUrl), and name the version with !GetAtt Fn.Version.Version."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        sam = view.sam
        for hook in sam.hooks:
            loop = {name: part for guard in hook.guards for name, part in _parts(sam, guard.function).items()}
            for path, name in _references(sam, hook):
                part = _match(sam, name, loop)
                if part is not None:
                    yield Finding(
                        path,
                        f"hook {hook.logical_id} refers to {name}, {part.what}, whose update policy names this "
                        "hook: a circular dependency, and CloudFormation refuses the template",
                        _fix(part),
                    )


def _fix(part: Part) -> str:
    if part.api:
        return (
            f"read the URL at run time from a stack output instead: {settings.STACK_NAME}: !Ref AWS::StackName and "
            f"{settings.API_OUTPUT}: ApiUrl (an Outputs entry holding the URL), or {settings.API_URL} set to a "
            "custom domain"
        )
    return f"name the version, never the alias: {settings.TARGET_VERSION}: !GetAtt {part.function}.Version.Version"


def _references(sam: SamTemplate, hook: Hook) -> Iterator[tuple[Path, str]]:
    """Every name the hook refers to, and those of the managed policies its Policies !Ref."""
    yield from references(hook.properties, hook.at())
    policies = hook.properties.get("Policies")
    for index, entry in enumerate(policies if isinstance(policies, list) else []):
        policy = referenced_resource(entry)
        if policy is not None and sam.type_of(policy) == "AWS::IAM::ManagedPolicy":
            for _, name in references(sam.properties(policy)):
                yield hook.at("Policies", index), name


def _parts(sam: SamTemplate, function: str) -> dict[str, Part]:
    """Logical ids (and SAM's dotted names) that depend on ``function``'s alias."""
    properties = sam.properties(function)
    alias = Part(function, f"the alias of {function}", api=False)
    names = {f"{function}.Alias": alias}
    alias_name = literal(properties.get("AutoPublishAlias"))
    if alias_name:  # SAM's logical id for it: the name without what is not a letter or digit
        names[f"{function}Alias{re.sub(r'[^A-Za-z0-9]', '', alias_name)}"] = alias
    if "FunctionUrlConfig" in properties:
        names[f"{function}Url"] = Part(function, f"the function URL that invokes the alias of {function}", api=False)
    for event in mapping(properties.get("Events")).values():
        kind = literal(mapping(event).get("Type"))
        if kind not in IMPLICIT_API:
            continue
        key, implicit = IMPLICIT_API[kind]
        api = referenced_resource(mapping(mapping(event).get("Properties")).get(key)) or implicit
        names[api] = Part(function, f"the API that invokes the alias of {function}", api=True)
    return names


def _match(sam: SamTemplate, name: str, loop: dict[str, Part]) -> Part | None:
    """What ``name`` is in the loop: itself, or a part SAM generates for an API (its stage, deployment)."""
    if name in loop:
        return loop[name]
    base_name = name.split(".", 1)[0]
    if base_name in loop:
        return loop[base_name]
    for key, part in loop.items():
        if part.api and base_name.startswith(key) and base_name not in sam.resources:
            return part
    return None
