"""CloudFormation templates as data: YAML with short-form tags, and intrinsic functions resolved.

Intrinsics are resolved where the template alone decides the answer (parameters, pseudo
parameters, conditions, mappings, string functions). What only a deployed stack knows (another
resource's ARN, an export, an SSM parameter's value) becomes readable text such as ``<GetAtt
OrdersTable.Arn>`` and an :class:`Issue` naming the place, instead of an error.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from ..core.errors import ConfigurationError
from .context import LOCAL_ACCOUNT_ID as LOCAL_ACCOUNT_ID  # AWS::AccountId; context.py stays free of YAML

SERVERLESS_LAYER = "AWS::Serverless::LayerVersion"
LAMBDA_LAYER = "AWS::Lambda::LayerVersion"
LOCAL_STACK_NAME = "local"
_SSM_PARAMETER = re.compile(r"^AWS::SSM::Parameter::Value<.+>$")


# --- loading -------------------------------------------------------------------------------

class _TemplateLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc] # chosen at import
    """Safe YAML plus CloudFormation's short-form tags, turned into their long (JSON) form.

    On libyaml's parser when PyYAML has it (about ten times faster than the pure-Python one on a
    10 kB template), else the pure-Python one: the same safe constructors either way.
    """


_FUNCTIONS = (
    "Sub", "GetAtt", "Join", "Select", "Split", "If", "Equals", "Not", "And", "Or",
    "FindInMap", "Base64", "Cidr", "ImportValue", "GetAZs", "Transform",
)
_SHORT_TAGS = ("Ref", "Condition", *(f"Fn::{name}" for name in _FUNCTIONS))


def _intrinsic_constructor(key: str) -> Callable[[SafeConstructor, yaml.Node], dict[str, Any]]:
    def construct(loader: SafeConstructor, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if key == "Fn::GetAtt":  # "Res.Attr.Sub" -> ["Res", "Attr.Sub"], as CloudFormation splits it
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        elif isinstance(node, yaml.MappingNode):
            value = loader.construct_mapping(node, deep=True)
        else:
            raise yaml.constructor.ConstructorError(None, None, f"!{key} cannot tag this node", node.start_mark)
        return {key: value}

    return construct


for _key in _SHORT_TAGS:
    _TemplateLoader.add_constructor(f"!{_key.removeprefix('Fn::')}", _intrinsic_constructor(_key))


@functools.lru_cache(maxsize=8)
def _parsed_yaml(text: str) -> Any:
    """A YAML template's data, parsed once per text: a run reads the same template several times
    (the target, ``--current``, ``--api local``). Keyed by the text itself, not the file's
    modification time, which is coarse enough for a rewrite to keep it."""
    return yaml.load(text, Loader=_TemplateLoader)  # noqa: S506 - a safe loader


def load_template(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a YAML or JSON template; a bad file is a ConfigurationError naming file and line.

    Each call returns data of its own, which the caller may change."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"SAM template {source} does not exist; pass the path of your template "
            "(e.g. local:template.yaml#MyFunction)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"SAM template {source} cannot be read ({exc}); pass a readable UTF-8 YAML or JSON file"
        ) from None
    kind = "JSON" if text.lstrip().startswith("{") else "YAML"
    try:
        data = json.loads(text) if kind == "JSON" else copy.deepcopy(_parsed_yaml(text))
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"SAM template {source}, line {exc.lineno}, column {exc.colno}: invalid JSON "
            f"({exc.msg}); fix the template"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigurationError(
            f"SAM template {source}{where}: invalid YAML ({problem}); fix the template"
        ) from None
    except RecursionError:
        raise ConfigurationError(
            f"SAM template {source}: invalid {kind} (nested too deeply to read); fix the template"
        ) from None
    except ValueError as exc:  # values Python cannot build: 5000-digit integers, 2001-02-30
        raise ConfigurationError(
            f"SAM template {source}: invalid {kind} (a value cannot be read: {exc}); fix the template"
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"SAM template {source} is not a template (got {type(data).__name__}, expected a "
            "mapping with a Resources section)"
        )
    return data


# --- resolving intrinsics -------------------------------------------------------------------

NO_VALUE: Any = object()  # AWS::NoValue: the key (or list item) disappears
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_LIST_PARAMETER = re.compile(r"^(CommaDelimitedList|List<.*>)$")


def as_text(value: Any) -> str:
    """How CloudFormation renders a resolved value where a string is needed."""
    if value is NO_VALUE or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(as_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


def describe(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(describe(item) for item in value)
    return as_text(value)


def section(template: dict[str, Any], name: str) -> dict[str, Any]:
    section = template.get(name)
    return section if isinstance(section, dict) else {}


def is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return key in ("Ref", "Condition") or str(key).startswith("Fn::")


@dataclass(frozen=True)
class Issue:
    """A value that could not be resolved locally: where, what, why, and what stands in for it."""

    where: str
    what: str
    why: str
    placeholder: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what} cannot be resolved locally ({self.why}); using {self.placeholder!r}"


@dataclass(frozen=True)
class LayerRef:
    """``!Ref`` to a layer resource of the template, kept as such while a function's Layers resolve."""

    name: str


