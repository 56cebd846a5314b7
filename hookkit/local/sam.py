"""Read one function out of a SAM template, offline, so its own code can run in CI.

Only what running the code locally needs is read (code folder, handler, runtime limits,
environment, API routes). Intrinsic functions are resolved where the template alone decides the
answer (parameters, pseudo parameters, conditions, mappings, string functions). What only a
deployed stack knows (another resource's ARN, an export) becomes readable text such as
``<GetAtt OrdersTable.Arn>`` plus a warning naming the place, instead of an error: most checks
do not depend on those values, and the warnings tell a user which ones to override.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from ..core.errors import ConfigurationError

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_STACK_NAME = "local"
DEFAULT_TIMEOUT = 3.0  # SAM's defaults when neither the function nor Globals set them
DEFAULT_MEMORY_SIZE = 128
CATCH_ALL_PATH = "$default"


@dataclass(frozen=True)
class ApiRoute:
    """One API Gateway route that invokes the function.

    ``path`` is the route template (``/orders/{orderId}``); an HTTP API event without a path is
    API Gateway's ``$default`` route (:data:`CATCH_ALL_PATH`, method ``ANY``), which receives every
    request no other route matches. ``payload_version`` is the event shape the function gets:
    ``1.0`` for REST APIs (``Type: Api``), ``2.0`` by default for HTTP APIs (``Type: HttpApi``).
    """

    method: str
    path: str
    payload_version: Literal["1.0", "2.0"]


@dataclass(frozen=True)
class FunctionSpec:
    """Everything needed to run one function's code in-process, as a deployed stack would.

    ``warnings`` lists each value that could not be resolved locally and where it was used;
    ``region`` is the value ``AWS::Region`` resolved to, so the invoker sets the same one.
    """

    logical_id: str
    code_uri: Path
    handler: str
    runtime: str | None
    timeout: float
    memory_size: int
    environment: dict[str, str]
    function_name: str
    routes: tuple[ApiRoute, ...]
    warnings: tuple[str, ...]
    region: str = "us-east-1"
    #: Layer content roots, each laid out as Lambda's ``/opt``: ``python/`` holds its modules.
    layers: tuple[Path, ...] = ()


# --- loading -------------------------------------------------------------------------------

class _TemplateLoader(yaml.SafeLoader):
    """Safe YAML plus CloudFormation's short-form tags, turned into their long (JSON) form."""


_FUNCTIONS = (
    "Sub", "GetAtt", "Join", "Select", "Split", "If", "Equals", "Not", "And", "Or",
    "FindInMap", "Base64", "Cidr", "ImportValue", "GetAZs", "Transform",
)
_SHORT_TAGS = ("Ref", "Condition", *(f"Fn::{name}" for name in _FUNCTIONS))


