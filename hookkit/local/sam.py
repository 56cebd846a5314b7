"""Read one function out of a SAM template, offline, so its own code can run in CI.

Only what running the code locally needs is read (code folder, handler, runtime and limits,
environment, layers, API routes), the way ``sam local`` reads it: ``sam build``'s output when it is
there, the template's folder when ``CodeUri`` is left out, Globals merged. Intrinsic functions are
resolved where the template alone decides the answer (parameters, pseudo parameters, conditions,
mappings, string functions). What only a deployed stack knows (another resource's ARN, an export)
becomes readable text such as ``<GetAtt OrdersTable.Arn>`` plus a warning naming the place and how
to set it (``--env-vars``, the shell), instead of an error: most checks do not depend on those
values, and the warnings tell a user which ones to override.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..core.errors import ConfigurationError
from .build import Build, find_build, newer_source
from .envvars import EnvVarsFile, load_env_vars, resolve_environment
from .intrinsics import (
    LOCAL_STACK_NAME,
    NO_VALUE,
    SERVERLESS_LAYER,
    Issue,
    LayerRef,
    Resolver,
    as_text,
    describe,
    load_template,
    local_region,
    merge_globals,
    section,
)
from .layers import is_unbuilt_python_layer, root_for_source

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
IMPLICIT_REST_API = "ServerlessRestApi"  # the APIs SAM creates for events that name none
IMPLICIT_HTTP_API = "ServerlessHttpApi"
DEFAULT_TIMEOUT = 3.0  # SAM's defaults when neither the function nor Globals set them
DEFAULT_MEMORY_SIZE = 128
DEFAULT_CODE_URI = "."  # SAM's, when neither CodeUri nor InlineCode is given: the template's folder
CATCH_ALL_PATH = "$default"
_PYTHON_RUNTIME = re.compile(r"^python3\.\d+$")
_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(?P<service>[a-z-]+):[^}]*\}\}")


@dataclass(frozen=True)
class ApiRoute:
    """One API Gateway route that invokes the function.

    ``path`` is the route template (``/orders/{orderId}``); an HTTP API event without a path is
    API Gateway's ``$default`` route (:data:`CATCH_ALL_PATH`, method ``ANY``), which receives every
    request no other route matches. ``payload_version`` is the event shape the function gets:
    ``1.0`` for REST APIs (``Type: Api``), ``2.0`` by default for HTTP APIs (``Type: HttpApi``).
    ``api`` is the logical id of the API the route is on: the ``RestApiId``/``ApiId`` it names,
    else SAM's implicit :data:`IMPLICIT_REST_API` or :data:`IMPLICIT_HTTP_API`; ``kind`` is that
    API's: ``rest`` or ``http``.
    """

    method: str
    path: str
    payload_version: Literal["1.0", "2.0"]
    api: str = IMPLICIT_REST_API
    kind: Literal["rest", "http"] = "rest"


@dataclass(frozen=True)
class FunctionSpec:
    """Everything needed to run one function's code locally, as a deployed stack would.

    ``runtime`` is the Python the function wants (``python3.12``), None when the template does
    not say. ``environment`` is final: template values, overridden by the shell's and then an
    ``--env-vars`` file's. ``warnings`` lists each value that could not be resolved locally and
    how to set it; ``notes`` says where the code, layers and values came from. ``region`` is the
    value ``AWS::Region`` resolved to, so the invoker sets the same one.

    ``layers`` are the layers' content roots in order, each playing ``/opt``: the worker puts
    ``<root>/python`` (and ``<root>/python/lib/pythonX.Y/site-packages``) on ``sys.path``.
    ``remote_layers`` are the layers the template names that are not available locally (ARNs).
    ``template`` is the template named (``sam build`` runs in its folder), which may not be the
    one read when the build is used.
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
    remote_layers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    template: Path | None = None


# --- the function ---------------------------------------------------------------------------

@dataclass
class Reading:
    """The template read for a function: the one named, or ``sam build``'s output (``build``)."""

    path: Path
    template: dict[str, Any]
    build: Build | None = None
    warnings: list[str] = field(default_factory=list)


