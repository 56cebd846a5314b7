"""CloudWatch metric alarms from the template, evaluated the way CloudWatch documents it.

Per evaluation (every minute; every 10 seconds for periods under a minute), CloudWatch looks at
an *evaluation range* of recent periods, longer than ``EvaluationPeriods`` (N): "the exact number
... depends on the length of the alarm period"; its only worked examples use N + 2, and so does
this module. Then (CloudWatch User Guide, "How alarm state is evaluated when data is missing"):

- with at least N real datapoints in the range, the most recent N decide: ALARM when at least
  ``DatapointsToAlarm`` (M) of them breach, else OK; ``TreatMissingData`` plays no part;
- with fewer, the missing ones are filled in as ``TreatMissingData`` says (``breaching``,
  ``notBreaching``; ``missing``: not counted; ``ignore``: the state is kept when nothing is
  there), all real datapoints of the range counting too. With no real datapoint at all,
  ``missing`` gives INSUFFICIENT_DATA and ``ignore`` keeps the state;
- "premature alarm state": when the oldest real breaching datapoint is at least M periods old
  and every real datapoint is breaching, the alarm goes to ALARM even with fewer than M of them
  (with ``ignore``, the state is kept).

Periods are windows of ``Period`` seconds ending at the evaluation moment, ``[start, end)``.
Percentiles (``ExtendedStatistic: p99``) are nearest-rank over the raw samples. Metric math,
anomaly detection and metrics other than Lambda's own are refused with a message saying so.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...core.errors import ConfigurationError, describe
from .clock import stamp
from .metrics import METRICS, NAMESPACE, Dimensions, MetricStore, show_dimensions

ALARM, OK, INSUFFICIENT_DATA = "ALARM", "OK", "INSUFFICIENT_DATA"
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
TREATMENTS = ("missing", "notBreaching", "breaching", "ignore")
OPERATORS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanThreshold": (">", lambda value, threshold: value > threshold),
    "GreaterThanOrEqualToThreshold": (">=", lambda value, threshold: value >= threshold),
    "LessThanThreshold": ("<", lambda value, threshold: value < threshold),
    "LessThanOrEqualToThreshold": ("<=", lambda value, threshold: value <= threshold),
}
ANOMALY_OPERATORS = ("LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")
UNITS = {"Invocations": "Count", "Errors": "Count", "Throttles": "Count", "Duration": "Milliseconds"}
#: How many periods past EvaluationPeriods an evaluation looks back (CloudWatch's examples: N + 2).
RANGE_EXTRA = 2
_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d{1,10})?|100)")


class UnsupportedAlarm(ConfigurationError):
    """An alarm the rehearsal cannot evaluate; ``--ignore-alarm NAME`` rehearses without it."""


@dataclass(frozen=True)
class AlarmSpec:
    """One ``AWS::CloudWatch::Alarm``, its intrinsics resolved."""

    logical_id: str
    name: str
    metric: str
    dimensions: Dimensions
    statistic: str  # one of STATISTICS, or "pNN" for an ExtendedStatistic
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing: str = "missing"
    namespace: str = NAMESPACE
    unit: str | None = None

    @property
    def percentile(self) -> float | None:
        return float(self.statistic[1:]) if self.statistic.startswith("p") else None

    @property
    def interval(self) -> int:
        """How often CloudWatch evaluates it: every 10 s for high-resolution periods, else every minute."""
        return 10 if self.period < 60 else 60

    def breaches(self, value: float) -> bool:
        return OPERATORS[self.comparison][1](value, self.threshold)

    def rule(self) -> str:
        """``Errors Sum > 0 for 1 of 1 period(s) of 60 s``."""
        symbol = OPERATORS[self.comparison][0]
        return (f"{self.metric} {self.statistic} {symbol} {self.threshold:g} for {self.datapoints_to_alarm} of "
                f"{self.evaluation_periods} period(s) of {self.period} s, missing data: {self.treat_missing}")

    def describe(self) -> str:
        return f"{self.name}: {self.namespace} {self.rule()} ({show_dimensions(self.dimensions)})"


@dataclass(frozen=True)
class Datapoint:
    """One period's statistic; ``start``/``end`` are virtual seconds."""

    start: float
    end: float
    value: float
    samples: int
    breaching: bool

    def show(self) -> str:
        return f"{self.value:g} in [{stamp(self.start)}, {stamp(self.end)})"