def _intrinsic_constructor(key: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
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


def load_template(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a YAML or JSON template; a bad file is a ConfigurationError naming file and line."""
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
        data = json.loads(text) if kind == "JSON" else yaml.load(text, Loader=_TemplateLoader)  # noqa: S506 - safe
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

_NO_VALUE = object()  # AWS::NoValue: the key (or list item) disappears
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_LIST_PARAMETER = re.compile(r"^(CommaDelimitedList|List<.*>)$")


def _text(value: Any) -> str:
    """How CloudFormation renders a resolved value where a string is needed."""
    if value is _NO_VALUE or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(_describe(item) for item in value)
    return _text(value)


def _section(template: dict[str, Any], name: str) -> dict[str, Any]:
    section = template.get(name)
    return section if isinstance(section, dict) else {}


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return key in ("Ref", "Condition") or str(key).startswith("Fn::")


class _Resolver:
    """Evaluates intrinsics against one template; collects a warning for each it cannot."""

    def __init__(self, template: dict[str, Any], parameters: Mapping[str, str], region: str) -> None:
        declared = _section(template, "Parameters")
        self.parameters: dict[str, str | None] = {}
        self.list_parameters: set[str] = set()
        for name, definition in declared.items():
            definition = definition if isinstance(definition, dict) else {}
            default = definition.get("Default")
            self.parameters[name] = None if default is None else _text(default)
            if _LIST_PARAMETER.match(str(definition.get("Type", ""))):
                self.list_parameters.add(name)
        self.parameters.update({name: str(value) for name, value in parameters.items()})
        self.conditions = _section(template, "Conditions")
        self.mappings = _section(template, "Mappings")
        self.resources = set(_section(template, "Resources"))
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
        self.warnings: list[str] = []
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

    def resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, dict):
            if _is_intrinsic(value) and "Condition" not in value:
                ((key, argument),) = value.items()
                function = self._functions.get(key)
                if function is not None:
                    return function(argument, where)
                if key in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"):
                    truth = self._truth(value, where)
                    if truth is None:
                        return self._unresolved(f"<{key[4:]}>", key, where, "its operands are unknown locally")
                    return truth
                text = f"{key.removeprefix('Fn::')} {_describe(argument)}"
                return self._unresolved(
                    f"<{text}>", f"Fn::{text}", where, "its value is only known to a deployed stack"
                )
            resolved = {}
            for key, item in value.items():
                item = self.resolve(item, f"{where}.{key}")
                if item is not _NO_VALUE:
                    resolved[key] = item
            return resolved
        if isinstance(value, list):
            items = (self.resolve(item, f"{where}[{i}]") for i, item in enumerate(value))
            return [item for item in items if item is not _NO_VALUE]
        return value

    def _unresolved(self, placeholder: str, what: str, where: str, why: str) -> str:
        self.warnings.append(f"{where}: {what} cannot be resolved locally ({why}); using {placeholder!r}")
        return placeholder

    def _malformed(self, key: str, argument: Any, where: str) -> str:
        text = f"{key.removeprefix('Fn::')} {_describe(argument)}"
        return self._unresolved(f"<{text}>", key, where, "malformed arguments")

    def _passed_on(self, items: Any, argument: list[Any], key: str, where: str) -> str:
        """A list argument that did not resolve to a list: an intrinsic's placeholder (already
        warned about) is passed on; a literal is a mistake in the template."""
        if _is_intrinsic(argument[1]):
            return _text(items)
        return self._malformed(key, argument, where)

    def _ref(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            return self._malformed("Ref", name, where)
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            value = self.parameters[name]
            if value is None:
                return self._unresolved(
                    f"<Ref {name}>", f"Ref {name}", where,
                    f"parameter {name} has no Default; pass a value for it as parameter {name}=VALUE",
                )
            if name in self.list_parameters:
                return [item.strip() for item in value.split(",")]
            return value
        why = (
            f"{name} is a resource; its physical id exists only after deployment"
            if name in self.resources
            else f"{name} is not a parameter, pseudo parameter or resource of this template"
        )
        return self._unresolved(f"<Ref {name}>", f"Ref {name}", where, why)

    def _get_att(self, argument: Any, where: str) -> str:
        if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str)):
            return self._malformed("Fn::GetAtt", argument, where)
        resource, attribute = argument[0], _text(self.resolve(argument[1], where))
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
                return _text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self._get_att(name.split(".", 1), where)
            return _text(self._ref(name, where))

        return _SUB_VARIABLE.sub(replace, template)

    def _join(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self._malformed("Fn::Join", argument, where)
        delimiter, items = _text(self.resolve(argument[0], where)), self.resolve(argument[1], where)
        if not isinstance(items, list):
            return self._passed_on(items, argument, "Fn::Join", where)
        return delimiter.join(_text(item) for item in items)

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
                f"<Select {_describe(index)}>", "Fn::Select", where,
                f"index {index!r} is not a position in the list of {len(items)} item(s)",
            )
        return items[position]

    def _split(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self._malformed("Fn::Split", argument, where)
        delimiter, source = _text(self.resolve(argument[0], where)), self.resolve(argument[1], where)
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
        keys = [_text(self.resolve(item, where)) for item in argument]
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
        return base64.b64encode(_text(self.resolve(argument, where)).encode()).decode()

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
            before = len(self.warnings)
            left, right = (self.resolve(item, where) for item in argument)
            return None if len(self.warnings) > before else _text(left) == _text(right)
        if key == "Fn::Not" and len(argument) == 1:
            inner = self._truth(argument[0], where)
            return None if inner is None else not inner
        if key in ("Fn::And", "Fn::Or"):
            values = [self._truth(item, where) for item in argument]
            if None in values:
                return None
            return all(values) if key == "Fn::And" else any(values)
        return None


# --- the function ---------------------------------------------------------------------------

def _merge_globals(globals_: Any, properties: Any) -> Any:
    """SAM's Globals rules: maps merge key by key, lists add up (globals first), the function wins."""
    if isinstance(globals_, dict) and isinstance(properties, dict):
        if _is_intrinsic(globals_) or _is_intrinsic(properties):
            return properties
        merged = dict(globals_)
        for key, value in properties.items():
            merged[key] = _merge_globals(globals_[key], value) if key in globals_ else value
        return merged
    if isinstance(globals_, list) and isinstance(properties, list):
        return globals_ + properties
    return properties


def local_region() -> str:
    """The region a local run pretends to be in: the caller's AWS settings, else us-east-1."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def function_spec(
    template_path: str | os.PathLike[str],
    logical_id: str,
    *,
    parameters: Mapping[str, str] | None = None,
    code_uri: str | os.PathLike[str] | None = None,
) -> FunctionSpec:
    """Read ``logical_id`` from the template, with Globals applied and intrinsics resolved.

    ``parameters`` override template parameter defaults (as ``sam deploy
    --parameter-overrides`` would); ``code_uri`` replaces the function's CodeUri, relative to the
    current directory, to run another build of the same function.
    """
    source = Path(template_path)
    template = load_template(source)
    parameters = dict(parameters or {})
    declared = _section(template, "Parameters")
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ConfigurationError(
            f"parameter {unknown[0]!r}: SAM template {source} declares no such parameter; "
            f"declared parameters: {', '.join(declared) or '(none)'}"
        )

    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise ConfigurationError(f"SAM template {source} has no Resources section; is it a SAM template?")
    functions = [name for name, r in resources.items() if isinstance(r, dict) and r.get("Type") == SERVERLESS_FUNCTION]
    choices = f"functions in this template: {', '.join(functions)}" if functions else (
        f"this template declares no {SERVERLESS_FUNCTION}"
    )
    if logical_id not in resources:
        raise ConfigurationError(f"SAM template {source} has no resource {logical_id!r}; {choices}")
    resource = resources[logical_id]
    kind = resource.get("Type") if isinstance(resource, dict) else None
    if kind != SERVERLESS_FUNCTION:
        raise ConfigurationError(
            f"SAM template {source}: {logical_id} is {kind!r}, not an "
            f"{SERVERLESS_FUNCTION}; {choices}"
        )

    globals_ = template.get("Globals") or {}
    globals_ = (globals_.get("Function") if isinstance(globals_, dict) else None) or {}
    properties = _merge_globals(globals_, resource.get("Properties") or {})
    if not isinstance(properties, dict):
        raise ConfigurationError(f"SAM template {source}: {logical_id}.Properties must be a mapping")
    region = local_region()
    resolver = _Resolver(template, parameters, region)
    origin = f"SAM template {source}: {logical_id}"

    def prop(name: str) -> Any:
        value = resolver.resolve(properties.get(name), f"{logical_id}.Properties.{name}")
        return None if value is _NO_VALUE else value

    if prop("PackageType") == "Image":
        raise ConfigurationError(
            f"{origin} is a container image function (PackageType: Image), which cannot run "
            "in-process; test a Zip function, or run the image with sam local"
        )
    folder = _code_folder(source, origin, code_uri, prop)
    handler = prop("Handler")
    if not handler:
        raise ConfigurationError(
            f"{origin} has no Handler (neither in its Properties nor in Globals.Function); "
            "add Handler: app.lambda_handler (module.function)"
        )
    module, _, function = str(handler).rpartition(".")
    if not module or not function:
        raise ConfigurationError(
            f"{origin}: Handler {handler!r} must be module.function (e.g. app.lambda_handler or "
            "src/app.lambda_handler)"
        )
    runtime = prop("Runtime")
    if runtime is not None and not str(runtime).startswith("python"):
        raise ConfigurationError(
            f"{origin} runs on {runtime}; only Python functions can run in-process"
        )
    variables = prop("Environment")
    variables = variables.get("Variables") if isinstance(variables, dict) else None
    if variables is not None and not isinstance(variables, dict):
        raise ConfigurationError(f"{origin}: Environment.Variables must be a mapping of names to values")
    name = prop("FunctionName")

    return FunctionSpec(
        logical_id=logical_id,
        code_uri=folder,
        handler=str(handler),
        runtime=None if runtime is None else str(runtime),
        timeout=_number(prop("Timeout"), DEFAULT_TIMEOUT, float, f"{origin}: Timeout", "seconds"),
        memory_size=_number(prop("MemorySize"), DEFAULT_MEMORY_SIZE, int, f"{origin}: MemorySize", "MB"),
        environment={str(key): _text(value) for key, value in (variables or {}).items()},
        function_name=_text(name) if name else f"{LOCAL_STACK_NAME}-{logical_id}",
        routes=_routes(properties.get("Events"), resolver, logical_id, origin),
        warnings=tuple(resolver.warnings),
        region=region,
    )


def _code_folder(
    source: Path, origin: str, override: str | os.PathLike[str] | None, prop: Callable[[str], Any]
) -> Path:
    if override is not None:
        folder, given = Path(override).expanduser().resolve(), f"code folder {override}"
        hint = "fix the path (it is relative to the current directory)"
    else:
        if prop("InlineCode") is not None:
            raise ConfigurationError(
                f"{origin} uses InlineCode, which is not supported locally; move the code into a "
                "folder and point CodeUri at it (or pass a code folder explicitly)"
            )
        code = prop("CodeUri")
        if code is None:
            raise ConfigurationError(
                f"{origin} has no CodeUri (neither in its Properties nor in Globals.Function); add "
                "CodeUri: <folder with the handler code>, or pass a code folder explicitly"
            )
        if not isinstance(code, str) or code.startswith("s3://"):
            raise ConfigurationError(
                f"{origin}: CodeUri {_describe(code)!r} is an S3 location; local runs need the "
                "source folder: point CodeUri at it or pass a code folder explicitly"
            )
        folder, given = (source.resolve().parent / code).resolve(), f"CodeUri {code!r}"
        hint = "fix the path (CodeUri is relative to the template's folder) or build the function first"
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist"
        raise ConfigurationError(
            f"{origin}: {given} -> {folder} {state}; {hint}"
        )
    return folder


def _number(value: Any, default: float, kind: type, what: str, unit: str) -> Any:
    if value is None:
        return kind(default)
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        number = float(value)
        if kind is int and not number.is_integer():
            raise ValueError(value)
        return kind(number)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{what} {value!r} is not a number of {unit}; fix it in the template") from None


def _routes(events: Any, resolver: _Resolver, logical_id: str, origin: str) -> tuple[ApiRoute, ...]:
    routes = []
    for name, event in (events or {}).items() if isinstance(events, dict) else ():
        if not isinstance(event, dict) or event.get("Type") not in ("Api", "HttpApi"):
            continue
        properties = event.get("Properties") or {}
        get = functools.partial(_event_property, resolver, properties, f"{logical_id}.Properties.Events.{name}")

        path, method = get("Path"), get("Method")
        if event["Type"] == "Api":
            if not (isinstance(path, str) and isinstance(method, str)):
                raise ConfigurationError(
                    f"{origin}: Api event {name} needs Properties.Path and Properties.Method "
                    "(e.g. Path: /orders, Method: get)"
                )
            routes.append(ApiRoute(_method(method), path, "1.0"))
            continue
        version = _payload_version(_text(get("PayloadFormatVersion", "2.0")), f"{origin}: HttpApi event {name}")
        if path is None:  # no Path: API Gateway's $default route, which takes everything else
            routes.append(ApiRoute("ANY", CATCH_ALL_PATH, version))
        else:
            routes.append(ApiRoute(_method(_text(method)) if method else "ANY", _text(path), version))
    return tuple(routes)


def _payload_version(text: str, where: str) -> Literal["1.0", "2.0"]:
    if text == "1.0":
        return "1.0"
    if text == "2.0":
        return "2.0"
    raise ConfigurationError(f"{where} has PayloadFormatVersion {text!r}; use 1.0 or 2.0")


def _event_property(resolver: _Resolver, properties: dict[str, Any], where: str, key: str, default: Any = None) -> Any:
    value = resolver.resolve(properties.get(key, default), f"{where}.Properties.{key}")
    return None if value is _NO_VALUE else value


def _method(method: str) -> str:
    method = method.upper()
    return "ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method