def read_template(source: Path, logical_id: str | None, use_build: bool) -> Reading:
    """The template to read, as ``sam local`` picks it: ``sam build``'s output when it is there
    (and holds ``logical_id``: a build of another template is not)."""
    build = find_build(source) if use_build else None
    if build is not None:
        template = load_template(build.template)
        resources = template.get("Resources")
        if logical_id is None or (isinstance(resources, dict) and logical_id in resources):
            return Reading(build.template, template, build)
        warning = (
            f"{shown_path(build.template)} (sam build output) has no {logical_id}, so it was built from "
            f"another template; using {shown_path(source)}: run sam build again"
        )
        return Reading(source, load_template(source), warnings=[warning])
    return Reading(source, load_template(source))


def function_spec(
    template_path: str | os.PathLike[str],
    logical_id: str,
    *,
    parameters: Mapping[str, str] | None = None,
    code_uri: str | os.PathLike[str] | None = None,
    env_vars: str | os.PathLike[str] | EnvVarsFile | None = None,
    shell_env: Mapping[str, str] | None = None,
    use_build: bool = True,
) -> FunctionSpec:
    """Read ``logical_id`` from the template, with Globals applied and intrinsics resolved.

    ``parameters`` override template parameter defaults (as ``sam deploy
    --parameter-overrides`` would); ``code_uri`` replaces the function's CodeUri, relative to the
    current directory, to run another build of the same function. ``env_vars`` is an
    ``--env-vars`` file (SAM CLI's JSON) and ``shell_env`` the environment whose values win over the
    template's for the variables it declares (``hookkit run`` passes ``os.environ``; None reads no
    shell). With ``use_build``, ``sam build``'s output next to the template is read instead of
    the template, as ``sam local`` does.
    """
    source = Path(template_path)
    reading = read_template(source, logical_id, use_build)
    path, template = reading.path, reading.template
    parameters = dict(parameters or {})
    check_parameters(template, parameters, path)
    resources = resources_of(template, path)
    functions = [name for name, r in resources.items() if isinstance(r, dict) and r.get("Type") == SERVERLESS_FUNCTION]
    choices = f"functions in this template: {', '.join(functions)}" if functions else (
        f"this template declares no {SERVERLESS_FUNCTION}"
    )
    if logical_id not in resources:
        raise ConfigurationError(f"SAM template {path} has no resource {logical_id!r}; {choices}")
    resource = resources[logical_id]
    kind = resource.get("Type") if isinstance(resource, dict) else None
    if kind != SERVERLESS_FUNCTION:
        raise ConfigurationError(
            f"SAM template {path}: {logical_id} is {kind!r}, not an "
            f"{SERVERLESS_FUNCTION}; {choices}"
        )
    overrides = env_vars if isinstance(env_vars, EnvVarsFile) or env_vars is None else load_env_vars(env_vars)

    properties = merge_globals(template_globals(template, "Function"), resource.get("Properties") or {})
    if not isinstance(properties, dict):
        raise ConfigurationError(f"SAM template {path}: {logical_id}.Properties must be a mapping")
    region = local_region()
    resolver = Resolver(template, parameters, region)
    origin = f"SAM template {path}: {logical_id}"

    def prop(name: str) -> Any:
        value = resolver.resolve(properties.get(name), f"{logical_id}.Properties.{name}")
        return None if value is NO_VALUE else value

    if prop("PackageType") == "Image":
        raise ConfigurationError(
            f"{origin} is a container image function (PackageType: Image): local targets run a Zip function's "
            "Python code in worker processes, not images; check a deployed version instead with --target "
            "NAME:VERSION (e.g. orders:7), or run the image with sam local"
        )
    folder = _code_folder(path, origin, code_uri, prop)
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
    runtime = _runtime(prop("Runtime"), origin)
    name = prop("FunctionName")
    function_name = as_text(name) if name else f"{LOCAL_STACK_NAME}-{logical_id}"
    environment, sources, env_warnings = _environment(
        prop, resolver, logical_id, function_name, origin, overrides, shell_env or {},
        lambda: _function_names(template, parameters, region),
    )
    with resolver.layer_refs():
        layer_entries = prop("Layers")
    layers, remote, layer_warnings, layer_names = _layers(layer_entries, resolver, path, origin, logical_id)
    routes = event_routes(properties.get("Events"), resolver, logical_id, origin)
    timeout = _number(prop("Timeout"), DEFAULT_TIMEOUT, float, f"{origin}: Timeout", "seconds")
    memory = _number(prop("MemorySize"), DEFAULT_MEMORY_SIZE, int, f"{origin}: MemorySize", "MB")

    warnings = [*reading.warnings, *resolver.warnings, *env_warnings, *layer_warnings]
    if reading.build is not None and code_uri is None:
        stale = newer_source(reading.build, [source, *_source_code(source, logical_id)])
        if stale is not None:
            warnings.append(
                f"{logical_id}: {shown_path(stale)} changed after sam build wrote {shown_path(path)}: the run uses the "
                "built code, as sam local does; run sam build again (or delete .aws-sam/build to run the sources)"
            )
    notes = _summary(logical_id, runtime, folder, reading, code_uri, layer_names, sources)
    return FunctionSpec(
        logical_id=logical_id,
        code_uri=folder,
        handler=str(handler),
        runtime=runtime,
        timeout=timeout,
        memory_size=memory,
        environment=environment,
        function_name=function_name,
        routes=routes,
        warnings=tuple(dict.fromkeys(warnings)),
        region=region,
        layers=layers,
        remote_layers=remote,
        notes=(notes,),
        template=source.resolve(),
    )