@dataclass(frozen=True)
class Evaluation:
    """An evaluation's outcome: the new state (or the old one, ``kept``), why, and the datapoints used."""

    state: str
    reason: str
    used: tuple[Datapoint, ...] = ()
    kept: bool = False


def parse_alarm(logical_id: str, properties: Any) -> AlarmSpec:
    """Read an alarm's resolved properties; refuse what the rehearsal cannot evaluate, saying why."""
    where = f"alarm {logical_id}"
    if not isinstance(properties, dict):
        raise ConfigurationError(f"{where}: Properties must be a mapping, got {describe(properties)}")
    skip = f"; rehearse without it with --ignore-alarm {logical_id}"
    if properties.get("Metrics") is not None:
        raise UnsupportedAlarm(f"{where} is a metric math alarm (Metrics), which the rehearsal cannot evaluate{skip}")
    comparison = properties.get("ComparisonOperator")
    if comparison in ANOMALY_OPERATORS or properties.get("ThresholdMetricId") is not None:
        raise UnsupportedAlarm(f"{where} is an anomaly detection alarm ({comparison}), which the rehearsal "
                               f"cannot evaluate{skip}")
    if comparison not in OPERATORS:
        raise ConfigurationError(f"{where}: ComparisonOperator {comparison!r} is not one of {', '.join(OPERATORS)}")
    namespace, metric = properties.get("Namespace"), properties.get("MetricName")
    if namespace != NAMESPACE or metric not in METRICS:
        raise UnsupportedAlarm(
            f"{where} watches {namespace}/{metric}; the rehearsal produces only Lambda's {', '.join(METRICS)} "
            f"in {NAMESPACE}{skip}"
        )
    statistic = _statistic(properties, where)
    evaluation_periods = _whole(properties.get("EvaluationPeriods"), f"{where}: EvaluationPeriods", low=1)
    datapoints = properties.get("DatapointsToAlarm")
    datapoints_to_alarm = evaluation_periods if datapoints is None else _whole(
        datapoints, f"{where}: DatapointsToAlarm", low=1)
    if datapoints_to_alarm > evaluation_periods:
        raise ConfigurationError(f"{where}: DatapointsToAlarm ({datapoints_to_alarm}) is more than "
                                 f"EvaluationPeriods ({evaluation_periods})")
    treat = properties.get("TreatMissingData", "missing")
    if treat not in TREATMENTS:
        raise ConfigurationError(f"{where}: TreatMissingData {treat!r} is not one of {', '.join(TREATMENTS)}")
    unit = properties.get("Unit")
    return AlarmSpec(
        logical_id=logical_id,
        name=str(properties.get("AlarmName") or logical_id),
        metric=metric,
        dimensions=_dimensions(properties.get("Dimensions"), where),
        statistic=statistic,
        period=_period(properties.get("Period"), where),
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        threshold=_number(properties.get("Threshold"), f"{where}: Threshold"),
        comparison=comparison,
        treat_missing=treat,
        unit=None if unit is None else str(unit),
    )


def datapoints(spec: AlarmSpec, store: MetricStore, now: float) -> list[Datapoint | None]:
    """The evaluation range at ``now``, newest period first; ``None`` where no sample was published."""
    points: list[Datapoint | None] = []
    unit_matches = spec.unit in (None, "None", UNITS[spec.metric])  # CloudWatch filters by unit, converting nothing
    for age in range(spec.evaluation_periods + RANGE_EXTRA):
        end = now - age * spec.period
        start = end - spec.period
        values = store.values(spec.namespace, spec.metric, spec.dimensions, start, end) if unit_matches else []
        if not values or end <= 0:
            points.append(None)
            continue
        value = statistic(spec.statistic, values)
        points.append(Datapoint(start, end, value, len(values), spec.breaches(value)))
    return points


def statistic(name: str, values: Sequence[float]) -> float:
    if name == "SampleCount":
        return float(len(values))
    if name == "Sum":
        return float(math.fsum(values))
    if name == "Average":
        return math.fsum(values) / len(values)
    if name == "Minimum":
        return min(values)
    if name == "Maximum":
        return max(values)
    rank = max(1, math.ceil(float(name[1:]) / 100 * len(values)))  # nearest rank
    return sorted(values)[rank - 1]


