"""Read a CodeDeploy AppSpec (Lambda or ECS) into what a hook needs: the target and the hooks.

The AppSpec is the one place CodeDeploy records which function and versions a deployment moves
and which hook runs in which lifecycle event, but its content is user-written (or
CloudFormation-generated) text. So parsing is strict about the shape, tolerant about spelling
that YAML makes ambiguous (``TargetVersion: 2`` is a number), and every refusal is a
:class:`~hookkit.core.errors.ConfigurationError` naming the place in the document and the fix; no
other exception escapes for any input.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..core.deployment import EcsTarget, LambdaTarget
from ..core.errors import ConfigurationError, describe
from ..core.phases import Phase

LAMBDA_TYPE = "AWS::Lambda::Function"
ECS_TYPE = "AWS::ECS::Service"

_VERSION = re.compile(r"[0-9]+")
_PORT = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True)
class AppSpec:
    """The parts of an AppSpec hookkit acts on; everything else in the document is ignored."""

    target: LambdaTarget | EcsTarget
    hooks: dict[Phase, str] = field(default_factory=dict)


def parse_appspec(content: str | bytes) -> AppSpec:
    """Parse a JSON or YAML AppSpec; raise ConfigurationError saying what is wrong and where."""
    document = _load(content)
    if not isinstance(document, dict):
        raise ConfigurationError(
            f"AppSpec: expected a mapping with Resources and Hooks at the top, got "
            f"{describe(document)}; give the AppSpec document itself, not a fragment"
        )
    return AppSpec(target=_target(document), hooks=_hooks(document.get("Hooks")))


def published_version(value: Any, *, where: str) -> str:
    """Normalise a Lambda version to the string Lambda expects, refusing anything unpublished.

    A hook must invoke the exact code being deployed: ``$LATEST`` is whatever was uploaded last
    and an alias moves during the deployment, so only a published version number will do.
    YAML turns ``TargetVersion: 2`` into an int, which is accepted and written back as ``"2"``.
    """
    if value is None:
        raise ConfigurationError(
            f"{where}: missing; give the published version the deployment moves traffic to, "
            "such as \"2\""
        )
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 63:
        raise ConfigurationError(
            f"{where}: a {value.bit_length()}-bit number is too large for a Lambda version"
        )
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigurationError(
            f"{where}: expected a published version number such as \"2\", got {describe(value)}"
        )
    text = str(value).strip()
    if not text:
        raise ConfigurationError(
            f"{where}: the version is empty; give the published version the deployment moves "
            "traffic to, such as \"2\""
        )
    if text.upper() == "$LATEST":
        raise ConfigurationError(
            f"{where}: $LATEST is not a published version; publish a version (SAM: "
            "AutoPublishAlias) and give its number, so the hook invokes exactly the deployed code"
        )
    if not _VERSION.fullmatch(text):
        raise ConfigurationError(
            f"{where}: {text!r} is not a published version number; give the number (such as "
            "\"2\"), not an alias or an ARN"
        )
    return text


def _load(content: str | bytes) -> Any:
    """JSON first (what CloudFormation writes), then YAML via safe_load only: no object tags."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigurationError(
                f"AppSpec: not UTF-8 text (byte {exc.start}); save the AppSpec as UTF-8"
            ) from None
    if not isinstance(content, str):
        raise ConfigurationError(f"AppSpec: expected text or bytes, got {describe(content)}")
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        pass
    try:
        return yaml.safe_load(content)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigurationError(
            f"AppSpec: neither JSON nor YAML{where}: {exc.problem or exc.context}; "
            "fix the document's syntax"
        ) from None
    except (yaml.YAMLError, ValueError) as exc:
        # ValueError: YAML scalars Python cannot build (2001-02-30, 5000-digit ints).
        raise ConfigurationError(
            f"AppSpec: neither JSON nor YAML: {exc}; fix the document's syntax"
        ) from None
    except RecursionError:
        raise ConfigurationError(
            "AppSpec: nested too deeply to read; an AppSpec is a few levels deep"
        ) from None


