"""What a rehearsal needs from the SAM template: the deployment, as a deployed stack would see it.

A stack knows things a template alone does not: the function's name and ARN, the number of the
version being deployed, the alias's ARN. The hooks' environments often name them
(``HOOKKIT_FUNCTION: !Ref OrdersFunction``, ``HOOKKIT_TARGET_VERSION: !GetAtt
OrdersFunction.Version.Version``), and so do the alarms' dimensions. The rehearsal writes these
values into a copy of the template (versions ``1`` = the current build, ``2`` = the new one) and
reads every function through :func:`hookkit.local.sam.function_spec`, so hooks see the values
they would see after ``sam deploy``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import ConfigurationError, describe
from ...core.phases import Phase
from ...local.intrinsics import (
    LOCAL_ACCOUNT_ID,
    LOCAL_STACK_NAME,
    NO_VALUE,
    Resolver,
    load_template,
    local_region,
    merge_globals,
    section,
)
from ...local.sam import FunctionSpec, function_spec, template_globals
from .alarms import AlarmSpec, UnsupportedAlarm, parse_alarm
from .configs import DeploymentConfig, custom_config, predefined, unknown_config

CURRENT_VERSION = "1"
TARGET_VERSION = "2"
FUNCTION = "AWS::Serverless::Function"
ALARM = "AWS::CloudWatch::Alarm"
DEPLOYMENT_CONFIG = "AWS::CodeDeploy::DeploymentConfig"
HOOK_PHASES = {"PreTraffic": Phase.BEFORE_ALLOW_TRAFFIC, "PostTraffic": Phase.AFTER_ALLOW_TRAFFIC}
DEFAULT_ASYNC_RETRIES = 2  # Lambda's default MaximumRetryAttempts for asynchronous invocations


@dataclass(frozen=True)
class Hook:
    """A hook function of the deployment, read like any function of the template."""

    phase: Phase
    logical_id: str
    spec: FunctionSpec
    retries: int = DEFAULT_ASYNC_RETRIES
    layers: tuple[str, ...] = ()

    def missing_hookkit(self) -> str | None:
        """Why Lambda could not import hookkit for this hook, if it could not.

        The rehearsal's worker runs in the Python environment that has hookkit; in Lambda a hook
        whose ``Handler`` is in hookkit gets it only from a layer or from its own code (vendored, or
        installed by ``sam build`` from the code's requirements.txt). Any layer is trusted to bring it.
        """
        if self.spec.handler.split(".")[0] != "hookkit" or self.layers:
            return None
        code = self.spec.code_uri
        requirements = code / "requirements.txt"
        if (code / "hookkit").is_dir() or (requirements.is_file() and _REQUIRES_HOOKKIT.search(
                requirements.read_text(encoding="utf-8", errors="replace"))):
            return None
        return (f"Unable to import module 'hookkit': No module named 'hookkit' ({self.logical_id} has no Layers "
                f"and its CodeUri {code} holds no hookkit: add Layers: [!Ref <a layer with hookkit>] to the hook, "
                "or hookkit to its requirements.txt)")


@dataclass(frozen=True)
class Plan:
    """One deployment to rehearse: the function's two builds, how traffic moves, what guards it."""

    template: Path
    logical_id: str
    alias: str
    current: FunctionSpec
    target: FunctionSpec
    config: DeploymentConfig
    hooks: dict[Phase, Hook]
    alarms: tuple[AlarmSpec, ...]
    ignored_alarms: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: No ``DeploymentPreference.Role``: SAM's role, which may invoke only hooks named ``CodeDeployHook_*``.
    default_role: bool = True

    @property
    def function_name(self) -> str:
        return self.target.function_name


def read_plan(
    template: str | Path,
    logical_id: str,
    *,
    current: str,
    target_code: str | None = None,
    config: str | None = None,
    parameters: Mapping[str, str] | None = None,
    ignore_alarms: Sequence[str] = (),
) -> Plan:
    """Read the deployment of ``logical_id``; ``current`` is ``DIR`` or ``TEMPLATE[#LogicalId][@DIR]``."""
    source = Path(template)
    parameters = dict(parameters or {})
    raw = load_template(source)
    resources: dict[str, Any] = raw["Resources"] if isinstance(raw.get("Resources"), dict) else {}
    _require_python(raw, logical_id, parameters, source)
    target = function_spec(source, logical_id, parameters=parameters, code_uri=target_code)
    properties = _merged_properties(raw, logical_id)
    where = f"SAM template {source}: {logical_id}"
    preference = properties.get("DeploymentPreference")
    if not isinstance(preference, dict):
        raise ConfigurationError(
            f"{where} has no DeploymentPreference, so CodeDeploy never deploys it; add DeploymentPreference "
            "(Type, Hooks, Alarms) and AutoPublishAlias"
        )
    values = _Values(raw, parameters, _Known({logical_id: target.function_name}))
    if values.resolve(preference.get("Enabled", True), f"{where}.DeploymentPreference.Enabled") in (False, "false"):
        raise ConfigurationError(f"{where}: DeploymentPreference.Enabled is false; nothing to rehearse")
    alias = values.resolve(properties.get("AutoPublishAlias"), f"{where}.AutoPublishAlias")
    if not isinstance(alias, str) or not alias:
        raise ConfigurationError(f"{where} has no AutoPublishAlias: SAM needs an alias for CodeDeploy to shift; "
                                 "add AutoPublishAlias: live")
    hook_ids = _hook_ids(preference.get("Hooks"), resources, values, where)
    for hook_id in hook_ids.values():
        _require_python(raw, hook_id, parameters, source)
    hook_specs = {phase: function_spec(source, hook_id, parameters=parameters) for phase, hook_id in hook_ids.items()}
    alarm_ids = _alarm_ids(preference.get("Alarms"), resources, values, where, ignore_alarms)

    deployed = _Deployed(target.function_name, alias, target.region)
    deployed.function(logical_id)
    for phase, hook_id in hook_ids.items():
        deployed.other(hook_id, hook_specs[phase].function_name)
    for other_id, resource in resources.items():  # e.g. a hook's on-failure destination: !GetAtt HookFallback.Arn
        if other_id not in deployed.refs and _of_type(resources, other_id, "AWS::Serverless::Function"):
            name = (resource.get("Properties") or {}).get("FunctionName")
            deployed.other(other_id, name if isinstance(name, str) else f"{LOCAL_STACK_NAME}-{other_id}")
    for alarm_id in alarm_ids:
        name = values.resolve(resources[alarm_id].get("Properties", {}).get("AlarmName", alarm_id), alarm_id)
        deployed.refs[alarm_id] = str(name)
    rewritten = deployed.rewrite(raw)
    _anchor_paths(rewritten, source.resolve().parent)  # the copy lives elsewhere: keep code and layers found
    values = _Values(rewritten, parameters, deployed)

    with tempfile.TemporaryDirectory(prefix="hookkit-simulate-") as folder:
        copy = Path(folder) / "template.json"
        copy.write_text(json.dumps(rewritten, default=str), encoding="utf-8")
        target = function_spec(copy, logical_id, parameters=parameters, code_uri=target.code_uri)
        hooks = {
            phase: Hook(
                phase=phase, logical_id=hook_ids[phase],
                spec=function_spec(copy, hook_ids[phase], parameters=parameters, code_uri=spec.code_uri),
                retries=_retries(_merged_properties(rewritten, hook_ids[phase]), values, hook_ids[phase]),
                layers=_layers(_merged_properties(raw, hook_ids[phase]).get("Layers")),
            )
            for phase, spec in hook_specs.items()
        }
    current_spec = _current(current, source, logical_id, parameters, deployed)
    current_spec = dataclasses.replace(current_spec, function_name=target.function_name)
    alarms, ignored = [], list(ignore_alarms)
    for alarm_id in alarm_ids:
        alarms.append(parse_alarm(alarm_id, values.resolve(resources[alarm_id].get("Properties"), alarm_id)))
    chosen = _config(preference.get("Type"), resources, values, where) if config is None else _cli_config(
        config, resources, values)
    role = values.resolve(preference.get("Role"), f"{where}.DeploymentPreference.Role")
    return Plan(
        template=source, logical_id=logical_id, alias=alias, current=current_spec, target=target,
        config=chosen, hooks=hooks, alarms=tuple(alarms), ignored_alarms=tuple(ignored),
        warnings=tuple(dict.fromkeys((*current_spec.warnings, *target.warnings,
                                      *(w for h in hooks.values() for w in h.spec.warnings)))),
        default_role=role is None,
    )


def split_reference(text: str) -> tuple[str, str]:
    """``template.yaml#OrdersFunction`` -> (``template.yaml``, ``OrdersFunction``)."""
    path, sep, logical_id = text.rpartition("#")
    if not sep or not path or not logical_id:
        raise ConfigurationError(
            f"{text!r}: name the function as TEMPLATE#LogicalId, e.g. template.yaml#OrdersFunction"
        )
    return path, logical_id


def _current(text: str, source: Path, logical_id: str, parameters: Mapping[str, str],
             deployed: _Deployed) -> FunctionSpec:
    """``--from``: a folder holding the current build, or ``TEMPLATE[#LogicalId][@DIR]`` of the last release."""
    if Path(text).is_dir():
        return _deployed_spec(source, logical_id, parameters, text, deployed)
    reference, _, code = text.partition("@")
    path, sep, other_id = reference.partition("#")
    if not Path(path).is_file():
        raise ConfigurationError(
            f"--from {text!r}: no such folder or template; give the folder of the current build (e.g. "
            "example_hooks/orders/v1) or the template of the last release as TEMPLATE[#LogicalId][@DIR]"
        )
    return _deployed_spec(Path(path), other_id if sep and other_id else logical_id, parameters if
                          Path(path).resolve() == source.resolve() else {}, code or None, deployed)


def _deployed_spec(source: Path, logical_id: str, parameters: Mapping[str, str], code: str | None,
                   deployed: _Deployed) -> FunctionSpec:
    first = function_spec(source, logical_id, parameters=parameters, code_uri=code)
    other = _Deployed(deployed.name, deployed.alias, deployed.region)
    other.function(logical_id, version=CURRENT_VERSION)
    rewritten = other.rewrite(load_template(source))
    _anchor_paths(rewritten, source.resolve().parent)  # the copy lives elsewhere: keep its layers found
    with tempfile.TemporaryDirectory(prefix="hookkit-simulate-") as folder:
        copy = Path(folder) / "template.json"
        copy.write_text(json.dumps(rewritten, default=str), encoding="utf-8")
        return function_spec(copy, logical_id, parameters=parameters, code_uri=first.code_uri)


def _require_python(raw: dict[str, Any], logical_id: str, parameters: Mapping[str, str], source: Path) -> None:
    """Refuse a function on another runtime in the rehearsal's words (the local reader's advice, --target, is
    an option of hookkit run)."""
    try:
        runtime = _Values(raw, parameters, _Known()).resolve(_merged_properties(raw, logical_id).get("Runtime"),
                                                             f"{logical_id}.Runtime")
    except ConfigurationError:
        return  # reading the function says what is wrong with its Runtime
    if isinstance(runtime, str) and not runtime.startswith("python"):
        raise ConfigurationError(
            f"SAM template {source}: {logical_id} runs on {runtime}: hookkit simulate runs the function's builds "
            "and its hooks as Python functions, in local worker processes, so it cannot rehearse this deployment; "
            "rehearse with Python hooks, or try the deployment on a test stack"
        )


def _merged_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """The function's properties over ``Globals.Function``, merged as SAM and ``function_spec`` merge them."""
    resource = section(template, "Resources").get(logical_id)
    own = resource.get("Properties") if isinstance(resource, dict) else None
    merged = merge_globals(template_globals(template, "Function"), own if isinstance(own, dict) else {})
    return merged if isinstance(merged, dict) else {}


def _hook_ids(hooks: Any, resources: dict[str, Any], values: _Values, where: str) -> dict[Phase, str]:
    if hooks is None:
        return {}
    if not isinstance(hooks, dict):
        raise ConfigurationError(f"{where}.DeploymentPreference.Hooks must map PreTraffic/PostTraffic to "
                                 f"functions, got {describe(hooks)}")
    found = {}
    for key, value in hooks.items():
        if key not in HOOK_PHASES:
            raise ConfigurationError(f"{where}.DeploymentPreference.Hooks.{key}: SAM knows PreTraffic and "
                                     "PostTraffic only")
        reference = value.get("Ref") if isinstance(value, dict) and len(value) == 1 else None
        if not (isinstance(reference, str) and _of_type(resources, reference, FUNCTION)):
            named = values.resolve(value, f"{where}.DeploymentPreference.Hooks.{key}")
            raise ConfigurationError(
                f"{where}.DeploymentPreference.Hooks.{key} is {describe(named)}: the rehearsal runs hooks from "
                f"their code, so the hook must be an {FUNCTION} of this template, named with !Ref"
            )
        found[HOOK_PHASES[key]] = reference
    return found


def _alarm_ids(alarms: Any, resources: dict[str, Any], values: _Values, where: str,
               ignore: Sequence[str]) -> list[str]:
    if alarms is None:
        return []
    listed = values.resolve(alarms, f"{where}.DeploymentPreference.Alarms") if not isinstance(alarms, list) else alarms
    if not isinstance(listed, list):
        raise ConfigurationError(f"{where}.DeploymentPreference.Alarms must be a list, got {describe(listed)}")
    names = {
        str(values.resolve(r.get("Properties", {}).get("AlarmName", lid), lid)): lid
        for lid, r in resources.items() if _of_type(resources, lid, ALARM)
    }
    found = []
    for i, item in enumerate(listed):
        reference = item.get("Ref") if isinstance(item, dict) and len(item) == 1 else None
        alarm_id = reference if isinstance(reference, str) and _of_type(resources, reference, ALARM) else None
        if alarm_id is None:
            name = values.resolve(item, f"{where}.DeploymentPreference.Alarms[{i}]")
            alarm_id = names.get(str(name))
            if alarm_id is None:
                if str(name) in ignore:
                    continue
                raise UnsupportedAlarm(
                    f"{where}.DeploymentPreference.Alarms[{i}] is {describe(name)}, not an {ALARM} of this template: "
                    f"the rehearsal evaluates only alarms it can read; rehearse without it with --ignore-alarm {name}"
                )
        properties = resources[alarm_id].get("Properties", {})
        if alarm_id in ignore or str(properties.get("AlarmName")) in ignore:
            continue
        found.append(alarm_id)
    return found


def _config(value: Any, resources: dict[str, Any], values: _Values, where: str) -> DeploymentConfig:
    """``DeploymentPreference.Type``: a custom configuration by ``!Ref``, or a name SAM hands CodeDeploy."""
    if value is None:
        raise ConfigurationError(f"{where}.DeploymentPreference has no Type; give a deployment configuration "
                                 "such as Canary10Percent5Minutes (or pass --config)")
    customs = sorted(lid for lid in resources if _of_type(resources, lid, DEPLOYMENT_CONFIG))
    reference = value.get("Ref") if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(reference, str) and reference in customs:
        return custom_config(reference, values.resolve(resources[reference].get("Properties"), reference))
    name = values.resolve(value, f"{where}.DeploymentPreference.Type")
    found = _named_config(name, customs, resources, values)
    if found is not None:
        return found
    if name in customs:
        raise ConfigurationError(
            f"{where}.DeploymentPreference.Type: {name} is the logical id of a DeploymentConfig, but a plain string "
            f"is handed to CodeDeploy as a configuration's name, and {name} has no DeploymentConfigName {name!r}: "
            f"CodeDeploy would refuse it; write Type: !Ref {name}"
        )
    raise unknown_config(str(name), customs)


def _cli_config(name: str, resources: dict[str, Any], values: _Values) -> DeploymentConfig:
    """``--config``: a predefined or custom configuration's name, or a custom one's logical id (no !Ref there)."""
    customs = sorted(lid for lid in resources if _of_type(resources, lid, DEPLOYMENT_CONFIG))
    if name in customs:
        return custom_config(name, values.resolve(resources[name].get("Properties"), name))
    found = _named_config(name, customs, resources, values)
    if found is None:
        raise unknown_config(name, customs)
    return found


def _named_config(name: Any, customs: list[str], resources: dict[str, Any], values: _Values) -> DeploymentConfig | None:
    """The configuration CodeDeploy finds by this name: a custom one's DeploymentConfigName, or a predefined one."""
    for lid in customs:
        if values.resolve(resources[lid].get("Properties", {}).get("DeploymentConfigName"), lid) == name:
            return custom_config(lid, values.resolve(resources[lid].get("Properties"), lid))
    return predefined(name) if isinstance(name, str) else None


def _retries(properties: dict[str, Any], values: _Values, logical_id: str) -> int:
    config = values.resolve(properties.get("EventInvokeConfig"), f"{logical_id}.EventInvokeConfig")
    retries = config.get("MaximumRetryAttempts") if isinstance(config, dict) else None
    if retries is None:
        return DEFAULT_ASYNC_RETRIES
    if isinstance(retries, str) and retries.strip().isdigit():
        retries = int(retries)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 2:
        raise ConfigurationError(f"{logical_id}.EventInvokeConfig.MaximumRetryAttempts must be 0, 1 or 2, got "
                                 f"{describe(retries)}")
    return retries


def _layers(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(item.get("Ref")) if isinstance(item, dict) and "Ref" in item else str(item) for item in value)


def _anchor_paths(template: dict[str, Any], folder: Path) -> None:
    """Make the template's relative code and layer folders absolute, for a copy that lives elsewhere."""
    resources = template.get("Resources")
    for resource in resources.values() if isinstance(resources, dict) else ():
        properties = resource.get("Properties") if isinstance(resource, dict) else None
        if not isinstance(properties, dict):
            continue
        for key in ("CodeUri", "ContentUri", "Content"):
            value = properties.get(key)
            if isinstance(value, str) and "://" not in value and not Path(value).is_absolute():
                properties[key] = str(folder / value)
    globals_ = template.get("Globals")
    function = globals_.get("Function") if isinstance(globals_, dict) else None
    if isinstance(function, dict) and isinstance(function.get("CodeUri"), str) and "://" not in function["CodeUri"]:
        function["CodeUri"] = str(folder / function["CodeUri"])


def _of_type(resources: dict[str, Any], logical_id: str, kind: str) -> bool:
    resource = resources.get(logical_id)
    return isinstance(resource, dict) and resource.get("Type") == kind


class _Known:
    """What only a deployed stack knows (answers to ``Ref`` and ``GetAtt``); templates rewritten to contain it."""

    def __init__(self, refs: Mapping[str, str] | None = None) -> None:
        self.refs: dict[str, str] = dict(refs or {})
        self.atts: dict[tuple[str, str], str] = {}

    def rewrite(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.rewrite(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" and isinstance(argument, str) and argument in self.refs:
                return self.refs[argument]
            if key == "Fn::GetAtt" and isinstance(argument, list) and len(argument) == 2:
                found = self.atts.get((str(argument[0]), str(argument[1])))
                if found is not None:
                    return found
            if key == "Fn::Sub":
                return {key: self._sub(argument)}
        return {key: self.rewrite(item) for key, item in value.items()}

    def _sub(self, argument: Any) -> Any:
        if isinstance(argument, str):
            return self._sub_text(argument, set())
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str) and isinstance(
                argument[1], dict):
            return [self._sub_text(argument[0], set(argument[1])), self.rewrite(argument[1])]
        return argument

    def _sub_text(self, text: str, local: set[str]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in local:
                return match.group(0)
            if name in self.refs:
                return self.refs[name]
            resource, _, attribute = name.partition(".")
            return self.atts.get((resource, attribute), match.group(0))

        return _SUB.sub(replace, text)


class _Deployed(_Known):
    """The deployed stack's values: the function, its version being deployed and its alias, the other functions."""

    def __init__(self, name: str, alias: str, region: str) -> None:
        super().__init__()
        self.name, self.alias, self.region = name, alias, region

    def arn(self, name: str, qualifier: str | None = None) -> str:
        arn = f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{name}"
        return f"{arn}:{qualifier}" if qualifier else arn

    def function(self, logical_id: str, version: str = TARGET_VERSION) -> None:
        """The deployed function, its version being deployed, and its alias (SAM's generated names too)."""
        self.other(logical_id, self.name)
        alias_arn = self.arn(self.name, self.alias)
        self.refs.update({f"{logical_id}.Version": self.arn(self.name, version), f"{logical_id}.Alias": alias_arn,
                          f"{logical_id}Alias{self.alias}": alias_arn})
        self.atts.update({(logical_id, "Version.Version"): version, (f"{logical_id}.Version", "Version"): version})

    def other(self, logical_id: str, name: str) -> None:
        self.refs[logical_id] = name
        self.atts[(logical_id, "Arn")] = self.arn(name)


_SUB = re.compile(r"\$\{([^!}][^}]*)\}")
_REQUIRES_HOOKKIT = re.compile(r"^\s*hookkit\b", re.MULTILINE | re.IGNORECASE)


class _Values:
    """Intrinsics resolved as for a local target (:class:`~hookkit.local.intrinsics.Resolver`), once the values
    only a deployed stack knows are written in; a value still unresolved is refused by name, since the
    rehearsal acts on these (which hooks and alarms, how traffic moves)."""

    def __init__(self, template: dict[str, Any], parameters: Mapping[str, str], known: _Known) -> None:
        self._known = known
        self._resolver = Resolver(known.rewrite(template), parameters, local_region())

    def resolve(self, value: Any, where: str) -> Any:
        issues = self._resolver.issues
        before = len(issues)
        resolved = self._resolver.resolve(self._known.rewrite(value), where)
        if len(issues) > before:
            issue = issues[before]
            raise ConfigurationError(
                f"{issue.where}: {issue.what} cannot be resolved for a rehearsal ({issue.why}); write the value "
                "plainly, or pass --parameter NAME=VALUE"
            )
        return None if resolved is NO_VALUE else resolved
