"""Whether a function's role allows an action, as far as the template shows it.

Read conservatively: a statement that allows the action anywhere, on any resource, under any
condition, counts as a grant; a policy doctor cannot read (a SAM policy template, a managed
policy by name, a role from outside the template, anything an intrinsic function computes) makes
the answer unknown rather than "no". SAM's policy templates are read from aws-sam-translator's
definitions when it is installed. Only a role whose every policy is visible and none allows
the action is reported as missing it.

An explicit ``Deny`` wins over any ``Allow`` in IAM, so the statements doctor can read are looked
at for one first: a ``Deny`` of the action (``Action`` patterns, or a ``NotAction`` that leaves it
out) on ``Resource: "*"`` without a ``Condition`` means the permission is missing, whatever
allows it. A ``Deny`` that might cover the action but that doctor cannot settle (its actions
computed by an intrinsic function, a ``Condition``, a narrower ``Resource``) makes an ``Allow``
"cannot tell" rather than a grant.

The places looked at: the function's ``Policies`` (inline documents, ``!Ref`` to an
``AWS::IAM::ManagedPolicy`` of the template), or its ``Role`` when that is an ``AWS::IAM::Role``
of the template (its ``Policies`` and ``ManagedPolicyArns``), plus every ``AWS::IAM::Policy``,
``ManagedPolicy`` or ``RolePolicy`` of the template attached to that role by ``!Ref``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .model import SERVERLESS_FUNCTION, Finding, Path, SamTemplate, intrinsic, literal, mapping, referenced_resource

IAM_ROLE = "AWS::IAM::Role"
MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
ATTACHED_POLICIES = (MANAGED_POLICY, "AWS::IAM::Policy")
ROLE_POLICY = "AWS::IAM::RolePolicy"
#: Where aws-sam-translator keeps SAM's policy templates, in its package.
POLICY_TEMPLATES = "policy_templates_data/policy_templates.json"
#: AWS managed policies that grant only logs, tracing and networking: nothing a hook reports or invokes with.
UNRELATED_MANAGED_POLICIES = frozenset({
    "AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole", "AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess", "CloudWatchLambdaInsightsExecutionRolePolicy",
})


@dataclass(frozen=True)
class Grant:
    """The answer for one action: allowed, or not and which policies could not be read."""

    allowed: bool
    unreadable: tuple[str, ...]
    #: where the function's permissions are set (its Policies, its Role, or the resource itself)
    path: Path
    #: an explicit Deny of the action was found (so no Allow counts)
    denied: bool = False

    @property
    def missing(self) -> bool:
        """Every policy was read and none allows the action, or one denies it outright."""
        return not self.allowed and (self.denied or not self.unreadable)

    @property
    def refusal(self) -> str:
        """``does not allow``, or that an explicit Deny refuses it: for the rules' messages."""
        return "denies (an explicit Deny in its policies)" if self.denied else "does not allow"

    def fix(self, function: str, allow: str) -> str:
        """The fix: ``allow`` (add a statement allowing it), or take the action out of the Deny first."""
        if self.denied:
            return f"take the action out of the Deny in {function}'s policies (a Deny wins over any Allow); {allow}"
        return allow

    def unreadable_finding(self, function: str, action: str) -> Finding:
        """What to say when the action was not found but some policies could not be read."""
        return Finding(
            self.path,
            f"doctor cannot tell whether {function}'s role allows {action}: it cannot read "
            + ", ".join(self.unreadable),
            f"make sure one of those allows {action}, or allow it in an inline statement of {function}'s Policies",
            unchecked=True,
        )


#: What a hook needs to invoke the versions it tests (W9104, W9123).
INVOKE = "lambda:InvokeFunction"


def invoke_findings(sam: SamTemplate, hook: str, guarded: list[str], who: str, then: str) -> Iterator[Finding]:
    """Whether ``hook``'s role may invoke the versions of the ``guarded`` functions: a finding with the
    fix when it may not (``"{who} {refusal} lambda:InvokeFunction{then}"``), or one saying doctor cannot tell."""
    grant = role_allows(sam, hook, INVOKE)
    if grant.missing:
        versions = ", ".join(f'!Sub "${{{name}.Arn}}:*"' for name in guarded)
        yield Finding(grant.path, f"{who} {grant.refusal} {INVOKE}{then}", grant.fix(
            hook, f"add to {hook}'s Policies a statement allowing {INVOKE} on {versions} (the function's versions)"))
    elif grant.unreadable:
        yield grant.unreadable_finding(hook, INVOKE)