def _target(document: dict[Any, Any]) -> LambdaTarget | EcsTarget:
    resources = document.get("Resources")
    if resources is None:
        raise ConfigurationError(
            "AppSpec: no Resources; add a Resources list naming the AWS::Lambda::Function "
            "(or AWS::ECS::Service) the deployment updates"
        )
    if not isinstance(resources, list):
        raise ConfigurationError(
            f"AppSpec Resources: expected a list of one-key maps, got {describe(resources)}"
        )
    if len(resources) != 1:
        raise ConfigurationError(
            f"AppSpec Resources: expected exactly one resource, got {len(resources)}; a Lambda "
            "or ECS deployment updates one function or service"
        )
    entry = resources[0]
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ConfigurationError(
            "AppSpec Resources[0]: expected a one-key map {<name>: {Type, Properties}}, got "
            + (f"a mapping with {len(entry)} keys" if isinstance(entry, dict) else describe(entry))
        )
    ((name, resource),) = entry.items()
    where = f"AppSpec Resources[0].{str(name)[:40]}"
    if not isinstance(resource, dict):
        raise ConfigurationError(
            f"{where}: expected a mapping with Type and Properties, got {describe(resource)}"
        )
    kind = resource.get("Type")
    if kind not in (LAMBDA_TYPE, ECS_TYPE):
        raise ConfigurationError(
            f"{where}.Type: "
            + ("missing" if kind is None else f"{str(kind)[:60]!r} is not supported")
            + f"; use {LAMBDA_TYPE} or {ECS_TYPE}"
        )
    props = resource.get("Properties")
    if not isinstance(props, dict):
        raise ConfigurationError(f"{where}.Properties: expected a mapping, got {describe(props)}")
    if kind == LAMBDA_TYPE:
        return _lambda_target(props, f"{where}.Properties")
    return _ecs_target(props, f"{where}.Properties")


def _lambda_target(props: dict[Any, Any], where: str) -> LambdaTarget:
    current = props.get("CurrentVersion")
    return LambdaTarget(
        function_name=_name(props.get("Name"), f"{where}.Name"),
        target_version=published_version(
            props.get("TargetVersion"), where=f"{where}.TargetVersion"
        ),
        alias=_optional_name(props.get("Alias"), f"{where}.Alias"),
        current_version=None
        if current is None
        else published_version(current, where=f"{where}.CurrentVersion"),
    )


def _ecs_target(props: dict[Any, Any], where: str) -> EcsTarget:
    lb = props.get("LoadBalancerInfo")
    if lb is not None and not isinstance(lb, dict):
        raise ConfigurationError(f"{where}.LoadBalancerInfo: expected a mapping, got {describe(lb)}")
    lb = lb or {}
    return EcsTarget(
        task_definition=_optional_name(props.get("TaskDefinition"), f"{where}.TaskDefinition"),
        container_name=_optional_name(
            lb.get("ContainerName"), f"{where}.LoadBalancerInfo.ContainerName"
        ),
        container_port=_port(lb.get("ContainerPort"), f"{where}.LoadBalancerInfo.ContainerPort"),
    )


def _hooks(hooks: Any) -> dict[Phase, str]:
    if hooks is None:
        return {}
    if not isinstance(hooks, list):
        raise ConfigurationError(
            f"AppSpec Hooks: expected a list of one-key maps like "
            f"{{BeforeAllowTraffic: <function>}}, got {describe(hooks)}"
        )
    found: dict[Phase, str] = {}
    for i, entry in enumerate(hooks):
        where = f"AppSpec Hooks[{i}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ConfigurationError(
                f"{where}: expected a one-key map like {{BeforeAllowTraffic: <function>}}, got "
                + (f"a mapping with {len(entry)} keys" if isinstance(entry, dict) else describe(entry))
            )
        ((event, function),) = entry.items()
        if not isinstance(event, str):
            raise ConfigurationError(f"{where}: the lifecycle event name must be text, got "
                                     f"{describe(event)}")
        phase = Phase.parse(event, source=where)
        if phase in found:
            raise ConfigurationError(f"{where}: {phase} is given twice; keep one hook per event")
        found[phase] = _name(function, f"{where}.{event}")
    return found


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{where}: expected a non-empty name, got {describe(value)}")
    return value.strip()


def _optional_name(value: Any, where: str) -> str | None:
    return None if value is None else _name(value, where)


def _port(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and _PORT.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ConfigurationError(f"{where}: expected a port number 1-65535, got {describe(value)}")
    return value
