"""What a SAM template says about its CodeDeploy hooks, read from the template alone.

The input is the template as cfn-lint (>= 1.54) hands it to rules: the SAM template as written,
with ``Globals`` merged into every resource, intrinsic functions in their long form
(``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``). Nothing here evaluates what only a deployed stack
knows; a value that depends on it is "unknown", and the rules only report what they can see.

A *hook* is a function some ``AWS::Serverless::Function`` names in ``DeploymentPreference.Hooks``
with ``!Ref``; each naming is a :class:`Guard` (which function, which phase, where).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ...core.phases import Phase

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
#: The only names SAM's default CodeDeploy role (AWSCodeDeployRoleForLambda) may invoke.
HOOK_NAME_PREFIX = "CodeDeployHook_"
#: SAM's ``Hooks`` keys and the lifecycle events CodeDeploy runs them in.
HOOK_KEYS = {"PreTraffic": Phase.BEFORE_ALLOW_TRAFFIC, "PostTraffic": Phase.AFTER_ALLOW_TRAFFIC}
#: The handler of hookkit's last-resort reporter, the on-failure destination of every hook.
FALLBACK_HANDLER = "hookkit.fallback"

Path = tuple[str | int, ...]

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Finding:
    """One mistake at one place: what is wrong, and how to fix it.

    ``unchecked`` marks what doctor could not check (reported as information, not as a mistake).
    """

    path: Path
    message: str
    fix: str
    unchecked: bool = False


@dataclass(frozen=True)
class Guard:
    """One ``Hooks`` entry naming a hook: the function it guards, and in which phase."""

    function: str
    key: str

    @property
    def phase(self) -> Phase:
        return HOOK_KEYS[self.key]


@dataclass(frozen=True)
class Hook:
    """A hook function of this template and every ``Hooks`` entry that names it."""

    logical_id: str
    properties: Mapping[str, Any]
    guards: tuple[Guard, ...]

    @property
    def path(self) -> Path:
        return ("Resources", self.logical_id)

    def at(self, *keys: str | int) -> Path:
        """The path of one of its properties (``hook.at("Environment", "Variables")``)."""
        return (*self.path, "Properties", *keys)

    @property
    def variables(self) -> Mapping[str, Any]:
        """``Environment.Variables``; empty when absent or not a mapping."""
        return mapping(mapping(self.properties.get("Environment")).get("Variables"))

    @property
    def phases(self) -> list[Phase]:
        return sorted({guard.phase for guard in self.guards}, key=list(Phase).index)


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping that is not an intrinsic function, else an empty one."""
    return value if isinstance(value, Mapping) and intrinsic(value) is None else {}


def intrinsic(value: Any) -> tuple[str, Any] | None:
    """``("Ref", "X")`` for ``{"Ref": "X"}``: the function and its argument, or None for data."""
    if isinstance(value, Mapping) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" or key == "Condition" or str(key).startswith("Fn::"):
            return str(key), argument
    return None


def is_false(value: Any) -> bool:
    """A literal false (``false``, ``"false"``): how SAM's ``Enabled`` switches a thing off."""
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def literal(value: Any) -> str | None:
    """A plain string or number as text; None for anything an intrinsic function computes."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def given(value: Any) -> bool:
    """Set to something: a non-empty literal, or what an intrinsic function gives (``!Ref AliasName``)."""
    text = literal(value)
    return bool(text.strip()) if text is not None else intrinsic(value) is not None


def literal_prefix(value: Any) -> tuple[str, bool]:
    """The text a value is known to start with, and whether that is all of it.

    ``!Sub "CodeDeployHook_${AWS::StackName}"`` starts with ``CodeDeployHook_``; ``!Join`` starts
    with its leading literal parts; anything else starts with nothing known.
    """
    text = literal(value)
    if text is not None:
        return text, True
    function = intrinsic(value)
    if function is None:
        return "", False
    name, argument = function
    if name == "Fn::Sub":
        return _sub_prefix(argument)
    if name == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        delimiter, items = literal(argument[0]), argument[1]
        if delimiter is None or not isinstance(items, list):
            return "", False
        parts = []
        for item in items:
            text, complete = literal_prefix(item)
            parts.append(text)
            if not complete:
                return delimiter.join(parts), False
        return delimiter.join(parts), True
    return "", False


def _sub_parts(argument: Any) -> tuple[Any, Mapping[str, Any]]:
    """A Sub's string and the variables it defines (``!Sub [string, {Name: value}]``)."""
    if isinstance(argument, list) and len(argument) == 2:
        return argument[0], argument[1] if isinstance(argument[1], Mapping) else {}
    return argument, {}


def _sub_prefix(argument: Any) -> tuple[str, bool]:
    """The leading text of a Sub: up to its first variable that is not a literal defined in the Sub."""
    template, own = _sub_parts(argument)
    if not isinstance(template, str):
        return "", False
    parts, position = [], 0
    for match in _SUB_VARIABLE.finditer(template):
        parts.append(template[position:match.start()])
        position = match.end()
        variable = match.group(1).strip()
        value = literal(own.get(variable))
        if variable.startswith("!"):  # ${!Name} is a literal ${Name}
            parts.append("${" + variable[1:] + "}")
        elif value is not None:
            parts.append(value)
        else:
            return "".join(parts), False
    parts.append(template[position:])
    return "".join(parts), True