def role_allows(sam: SamTemplate, function: str, action: str) -> Grant:
    """Whether ``function``'s execution role allows ``action`` (``codedeploy:PutLifecycle...``)."""
    properties = sam.properties(function)
    documents: list[Any] = []
    unreadable: list[str] = []
    role = properties.get("Role")
    if role is not None:
        path: Path = ("Resources", function, "Properties", "Role")
        role_id = referenced_resource(role)
        if role_id is None or sam.type_of(role_id) != IAM_ROLE:
            return Grant(False, ("its Role, which is not an AWS::IAM::Role of this template",), path)
        _role_policies(sam, role_id, documents, unreadable)
    elif sam.type_of(function) == SERVERLESS_FUNCTION:
        path = ("Resources", function, "Properties", "Policies") if "Policies" in properties \
            else ("Resources", function)
        _sam_policies(sam, properties.get("Policies"), documents, unreadable)
        role_id = f"{function}Role"  # the role SAM generates
    else:
        return Grant(False, ("its role, which it does not name",), ("Resources", function))
    documents.extend(_attached(sam, role_id))
    unsettled: list[str] = []  # Deny statements that may cover the action
    for document in documents:
        for statement in _statements(document) or []:
            denies = _statement_denies(statement, action)
            if denies is True:
                return Grant(False, (), path, denied=True)
            if denies:
                unsettled.append(denies)
    for document in documents:
        verdict = _document_allows(document, action)
        if verdict is True:
            if unsettled:
                return Grant(False, tuple(dict.fromkeys(unsettled)), path)
            return Grant(True, (), path)
        if verdict is None:
            unreadable.append("a policy document written with intrinsic functions")
    return Grant(False, tuple(dict.fromkeys(unreadable)), path)


def _sam_policies(sam: SamTemplate, policies: Any, documents: list[Any], unreadable: list[str]) -> None:
    """SAM's ``Policies``: a managed policy name, a document, a policy template, or a list of those."""
    if policies is None:
        return
    for entry in policies if isinstance(policies, list) else [policies]:
        if isinstance(entry, Mapping) and "Statement" in entry:
            documents.append(entry)
            continue
        if isinstance(entry, Mapping) and intrinsic(entry) is None and len(entry) == 1:
            (name,) = entry
            templates = sam_policy_templates()
            if templates is None:
                unreadable.append(f"SAM policy template {name} (doctor reads them with aws-sam-translator, "
                                  "which is not installed: pip install aws-sam-translator)")
            elif name in templates:
                documents.append(templates[name])
            else:
                unreadable.append(f"SAM policy template {name}, which is not one SAM knows")
            continue
        _managed_policy(sam, entry, documents, unreadable)


@functools.cache
def sam_policy_templates() -> Mapping[str, Any] | None:
    """SAM's policy templates (``LambdaInvokePolicy``, ...) by name: each one's policy document.

    Read from the ``policy_templates.json`` that aws-sam-translator bundles, the definitions SAM's
    transform expands. aws-sam-translator is not a dependency of ``hookkit[doctor]`` (cfn-lint does
    not require it either), so without it this is None and such a policy stays one doctor cannot read.
    Only the statements' Effect and Action matter here, and those are literal in every template;
    the parameters fill in resources, which a grant is read regardless of.
    """
    try:
        data = resources.files("samtranslator").joinpath(POLICY_TEMPLATES).read_text(encoding="utf-8")
        templates = json.loads(data)["Templates"]
    except (ImportError, OSError, ValueError, KeyError, TypeError):
        return None
    return {str(name): mapping(template).get("Definition") for name, template in mapping(templates).items()}


def _role_policies(sam: SamTemplate, role_id: str, documents: list[Any], unreadable: list[str]) -> None:
    properties = sam.properties(role_id)
    policies = properties.get("Policies")
    for policy in policies if isinstance(policies, list) else []:
        documents.append(mapping(policy).get("PolicyDocument"))
    arns = properties.get("ManagedPolicyArns")
    for arn in arns if isinstance(arns, list) else []:
        _managed_policy(sam, arn, documents, unreadable)