def check_parameters(template: dict[str, Any], parameters: Mapping[str, str], path: Path) -> None:
    declared = section(template, "Parameters")
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ConfigurationError(
            f"parameter {unknown[0]!r}: SAM template {path} declares no such parameter; "
            f"declared parameters: {', '.join(declared) or '(none)'}"
        )


def resources_of(template: dict[str, Any], path: Path) -> dict[str, Any]:
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise ConfigurationError(f"SAM template {path} has no Resources section; is it a SAM template?")
    return resources


def template_globals(template: dict[str, Any], kind: str) -> Any:
    globals_ = template.get("Globals") or {}
    return (globals_.get(kind) if isinstance(globals_, dict) else None) or {}


def _folder(base: Path, relative: str | os.PathLike[str], what: str) -> Path:
    """``relative`` resolved against ``base``; a path no file system can hold is a ConfigurationError."""
    try:
        return (base / Path(relative).expanduser()).resolve()
    except (ValueError, OSError) as exc:  # an embedded NUL, a loop of links
        raise ConfigurationError(f"{what} {str(relative)!r} is not a usable path ({exc}); fix it") from None


def shown_path(path: Path) -> str:
    """A path as a user reads it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd())) or "."
    except (ValueError, OSError):
        return str(path)


def _runtime(runtime: Any, origin: str) -> str | None:
    """The Python the function wants; any other runtime cannot run here."""
    if runtime is None:
        return None
    text = as_text(runtime)
    if not text.startswith("python"):
        raise ConfigurationError(
            f"{origin} runs on {text}: local targets run Python functions only (in worker processes of a Lambda "
            "Python runtime); check a deployed version instead with --target NAME:VERSION (e.g. orders:7)"
        )
    if not _PYTHON_RUNTIME.match(text):
        raise ConfigurationError(
            f"{origin}: Runtime {text!r} is not a Lambda Python runtime; use one such as python3.12"
        )
    return text


def _environment(
    prop: Callable[[str], Any], resolver: Resolver, logical_id: str, function_name: str, origin: str,
    overrides: EnvVarsFile | None, shell: Mapping[str, str], functions: Callable[[], set[str]],
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """The function's variables (template, then shell, then --env-vars), where each came from, and
    a warning per variable whose value only a deployed stack knows and nothing overrides."""
    before = len(resolver.issues)
    variables = prop("Environment")
    variables = variables.get("Variables") if isinstance(variables, dict) else None
    if variables is not None and not isinstance(variables, dict):
        raise ConfigurationError(f"{origin}: Environment.Variables must be a mapping of names to values")
    declared = {str(key): as_text(value) for key, value in (variables or {}).items()}
    override_values: dict[str, Any] = {}
    warnings: list[str] = []
    if overrides is not None:
        section, own = overrides.section(logical_id, function_name)
        override_values = overrides.overrides(logical_id, function_name)
        warnings += _unused_overrides(overrides, section, own, declared, logical_id, functions())
        for key, value in override_values.items():
            if key in declared and isinstance(value, (dict, list)):
                shape = "an object" if isinstance(value, dict) else "an array"
                warnings.append(
                    f"--env-vars {overrides.path}: {logical_id}.{key} is {shape}; like sam local, hookkit sets "
                    "it to an empty string: write the value as a string"
                )
    environment, sources = resolve_environment(declared, shell=shell, overrides=override_values)
    for key, value in environment.items():
        if not key or "=" in key or "\0" in key or "\0" in value:
            given = f"--env-vars {overrides.path}" if sources[key] == "env-vars" and overrides else "the template"
            raise ConfigurationError(
                f"{origin}: environment variable {key!r} (from {given}) cannot be set: a name must be non-empty "
                "without '=' and neither name nor value may hold a NUL character; fix it"
            )

    base = f"{logical_id}.Properties.Environment.Variables"
    issues = resolver.issues[before:]
    for key, value in declared.items():
        where = f"{base}.{key}"
        mine = [i for i in issues if i.where == where or i.where.startswith((f"{where}.", f"{where}["))]
        dynamic = _DYNAMIC_REFERENCE.search(value)
        if dynamic:
            mine.append(Issue(where, "a dynamic reference", f"{{{{resolve:{dynamic['service']}:...}}}} is "
                               "resolved by CloudFormation at deployment", value))
        for issue in mine:
            if issue in resolver.issues:
                resolver.issues.remove(issue)
        if mine and sources[key] == "template":
            example = json.dumps({logical_id: {key: "..."}}).replace('"..."', "...")
            why = "; ".join(dict.fromkeys(i.why for i in mine))
            warnings.append(
                f"{logical_id}.{key} is {value} locally ({why}): set it with --env-vars ({example}) or in the shell"
            )
    return environment, dict(sources), warnings


def _unused_overrides(
    overrides: EnvVarsFile, section: str | None, own: dict[str, Any], declared: dict[str, str], logical_id: str,
    functions: set[str],
) -> list[str]:
    """Typos a user would want to hear about: a function's section naming a variable it does not
    declare (sam local ignores it), a section naming no function of the template."""
    warnings = [
        f"--env-vars {overrides.path}: {section}.{key} is not set: {logical_id} does not declare {key} in "
        "Environment.Variables (sam local sets declared variables only); declare it in the template"
        for key in own if key not in declared
    ]
    warnings += [
        f"--env-vars {overrides.path}: {key!r} is not a function of the template (nor \"Parameters\"); its "
        "values are not used: key them by the function's logical id"
        for key in overrides.functions if key not in functions
    ]
    return warnings


def _function_names(template: dict[str, Any], parameters: Mapping[str, str], region: str) -> set[str]:
    """Every function's logical id and FunctionName: the keys an --env-vars file may use."""
    scratch = Resolver(template, parameters, region)
    names: set[str] = set()
    for logical_id, resource in section(template, "Resources").items():
        if not isinstance(resource, dict) or resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        names.add(logical_id)
        properties = resource.get("Properties")
        name = properties.get("FunctionName") if isinstance(properties, dict) else None
        if name is not None:
            names.add(as_text(scratch.resolve(name, logical_id)))
    return names