def references(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every name ``value`` refers to, with where: ``Ref X``, ``GetAtt X.Attr``, ``${X}`` in a Sub.

    Names are given as written (``Fn.Alias``, ``Fn.Version``); a GetAtt gives ``X.Attr``.
    Variables a Sub defines itself are not references.
    """
    function = intrinsic(value)
    if function is not None:
        name, argument = function
        if name == "Ref" and isinstance(argument, str):
            yield path, argument
            return
        if name == "Fn::GetAtt":
            parts = argument.split(".", 1) if isinstance(argument, str) else argument
            if isinstance(parts, list) and parts and isinstance(parts[0], str):
                attribute = parts[1] if len(parts) > 1 and isinstance(parts[1], str) else ""
                yield path, f"{parts[0]}.{attribute}" if attribute else parts[0]
            return
        if name == "Fn::Sub":
            template, variables = _sub_parts(argument)
            if isinstance(template, str):
                for match in _SUB_VARIABLE.finditer(template):
                    variable = match.group(1).strip()
                    if variable and not variable.startswith("!") and variable not in variables:
                        yield (*path, "Fn::Sub"), variable
            for key, item in variables.items():
                yield from references(item, (*path, "Fn::Sub", 1, key))
            return
        yield from references(argument, (*path, name))
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from references(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from references(item, (*path, index))


def referenced_resource(value: Any) -> str | None:
    """The logical id in ``!Ref X`` or ``!GetAtt X.Arn``; None for any other value."""
    function = intrinsic(value)
    if function is None:
        return None
    name, argument = function
    if name == "Ref" and isinstance(argument, str):
        return argument
    if name == "Fn::GetAtt":
        parts = argument.split(".", 1) if isinstance(argument, str) else argument
        if isinstance(parts, list) and len(parts) == 2 and parts[1] == "Arn" and isinstance(parts[0], str):
            return parts[0]
    return None


class SamTemplate:
    """The resources of a template and the hooks its functions' deployment preferences name."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.resources: Mapping[str, Any] = mapping(template.get("Resources"))
        self.parameters: Mapping[str, Any] = mapping(template.get("Parameters"))
        self.globals_function: Mapping[str, Any] = mapping(mapping(template.get("Globals")).get("Function"))
        self.hooks: list[Hook] = []
        #: ``Hooks`` entries that name no function of this template: (path, what they say, why not checked)
        self.unchecked: list[tuple[Path, str, str]] = []
        self._find_hooks()

    def type_of(self, logical_id: str) -> str | None:
        kind = mapping(self.resources.get(logical_id)).get("Type")
        return kind if isinstance(kind, str) else None

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        return mapping(mapping(self.resources.get(logical_id)).get("Properties"))

    def of_type(self, *kinds: str) -> Iterator[str]:
        """Logical ids of the resources of these types, in template order."""
        return (name for name in self.resources if self.type_of(name) in kinds)

    def deployment_preference(self, logical_id: str) -> Mapping[str, Any] | None:
        """The function's deployment preference if it may be on (``Enabled`` not literally false)."""
        preference = self.properties(logical_id).get("DeploymentPreference")
        if not isinstance(preference, Mapping) or intrinsic(preference) is not None:
            return None
        return None if is_false(preference.get("Enabled", True)) else preference

    def _find_hooks(self) -> None:
        guards: dict[str, list[Guard]] = {}
        for function in self.of_type(SERVERLESS_FUNCTION):
            preference = self.deployment_preference(function)
            hooks = mapping((preference or {}).get("Hooks"))
            for key, value in hooks.items():
                if key not in HOOK_KEYS:
                    continue  # SAM's own schema reports an unknown key
                path: Path = ("Resources", function, "Properties", "DeploymentPreference", "Hooks", key)
                hook, why_not = self._hook_target(value)
                if hook is not None:
                    guards.setdefault(hook, []).append(Guard(function, key))
                else:
                    self.unchecked.append((path, f"{function}'s {key} hook", why_not))
        self.hooks = [
            Hook(name, self.properties(name), tuple(found)) for name, found in guards.items()
        ]

    def _hook_target(self, value: Any) -> tuple[str | None, str]:
        """The hook's logical id, or None and why it cannot be checked."""
        function = intrinsic(value)
        if function is None:
            text = literal(value)
            if text is not None:
                return None, f"is the plain name {text!r}, not !Ref to a function of this template"
            return None, "is not a function name"
        name, argument = function
        if name != "Ref" or not isinstance(argument, str):
            return None, f"is computed by {name}, which only a deployed stack resolves"
        if argument in self.parameters:
            return None, f"is named by parameter {argument}, which only a deployment sets"
        kind = self.type_of(argument)
        if kind is None:
            return None, f"names {argument}, which is not a resource of this template"
        if kind != SERVERLESS_FUNCTION:
            return None, f"names {argument}, an {kind}; doctor reads hooks that are {SERVERLESS_FUNCTION}s"
        return argument, ""


def deployment_group_arn(function: str) -> str:
    """The ARN of the deployment group SAM makes for ``function``, as a ``!Sub`` string."""
    return (
        "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:"
        f"${{ServerlessDeploymentApplication}}/${{{function}DeploymentGroup}}"
    )



def on_failure_destination(hook: Hook) -> tuple[Path, Any] | None:
    """Where ``EventInvokeConfig`` sends a hook invocation that failed for good, and its path; None if nowhere."""
    path = hook.at("EventInvokeConfig", "DestinationConfig", "OnFailure")
    on_failure = mapping(mapping(mapping(hook.properties.get("EventInvokeConfig")).get("DestinationConfig"))
                         .get("OnFailure"))
    if "Destination" not in on_failure:
        return None
    return (*path, "Destination"), on_failure["Destination"]