class Resolver:
    """Evaluates intrinsics against one template; records an issue for each it cannot."""

    def __init__(self, template: dict[str, Any], parameters: Mapping[str, str], region: str) -> None:
        declared = section(template, "Parameters")
        self.parameters: dict[str, str | None] = {}
        self.list_parameters: set[str] = set()
        self.ssm_parameters: dict[str, str] = {}  # name -> type, for those left at their Default
        for name, definition in declared.items():
            definition = definition if isinstance(definition, dict) else {}
            default = definition.get("Default")
            self.parameters[name] = None if default is None else as_text(default)
            kind = str(definition.get("Type", ""))
            if _LIST_PARAMETER.match(kind):
                self.list_parameters.add(name)
            if _SSM_PARAMETER.match(kind) and name not in parameters:
                self.ssm_parameters[name] = kind
        self.parameters.update({name: str(value) for name, value in parameters.items()})
        self.conditions = section(template, "Conditions")
        self.mappings = section(template, "Mappings")
        self.resource_types = {
            name: str(resource.get("Type")) if isinstance(resource, dict) else ""
            for name, resource in section(template, "Resources").items()
        }
        self.resources = set(self.resource_types)
        self._bodies = section(template, "Resources")
        self._layer_refs = False
        self.pseudo: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::StackName": LOCAL_STACK_NAME,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{region}:{LOCAL_ACCOUNT_ID}:stack/{LOCAL_STACK_NAME}/"
                "00000000-0000-0000-0000-000000000000"
            ),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        self.issues: list[Issue] = []
        self._evaluating: set[str] = set()
        self._functions: dict[str, Callable[[Any, str], Any]] = {
            "Ref": self._ref,
            "Fn::Sub": self._sub,
            "Fn::GetAtt": self._get_att,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": self._base64,
        }

    def resource(self, name: str) -> dict[str, Any]:
        """A resource of the template as written (an empty mapping for anything else)."""
        body = self._bodies.get(name)
        return body if isinstance(body, dict) else {}

    @property
    def warnings(self) -> list[str]:
        """Each issue once, in the order found."""
        return list(dict.fromkeys(map(str, self.issues)))

    @contextlib.contextmanager
    def layer_refs(self) -> Iterator[None]:
        """While resolving a function's Layers: ``!Ref`` to a layer of the template stays a reference."""
        self._layer_refs = True
        try:
            yield
        finally:
            self._layer_refs = False

    def resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, dict):
            if is_intrinsic(value) and "Condition" not in value:
                ((key, argument),) = value.items()
                function = self._functions.get(key)
                if function is not None:
                    return function(argument, where)
                if key in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"):
                    truth = self._truth(value, where)
                    if truth is None:
                        return self._unresolved(f"<{key[4:]}>", key, where, "its operands are unknown locally")
                    return truth
                text = f"{key.removeprefix('Fn::')} {describe(argument)}"
                return self._unresolved(
                    f"<{text}>", f"Fn::{text}", where, "its value is only known to a deployed stack"
                )
            resolved = {}
            for key, item in value.items():
                item = self.resolve(item, f"{where}.{key}")
                if item is not NO_VALUE:
                    resolved[key] = item
            return resolved
        if isinstance(value, list):
            items = (self.resolve(item, f"{where}[{i}]") for i, item in enumerate(value))
            return [item for item in items if item is not NO_VALUE]
        return value

    def _unresolved(self, placeholder: str, what: str, where: str, why: str) -> str:
        self.issues.append(Issue(where, what, why, placeholder))
        return placeholder

    def _malformed(self, key: str, argument: Any, where: str) -> str:
        text = f"{key.removeprefix('Fn::')} {describe(argument)}"
        return self._unresolved(f"<{text}>", key, where, "malformed arguments")

    def _passed_on(self, items: Any, argument: list[Any], key: str, where: str) -> str:
        """A list argument that did not resolve to a list: an intrinsic's placeholder (already
        warned about) is passed on; a literal is a mistake in the template."""
        if is_intrinsic(argument[1]):
            return as_text(items)
        return self._malformed(key, argument, where)

    def _ref(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            return self._malformed("Ref", name, where)
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            value = self.parameters[name]
            if value is None:
                return self._unresolved(
                    f"<Ref {name}>", f"Ref {name}", where,
                    f"parameter {name} has no Default; pass a value for it as parameter {name}=VALUE",
                )
            if name in self.ssm_parameters:  # CloudFormation reads the value from SSM; we cannot
                self._unresolved(
                    value, f"Ref {name}", where,
                    f"parameter {name} is of type {self.ssm_parameters[name]}: locally its value is the SSM "
                    f"parameter's name, not its value; pass the value as parameter {name}=VALUE",
                )
            if name in self.list_parameters:
                return [item.strip() for item in value.split(",")]
            return value
        if self._layer_refs and self.resource_types.get(name) in (SERVERLESS_LAYER, LAMBDA_LAYER):
            return LayerRef(name)
        why = (
            f"{name} is a resource; its physical id exists only after deployment"
            if name in self.resources
            else f"{name} is not a parameter, pseudo parameter or resource of this template"
        )
        return self._unresolved(f"<Ref {name}>", f"Ref {name}", where, why)

    def _get_att(self, argument: Any, where: str) -> str:
        if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str)):
            return self._malformed("Fn::GetAtt", argument, where)
        resource, attribute = argument[0], as_text(self.resolve(argument[1], where))
        why = (
            f"attributes of {resource} exist only after deployment"
            if resource in self.resources
            else f"{resource} is not a resource of this template"
        )
        return self._unresolved(f"<GetAtt {resource}.{attribute}>", f"Fn::GetAtt {resource}.{attribute}", where, why)

    def _sub(self, argument: Any, where: str) -> Any:
        if isinstance(argument, str):
            template, variables = argument, {}
        elif (
            isinstance(argument, list) and len(argument) == 2
            and isinstance(argument[0], str) and isinstance(argument[1], dict)
        ):
            template = argument[0]
            variables = {name: self.resolve(value, where) for name, value in argument[1].items()}
        else:
            return self._malformed("Fn::Sub", argument, where)

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is how Sub writes a literal ${Literal}
                return "${" + name[1:] + "}"
            name = name.strip()
            if name in variables:
                return as_text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self._get_att(name.split(".", 1), where)
            return as_text(self._ref(name, where))

        return _SUB_VARIABLE.sub(replace, template)

    def _join(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self._malformed("Fn::Join", argument, where)
        delimiter, items = as_text(self.resolve(argument[0], where)), self.resolve(argument[1], where)
        if not isinstance(items, list):
            return self._passed_on(items, argument, "Fn::Join", where)
        return delimiter.join(as_text(item) for item in items)

    def _select(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self._malformed("Fn::Select", argument, where)
        index, items = self.resolve(argument[0], where), self.resolve(argument[1], where)
        if not isinstance(items, list):
            return self._passed_on(items, argument, "Fn::Select", where)
        try:
            position = int(index)
        except (TypeError, ValueError):
            position = -1
        if not 0 <= position < len(items):
            return self._unresolved(
                f"<Select {describe(index)}>", "Fn::Select", where,
                f"index {index!r} is not a position in the list of {len(items)} item(s)",
            )
        return items[position]

    def _split(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self._malformed("Fn::Split", argument, where)
        delimiter, source = as_text(self.resolve(argument[0], where)), self.resolve(argument[1], where)
        if not delimiter or not isinstance(source, str):
            return self._malformed("Fn::Split", argument, where)
        return source.split(delimiter)

    def _if(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str)):
            return self._malformed("Fn::If", argument, where)
        truth = self._condition(argument[0], where)
        if truth is None:
            return self._unresolved(
                f"<If {argument[0]}>", f"Fn::If {argument[0]}", where, "its condition cannot be evaluated locally"
            )
        return self.resolve(argument[1] if truth else argument[2], where)

    def _find_in_map(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3):
            return self._malformed("Fn::FindInMap", argument, where)
        keys = [as_text(self.resolve(item, where)) for item in argument]
        value: Any = self.mappings
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return self._unresolved(
                    f"<FindInMap {' '.join(keys)}>", "Fn::FindInMap", where,
                    f"Mappings has no entry {'.'.join(keys)}",
                )
            value = value[key]
        return self.resolve(value, where)

    def _base64(self, argument: Any, where: str) -> str:
        return base64.b64encode(as_text(self.resolve(argument, where)).encode()).decode()

    def _condition(self, name: str, where: str) -> bool | None:
        if name not in self.conditions or name in self._evaluating:
            return None
        self._evaluating.add(name)
        try:
            return self._truth(self.conditions[name], where)
        finally:
            self._evaluating.discard(name)

    def _truth(self, expression: Any, where: str) -> bool | None:
        """A condition's value, or None when it depends on something unknown locally."""
        if not (isinstance(expression, dict) and len(expression) == 1):
            return None
        ((key, argument),) = expression.items()
        if key == "Condition" and isinstance(argument, str):
            return self._condition(argument, where)
        if not isinstance(argument, list):
            return None
        if key == "Fn::Equals" and len(argument) == 2:
            before = len(self.issues)
            left, right = (self.resolve(item, where) for item in argument)
            return None if len(self.issues) > before else as_text(left) == as_text(right)
        if key == "Fn::Not" and len(argument) == 1:
            inner = self._truth(argument[0], where)
            return None if inner is None else not inner
        if key in ("Fn::And", "Fn::Or"):
            values = [self._truth(item, where) for item in argument]
            if None in values:
                return None
            return all(values) if key == "Fn::And" else any(values)
        return None



def merge_globals(globals_: Any, properties: Any) -> Any:
    """SAM's Globals rules: maps merge key by key, lists add up (globals first), the function wins."""
    if isinstance(globals_, dict) and isinstance(properties, dict):
        if is_intrinsic(globals_) or is_intrinsic(properties):
            return properties
        merged = dict(globals_)
        for key, value in properties.items():
            merged[key] = merge_globals(globals_[key], value) if key in globals_ else value
        return merged
    if isinstance(globals_, list) and isinstance(properties, list):
        return globals_ + properties
    return properties


def local_region() -> str:
    """The region a local run pretends to be in: the caller's AWS settings, else us-east-1."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