def _layers(
    entries: Any, resolver: Resolver, template: Path, origin: str, logical_id: str,
) -> tuple[tuple[Path, ...], tuple[str, ...], list[str], list[str]]:
    """Each layer's root (playing /opt), the layers not available locally, warnings, and names."""
    if entries is None:
        return (), (), [], []
    if not isinstance(entries, list):
        raise ConfigurationError(f"{origin}: Layers must be a list of layer ARNs or !Ref to layers")
    roots: list[Path] = []
    remote: list[str] = []
    warnings: list[str] = []
    names: list[str] = []
    for index, entry in enumerate(entries):
        where = f"{logical_id}.Properties.Layers[{index}]"
        issues = [i for i in resolver.issues if i.where == where or i.where.startswith((f"{where}.", f"{where}["))]
        for issue in issues:
            resolver.issues.remove(issue)
        why = "; ".join(dict.fromkeys(i.why for i in issues))
        if isinstance(entry, LayerRef):
            root, warning = _layer_root(entry.name, resolver, template, origin)
            if root is not None:
                roots.append(root)
                names.append(entry.name)
            if warning is not None:
                remote.append(entry.name)
                warnings.append(warning)
            continue
        text = as_text(entry)
        remote.append(text)
        reason = f"{why}; " if why else ""
        warnings.append(
            f"{where}: layer {text} is not available locally ({reason}hookkit does not download layers); the "
            "function runs without it: install what it provides where the function runs locally, or "
            "declare the layer in this template"
        )
    return tuple(roots), tuple(remote), warnings, names