def _managed_policy(sam: SamTemplate, entry: Any, documents: list[Any], unreadable: list[str]) -> None:
    """``!Ref`` to a managed policy of this template is read; AWS's logging policies grant nothing here."""
    function = intrinsic(entry)
    if function is not None and function[0] == "Ref" and sam.type_of(str(function[1])) == MANAGED_POLICY:
        documents.append(sam.properties(str(function[1])).get("PolicyDocument"))
        return
    name = _policy_name(entry)
    if name in UNRELATED_MANAGED_POLICIES:
        return
    unreadable.append(f"managed policy {name}" if name else "a managed policy named by an intrinsic function")


def _policy_name(entry: Any) -> str | None:
    """``AWSLambdaRole`` for that name or any ARN of it (``!Sub arn:${AWS::Partition}:...`` too)."""
    text = literal(entry)
    function = intrinsic(entry)
    if text is None and function is not None and function[0] == "Fn::Sub" and isinstance(function[1], str):
        text = function[1]
    if text is None:
        return None
    name = text.rsplit("/", 1)[-1]
    return None if "${" in name else name


def _attached(sam: SamTemplate, role_id: str) -> Iterator[Any]:
    """Documents of the template's policies that attach themselves to the role by ``!Ref``."""
    reference = {"Ref": role_id}
    for name in sam.of_type(*ATTACHED_POLICIES):
        roles = sam.properties(name).get("Roles")
        if isinstance(roles, list) and reference in roles:
            yield sam.properties(name).get("PolicyDocument")
    for name in sam.of_type(ROLE_POLICY):
        if sam.properties(name).get("RoleName") == reference:
            yield sam.properties(name).get("PolicyDocument")


def _statements(document: Any) -> list[Any] | None:
    """A policy document's statements; None when the document is not one doctor can read."""
    if not isinstance(document, Mapping) or intrinsic(document) is not None:
        return None
    statements = document.get("Statement")
    return statements if isinstance(statements, list) else [statements]


def _document_allows(document: Any, action: str) -> bool | None:
    """True if a statement allows ``action``, False if none does, None if that cannot be read."""
    statements = _statements(document)
    if statements is None:
        return None
    unknown = False
    for statement in statements:
        verdict = _statement_allows(statement, action)
        if verdict is True:
            return True
        unknown = unknown or verdict is None
    return None if unknown else False


def _statement_allows(statement: Any, action: str) -> bool | None:
    if not isinstance(statement, Mapping) or intrinsic(statement) is not None:
        return None
    effect = literal(statement.get("Effect"))
    if effect is None:
        return None
    if effect != "Allow":
        return False
    return _covers(statement, action)


def _statement_denies(statement: Any, action: str) -> bool | str:
    """True if the statement denies ``action`` outright; else False, or why it may and doctor cannot tell."""
    if not isinstance(statement, Mapping) or intrinsic(statement) is not None:
        return False  # _statement_allows makes it unreadable already
    effect = literal(statement.get("Effect"))
    if effect != "Deny":
        return False
    covers = _covers(statement, action)
    if covers is None:
        return "a Deny statement whose actions are computed by an intrinsic function"
    if not covers:
        return False
    if "Condition" in statement:
        return f"whether a Deny of {action} under a Condition applies"
    resources = statement.get("Resource")
    if "*" not in (resources if isinstance(resources, list) else [resources]):
        return f"whether a Deny of {action} on resources other than * applies"
    return True


def _covers(statement: Mapping[str, Any], action: str) -> bool | None:
    """Whether the statement's ``Action`` (or ``NotAction``) takes in ``action``; None if computed."""
    if "NotAction" in statement:
        patterns = _patterns(statement["NotAction"])
        return None if patterns is None else not any(p.fullmatch(action) for p in patterns)
    patterns = _patterns(statement.get("Action"))
    return None if patterns is None else any(p.fullmatch(action) for p in patterns)


def _patterns(actions: Any) -> list[re.Pattern[str]] | None:
    """IAM action patterns (``codedeploy:*``, ``lambda:Invoke*``), matched without regard to case."""
    items = actions if isinstance(actions, list) else [actions]
    texts = [literal(item) for item in items]
    if any(text is None for text in texts):
        return None
    return [
        re.compile(re.escape(str(text)).replace(r"\*", ".*").replace(r"\?", "."), re.IGNORECASE) for text in texts
    ]
