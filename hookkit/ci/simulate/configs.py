"""CodeDeploy's Lambda deployment configurations, as the weight schedule each one follows.

From CodeDeploy's documentation (Working with deployment configurations; the ``TimeBasedCanary``
and ``TimeBasedLinear`` API types):

- **AllAtOnce**: all traffic moves to the new version at once.
- **Canary** (``TimeBasedCanary {CanaryPercentage, CanaryInterval}``): "traffic is shifted in two
  increments": the percentage first, "the remaining ... deployed <interval> minutes later".
- **Linear** (``TimeBasedLinear {LinearPercentage, LinearInterval}``): "traffic is shifted in
  equal increments with an equal number of minutes between each increment", the percentage
  "shifted at the start of each increment". So the first increment starts AllowTraffic and each
  next one follows an interval later: 10% at 0, 20% at 1 minute, ... 100% at 9 minutes for
  ``Linear10PercentEvery1Minute``. A percentage that does not divide 100 leaves a smaller last
  increment (30% steps: 30, 60, 90, 100).

Offsets are seconds from the start of AllowTraffic (after the BeforeAllowTraffic hook succeeded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ...core.errors import ConfigurationError, describe

Kind = Literal["AllAtOnce", "TimeBasedCanary", "TimeBasedLinear"]
KINDS: tuple[Kind, ...] = ("AllAtOnce", "TimeBasedCanary", "TimeBasedLinear")
CODEDEPLOY_PREFIX = "CodeDeployDefault.Lambda"
#: CodeDeploy's limits for custom Lambda configurations (CreateDeploymentConfig).
MAX_INTERVAL_MINUTES = 2880


@dataclass(frozen=True)
class Step:
    """From ``at`` seconds after AllowTraffic starts, ``weight`` percent of traffic goes to the new version."""

    at: float
    weight: float


@dataclass(frozen=True)
class DeploymentConfig:
    """One deployment configuration; ``name`` is how the template (or ``--config``) called it."""

    name: str
    kind: Kind
    percentage: int = 100
    interval_minutes: int = 0

    def schedule(self) -> tuple[Step, ...]:
        if self.kind == "AllAtOnce":
            return (Step(0.0, 100.0),)
        interval = self.interval_minutes * 60.0
        if self.kind == "TimeBasedCanary":
            return (Step(0.0, float(self.percentage)), Step(interval, 100.0))
        steps, weight, at = [], 0, 0.0
        while weight < 100:
            weight = min(100, weight + self.percentage)
            steps.append(Step(at, float(weight)))
            at += interval
        return tuple(steps)

    def describe(self) -> str:
        """``Canary10Percent5Minutes: 10% at +00:00, 100% at +05:00`` (offsets into AllowTraffic)."""
        steps = ", ".join(f"{step.weight:g}% at +{int(step.at) // 60:02d}:{int(step.at) % 60:02d}"
                          for step in self.schedule())
        return f"{self.name}: {steps} of AllowTraffic"


def _predefined() -> dict[str, DeploymentConfig]:
    configs = [DeploymentConfig("AllAtOnce", "AllAtOnce")]
    configs += [DeploymentConfig(f"Canary10Percent{m}Minutes", "TimeBasedCanary", 10, m) for m in (5, 10, 15, 30)]
    configs += [
        DeploymentConfig(f"Linear10PercentEvery{m}Minute{'s' if m > 1 else ''}", "TimeBasedLinear", 10, m)
        for m in (1, 2, 3, 10)
    ]
    return {config.name: config for config in configs}


PREDEFINED: dict[str, DeploymentConfig] = _predefined()


def predefined(name: str) -> DeploymentConfig | None:
    """SAM's short names (``Canary10Percent5Minutes``) and CodeDeploy's (``CodeDeployDefault.LambdaCanary...``).

    Exactly these: SAM prefixes a bare predefined name with ``CodeDeployDefault.Lambda`` and passes
    anything else to CodeDeploy as written (samtranslator's ``_replace_deployment_types``), and
    CodeDeploy knows no other spelling (``LambdaCanary10Percent5Minutes`` is refused).
    """
    short = name[len(CODEDEPLOY_PREFIX):] if name.startswith(CODEDEPLOY_PREFIX) else name
    config = PREDEFINED.get(short)
    return None if config is None else DeploymentConfig(name, config.kind, config.percentage, config.interval_minutes)


def unknown_config(name: str, custom: list[str]) -> ConfigurationError:
    known = ", ".join(PREDEFINED)
    extra = f"; custom configurations in the template: {', '.join(custom)}" if custom else ""
    return ConfigurationError(
        f"deployment configuration {name!r} is not a Lambda configuration CodeDeploy predefines ({known}, "
        f"also as CodeDeployDefault.Lambda<name>){extra}; fix DeploymentPreference.Type or --config"
    )


def custom_config(logical_id: str, properties: Any, name: str | None = None) -> DeploymentConfig:
    """An ``AWS::CodeDeploy::DeploymentConfig`` resource's properties (intrinsics already resolved)."""
    where = f"{logical_id} (AWS::CodeDeploy::DeploymentConfig)"
    if not isinstance(properties, dict):
        raise ConfigurationError(f"{where}: Properties must be a mapping, got {describe(properties)}")
    platform = properties.get("ComputePlatform", "Server")
    if platform != "Lambda":
        raise ConfigurationError(
            f"{where}: ComputePlatform is {platform!r}; a Lambda deployment needs ComputePlatform: Lambda"
        )
    routing = properties.get("TrafficRoutingConfig")
    if not isinstance(routing, dict):
        raise ConfigurationError(
            f"{where}: TrafficRoutingConfig is missing; give Type TimeBasedCanary, TimeBasedLinear or AllAtOnce"
        )
    kind = routing.get("Type")
    label = name or str(properties.get("DeploymentConfigName") or logical_id)
    if kind == "AllAtOnce":
        return DeploymentConfig(label, "AllAtOnce")
    if kind == "TimeBasedCanary":
        body = _section(routing, "TimeBasedCanary", where)
        return DeploymentConfig(label, "TimeBasedCanary",
                                _integer(body, "CanaryPercentage", 1, 99, f"{where}.TimeBasedCanary"),
                                _integer(body, "CanaryInterval", 1, MAX_INTERVAL_MINUTES, f"{where}.TimeBasedCanary"))
    if kind == "TimeBasedLinear":
        body = _section(routing, "TimeBasedLinear", where)
        return DeploymentConfig(label, "TimeBasedLinear",
                                _integer(body, "LinearPercentage", 1, 99, f"{where}.TimeBasedLinear"),
                                _integer(body, "LinearInterval", 1, MAX_INTERVAL_MINUTES, f"{where}.TimeBasedLinear"))
    raise ConfigurationError(
        f"{where}: TrafficRoutingConfig.Type {kind!r} is not one of {', '.join(KINDS)}"
    )


def _section(routing: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    body = routing.get(key)
    if not isinstance(body, dict):
        raise ConfigurationError(
            f"{where}: TrafficRoutingConfig.Type is {key} but TrafficRoutingConfig.{key} is missing"
        )
    return body


_INTEGER = re.compile(r"\s*[0-9]+\s*")


def _integer(body: dict[str, Any], key: str, low: int, high: int, where: str) -> int:
    value = body.get(key)
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationError(f"{where}.{key}: expected a whole number from {low} to {high}, got {describe(value)}")
    return value