def evaluate(spec: AlarmSpec, points: Sequence[Datapoint | None], current: str) -> Evaluation:
    """CloudWatch's rule over an evaluation range (newest first), from the alarm's ``current`` state."""
    n, m = spec.evaluation_periods, spec.datapoints_to_alarm
    real = [(age, point) for age, point in enumerate(points) if point is not None]
    if len(real) >= n:
        used = [point for _, point in real[:n]]
        return _threshold(spec, sum(p.breaching for p in used), n, used)
    used = [point for _, point in real]
    breaching = sum(p.breaching for p in used)
    treat = spec.treat_missing
    if not real and treat in ("missing", "ignore"):
        if treat == "ignore":
            return Evaluation(current, f"no datapoint in the last {len(points)} period(s); TreatMissingData: ignore "
                                       "keeps the state", kept=True)
        return Evaluation(INSUFFICIENT_DATA, f"Insufficient Data: no datapoint in the last {len(points)} "
                                             f"period(s) of {spec.period} s")
    filled = n - len(real)
    if treat == "breaching":
        return _threshold(spec, breaching + filled, n, used, f" ({filled} missing counted as breaching)")
    if treat == "notBreaching":
        return _threshold(spec, breaching, n, used, f" ({filled} missing counted as not breaching)")
    oldest_age = real[-1][0] if real else 0
    if breaching < m and real and breaching == len(real) and oldest_age + 1 >= m:
        if treat == "ignore":
            return Evaluation(current, "only breaching datapoints, too few to decide; TreatMissingData: ignore "
                                       "keeps the state", tuple(reversed(used)), kept=True)
        return Evaluation(ALARM, f"Threshold Crossed: {breaching} breaching datapoint(s), the oldest "
                                 f"{oldest_age + 1} period(s) old, and nothing since within the threshold "
                                 f"(premature alarm rule)", tuple(reversed(used)))
    return _threshold(spec, breaching, n, used, f" ({filled} missing)")


def _threshold(spec: AlarmSpec, breaching: int, n: int, used: list[Datapoint], note: str = "") -> Evaluation:
    symbol = OPERATORS[spec.comparison][0]
    shown = ": [" + ", ".join(p.show() for p in reversed(used)) + "]" if used else ""
    if breaching >= spec.datapoints_to_alarm:
        return Evaluation(ALARM, f"Threshold Crossed: {breaching} of the last {n} datapoint(s){note} were "
                                 f"{symbol} {spec.threshold:g}{shown}", tuple(reversed(used)))
    return Evaluation(OK, f"Threshold not crossed: {breaching} of the last {n} datapoint(s){note} "
                          f"{symbol} {spec.threshold:g}, {spec.datapoints_to_alarm} needed{shown}",
                      tuple(reversed(used)))


def _statistic(properties: Mapping[str, Any], where: str) -> str:
    plain, extended = properties.get("Statistic"), properties.get("ExtendedStatistic")
    if (plain is None) == (extended is None):
        raise ConfigurationError(f"{where}: give exactly one of Statistic ({', '.join(STATISTICS)}) or "
                                 "ExtendedStatistic (pNN)")
    if plain is not None:
        if plain not in STATISTICS:
            raise ConfigurationError(f"{where}: Statistic {plain!r} is not one of {', '.join(STATISTICS)}")
        return str(plain)
    if not (isinstance(extended, str) and _PERCENTILE.fullmatch(extended)):
        raise UnsupportedAlarm(
            f"{where}: ExtendedStatistic {extended!r}: the rehearsal evaluates percentiles (p0-p100, e.g. p99 or "
            f"p99.9) only, not trimmed or windsorized statistics; rehearse without it with --ignore-alarm"
        )
    return extended


def _dimensions(value: Any, where: str) -> Dimensions:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise ConfigurationError(f"{where}: Dimensions must be a list of {{Name, Value}}, got {describe(value)}")
    pairs = []
    for i, item in enumerate(value):
        if not (isinstance(item, dict) and isinstance(item.get("Name"), str) and item.get("Value") is not None):
            raise ConfigurationError(f"{where}: Dimensions[{i}] must be {{Name, Value}}, got {describe(item)}")
        pairs.append((item["Name"], str(item["Value"])))
    return frozenset(pairs)


def _period(value: Any, where: str) -> int:
    period = _whole(value, f"{where}: Period", low=1)
    if period not in (10, 20, 30) and period % 60:
        raise ConfigurationError(f"{where}: Period {period} must be 10, 20, 30 or a multiple of 60 seconds")
    return period


def _whole(value: Any, where: str, *, low: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigurationError(f"{where}: expected a whole number of at least {low}, got {describe(value)}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigurationError(f"{where}: expected a number, got {describe(value)}")
    return float(value)