def _layer_root(name: str, resolver: Resolver, template: Path, origin: str) -> tuple[Path | None, str | None]:
    """The root of a layer of the template, or a warning saying why it is not available."""
    resource = resolver.resource(name)
    properties = resource.get("Properties")
    properties = properties if isinstance(properties, dict) else {}
    key = "ContentUri" if resource.get("Type") == SERVERLESS_LAYER else "Content"
    content = resolver.resolve(properties.get(key), f"{name}.Properties.{key}")
    if content is None or content is NO_VALUE:
        raise ConfigurationError(f"{origin}: layer {name} has no {key}; point it at the layer's folder")
    if not isinstance(content, str) or content.startswith("s3://"):
        return None, (
            f"{origin}: layer {name}'s {key} {describe(content)!r} is in S3, which is not available locally; "
            f"point {key} at the layer's folder"
        )
    folder = _folder(template.resolve().parent, content, f"{origin}: layer {name}: {key}")
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist"
        raise ConfigurationError(
            f"{origin}: layer {name}: {key} {content!r} -> {folder} {state}; fix the path ({key} is relative to "
            "the template's folder) or build the layer first"
        )
    metadata = resource.get("Metadata")
    build_method = metadata.get("BuildMethod") if isinstance(metadata, dict) else None
    if is_unbuilt_python_layer(folder, build_method):
        try:
            return root_for_source(folder), None
        except OSError as exc:
            return None, f"{origin}: layer {name} is not built and cannot be linked locally ({exc}); run sam build"
    return folder, None


def _summary(
    logical_id: str, runtime: str | None, folder: Path, reading: Reading, code_uri: object,
    layers: list[str], sources: dict[str, str],
) -> str:
    """One line saying what will run: the Python wanted, whose code, which layers and values."""
    parts = [f"{logical_id}: Runtime {runtime}" if runtime else f"{logical_id}: no Runtime (runs on this Python)"]
    if code_uri is not None:
        parts.append(f"code {shown_path(folder)} (the build named after @)")
    elif reading.build is not None:
        parts.append(f"code {shown_path(folder)} (sam build output, {shown_path(reading.path)})")
    else:
        parts.append(f"code {shown_path(folder)} ({shown_path(reading.path)}; no sam build output)")
    if layers:
        parts.append(f"layers {', '.join(layers)}")
    for origin, label in (("shell", "from the shell"), ("env-vars", "from --env-vars")):
        names = [name for name, source in sources.items() if source == origin]
        if names:
            parts.append(f"{label}: {', '.join(names)}")
    return "; ".join(parts)


def _source_code(source: Path, logical_id: str) -> list[Path]:
    """The function's source folder as the source template names it (literal CodeUri only)."""
    try:
        template = load_template(source)
    except ConfigurationError:
        return []
    resource = section(template, "Resources").get(logical_id)
    properties = resource.get("Properties") if isinstance(resource, dict) else None
    code = properties.get("CodeUri") if isinstance(properties, dict) else None
    globals_ = template_globals(template, "Function")
    if code is None and isinstance(globals_, dict):
        code = globals_.get("CodeUri")
    code = DEFAULT_CODE_URI if code is None else code
    if not isinstance(code, str):
        return []
    try:
        folder = _folder(source.resolve().parent, code, "CodeUri")
    except ConfigurationError:
        return []
    return [folder] if folder.is_dir() else []


def _code_folder(
    source: Path, origin: str, override: str | os.PathLike[str] | None, prop: Callable[[str], Any]
) -> Path:
    if override is not None:
        folder, given = _folder(Path.cwd(), override, f"{origin}: code folder"), f"code folder {override}"
        hint = "fix the path (it is relative to the current directory)"
    else:
        if prop("InlineCode") is not None:
            raise ConfigurationError(
                f"{origin} uses InlineCode, which is not supported locally; move the code into a "
                "folder and point CodeUri at it (or pass a code folder explicitly)"
            )
        code = prop("CodeUri")
        if code is None:  # as SAM: the template's own folder
            code = DEFAULT_CODE_URI
        if not isinstance(code, str) or code.startswith("s3://"):
            raise ConfigurationError(
                f"{origin}: CodeUri {describe(code)!r} is an S3 location; local runs need the "
                "source folder: point CodeUri at it or pass a code folder explicitly"
            )
        folder, given = _folder(source.resolve().parent, code, f"{origin}: CodeUri"), f"CodeUri {code!r}"
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
    except (TypeError, ValueError):
        raise ConfigurationError(f"{what} {value!r} is not a number of {unit}; fix it in the template") from None
    if not number > 0:  # a Lambda's Timeout and MemorySize
        raise ConfigurationError(f"{what} {value!r} must be more than 0 {unit}; fix it in the template")
    return kind(number)


def event_routes(events: Any, resolver: Resolver, logical_id: str, origin: str) -> tuple[ApiRoute, ...]:
    routes = []
    for name, event in (events or {}).items() if isinstance(events, dict) else ():
        if not isinstance(event, dict) or event.get("Type") not in ("Api", "HttpApi"):
            continue
        properties = event.get("Properties") or {}
        properties = properties if isinstance(properties, dict) else {}
        get = functools.partial(_event_property, resolver, properties, f"{logical_id}.Properties.Events.{name}")

        path, method = get("Path"), get("Method")
        if event["Type"] == "Api":
            if not (isinstance(path, str) and isinstance(method, str)):
                raise ConfigurationError(
                    f"{origin}: Api event {name} needs Properties.Path and Properties.Method "
                    "(e.g. Path: /orders, Method: get)"
                )
            api = _api_id(properties.get("RestApiId"), IMPLICIT_REST_API)
            routes.append(ApiRoute(_method(method), path, "1.0", api, "rest"))
            continue
        version = _payload_version(as_text(get("PayloadFormatVersion", "2.0")), f"{origin}: HttpApi event {name}")
        api = _api_id(properties.get("ApiId"), IMPLICIT_HTTP_API)
        if path is None:  # no Path: API Gateway's $default route, which takes everything else
            routes.append(ApiRoute("ANY", CATCH_ALL_PATH, version, api, "http"))
        else:
            routes.append(ApiRoute(_method(as_text(method)) if method else "ANY", as_text(path), version, api, "http"))
    return tuple(routes)


def _api_id(value: Any, implicit: str) -> str:
    """The API an event belongs to: the resource its RestApiId/ApiId refers to, else SAM's implicit one."""
    if value is None:
        return implicit
    if isinstance(value, dict) and isinstance(value.get("Ref"), str) and len(value) == 1:
        return str(value["Ref"])
    return describe(value)


def _payload_version(text: str, where: str) -> Literal["1.0", "2.0"]:
    if text == "1.0":
        return "1.0"
    if text == "2.0":
        return "2.0"
    raise ConfigurationError(f"{where} has PayloadFormatVersion {text!r}; use 1.0 or 2.0")


def _event_property(resolver: Resolver, properties: dict[str, Any], where: str, key: str, default: Any = None) -> Any:
    value = resolver.resolve(properties.get(key, default), f"{where}.Properties.{key}")
    return None if value is NO_VALUE else value


def _method(method: str) -> str:
    method = method.upper()
    return "ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method


