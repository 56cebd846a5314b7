"""CloudWatch alarm evaluation: the documented examples, each option, and properties of the rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookkit.ci.simulate.alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    AlarmSpec,
    Datapoint,
    UnsupportedAlarm,
    datapoints,
    evaluate,
    parse_alarm,
    statistic,
)
from hookkit.ci.simulate.metrics import MetricStore, dimensions
from hookkit.core.errors import ConfigurationError


def spec(n: int = 3, m: int = 3, treat: str = "missing", comparison: str = "GreaterThanThreshold",
         stat: str = "Sum", threshold: float = 0.0, period: int = 60) -> AlarmSpec:
    return AlarmSpec("A", "A", "Errors", dimensions(FunctionName="fn"), stat, period, n, m, threshold, comparison,
                     treat)


def points(text: str) -> list[Datapoint | None]:
    """``0 - X - X`` oldest first, as CloudWatch's tables print them; returned newest first."""
    out: list[Datapoint | None] = []
    for age, mark in enumerate(reversed(text.split())):
        out.append(None if mark == "-" else Datapoint(-60.0 * (age + 1), -60.0 * age, 1.0 if mark == "X" else 0.0,
                                                      1, mark == "X"))
    return out


RETAIN = "retain"
# CloudWatch User Guide, "How alarm state is evaluated when data is missing": DatapointsToAlarm 3 of 3,
# then 2 of 3, with an evaluation range of 5; columns missing, ignore, breaching, notBreaching.
DOCUMENTED = [
    (3, "0 - X - X", (OK, OK, OK, OK)),
    (3, "0 - - - -", (OK, OK, OK, OK)),
    (3, "- - - - -", (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
    (3, "0 X X - X", (ALARM, ALARM, ALARM, ALARM)),
    (3, "- - X - -", (ALARM, RETAIN, ALARM, OK)),
    (2, "0 - X - X", (ALARM, ALARM, ALARM, ALARM)),
    (2, "0 0 X 0 X", (ALARM, ALARM, ALARM, ALARM)),
    (2, "0 - X - -", (OK, OK, ALARM, OK)),
    (2, "- - - - 0", (OK, OK, ALARM, OK)),
    (2, "- - - X -", (ALARM, RETAIN, ALARM, OK)),
]


@pytest.mark.parametrize(("m", "data", "expected"), DOCUMENTED)
@pytest.mark.parametrize("current", [OK, ALARM])
def test_cloudwatchs_documented_examples(m, data, expected, current):
    for treat, want in zip(("missing", "ignore", "breaching", "notBreaching"), expected, strict=True):
        result = evaluate(spec(n=3, m=m, treat=treat), points(data), current)
        assert result.state == (current if want == RETAIN else want), (treat, data)
        assert result.kept == (want == RETAIN)


def test_premature_alarm_waits_for_an_old_enough_breach():
    # "- - - - X" and "- - - X -" with 3 of 3: the next datapoint could be fine, so no ALARM yet
    assert evaluate(spec(), points("- - - - X"), OK).state == OK
    assert evaluate(spec(), points("- - - X -"), OK).state == OK


@pytest.mark.parametrize(("comparison", "value", "breaching"), [
    ("GreaterThanThreshold", 5, False), ("GreaterThanThreshold", 6, True),
    ("GreaterThanOrEqualToThreshold", 5, True), ("GreaterThanOrEqualToThreshold", 4, False),
    ("LessThanThreshold", 5, False), ("LessThanThreshold", 4, True),
    ("LessThanOrEqualToThreshold", 5, True), ("LessThanOrEqualToThreshold", 6, False),
])
def test_each_comparison_operator(comparison, value, breaching):
    alarm = spec(n=1, m=1, comparison=comparison, threshold=5)
    assert alarm.breaches(value) is breaching
    store = MetricStore()
    store.put("AWS/Lambda", "Errors", alarm.dimensions, 30.0, float(value))
    assert evaluate(alarm, datapoints(alarm, store, 60.0), OK).state == (ALARM if breaching else OK)


@pytest.mark.parametrize(("name", "expected"), [
    ("SampleCount", 5), ("Sum", 110), ("Average", 22), ("Minimum", 1), ("Maximum", 100),
    ("p50", 3), ("p80", 4), ("p90", 100), ("p100", 100), ("p0", 1), ("p99.9", 100),
])
def test_statistics(name, expected):
    assert statistic(name, [4, 1, 100, 2, 3]) == expected


def test_datapoints_are_periods_ending_at_the_evaluation_and_only_the_alarms_dimensions():
    alarm = spec(n=2, m=1, stat="Sum")
    store = MetricStore()
    store.publish_invocation(function="fn", qualifier="live", alias="live", executed="2", at=10.0, error=True,
                             duration_ms=3)
    store.publish_invocation(function="fn", qualifier="1", alias=None, executed="1", at=60.0, error=True,
                             duration_ms=3)
    store.publish_invocation(function="other", qualifier=None, alias=None, executed="2", at=61.0, error=True,
                             duration_ms=3)
    at_120 = datapoints(alarm, store, 120.0)  # newest first: [60, 120) then [0, 60)
    assert [p.value if p else None for p in at_120[:2]] == [1.0, 1.0]  # FunctionName=fn counts both, not "other"
    alias = AlarmSpec("A", "A", "Errors", dimensions(FunctionName="fn", Resource="fn:live"), "Sum", 60, 2, 1, 0,
                      "GreaterThanThreshold")
    assert [p.value if p else None for p in datapoints(alias, store, 120.0)[:2]] == [None, 1.0]
    by_version = dimensions(FunctionName="fn", Resource="fn:live", ExecutedVersion="2")
    assert store.values("AWS/Lambda", "Invocations", by_version, 0, 60) == [1.0]
    assert store.values("AWS/Lambda", "Errors", dimensions(FunctionName="fn", Resource="fn:1"), 0, 120) == [1.0]


def alarm_properties(**overrides):
    properties = {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Statistic": "Sum", "Period": 60,
                  "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "Threshold": 1,
                  "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "breaching",
                  "Dimensions": [{"Name": "FunctionName", "Value": "fn"}]}
    properties.update(overrides)
    return {k: v for k, v in properties.items() if v is not None}


def test_parse_an_alarm():
    alarm = parse_alarm("Errs", alarm_properties(AlarmName="orders-errors"))
    assert (alarm.name, alarm.evaluation_periods, alarm.datapoints_to_alarm, alarm.treat_missing) == (
        "orders-errors", 3, 2, "breaching")
    assert parse_alarm("Errs", alarm_properties(DatapointsToAlarm=None)).datapoints_to_alarm == 3
    assert parse_alarm("Errs", alarm_properties(Statistic=None, ExtendedStatistic="p99")).percentile == 99


@pytest.mark.parametrize(("overrides", "error", "message"), [
    ({"Metrics": [{"Id": "m1"}], "MetricName": None}, UnsupportedAlarm, "metric math"),
    ({"ComparisonOperator": "GreaterThanUpperThreshold", "ThresholdMetricId": "ad1"}, UnsupportedAlarm, "anomaly"),
    ({"ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}, UnsupportedAlarm, "anomaly"),
    ({"Namespace": "AWS/ApiGateway", "MetricName": "5XXError"}, UnsupportedAlarm, "--ignore-alarm Errs"),
    ({"Statistic": None, "ExtendedStatistic": "tm90"}, UnsupportedAlarm, "percentiles"),
    ({"ExtendedStatistic": "p99"}, ConfigurationError, "exactly one of Statistic"),
    ({"DatapointsToAlarm": 4}, ConfigurationError, "more than"),
    ({"Period": 45}, ConfigurationError, "Period 45"),
    ({"TreatMissingData": "zero"}, ConfigurationError, "TreatMissingData"),
    ({"ComparisonOperator": "Above"}, ConfigurationError, "ComparisonOperator"),
    ({"Threshold": "a lot"}, ConfigurationError, "Threshold"),
])
def test_alarms_the_rehearsal_cannot_evaluate_are_refused_clearly(overrides, error, message):
    with pytest.raises(error, match=message):
        parse_alarm("Errs", alarm_properties(**overrides))


marks = st.lists(st.sampled_from(["X", "0", "-"]), min_size=5, max_size=5)


@pytest.mark.property
@given(data=marks, n=st.integers(1, 3), m=st.integers(1, 3), current=st.sampled_from([OK, ALARM, INSUFFICIENT_DATA]))
def test_with_enough_real_datapoints_missing_data_treatment_does_not_matter(data, n, m, current):
    m = min(m, n)
    given_points = points(" ".join(data))
    real = [p for p in given_points if p is not None]
    states = {evaluate(spec(n=n, m=m, treat=t), given_points, current).state
              for t in ("missing", "ignore", "breaching", "notBreaching")}
    if len(real) >= n:
        assert states == {ALARM if sum(p.breaching for p in real[:n]) >= m else OK}
    else:
        assert evaluate(spec(n=n, m=m, treat="breaching"), given_points, current).state in (ALARM, OK)


@pytest.mark.property
@given(data=marks, n=st.integers(1, 3), m=st.integers(1, 3))
def test_breaching_missing_data_never_alarms_less_than_not_breaching(data, n, m):
    m = min(m, n)
    given_points = points(" ".join(data))
    order = {OK: 0, INSUFFICIENT_DATA: 0, ALARM: 1}
    breaching = evaluate(spec(n=n, m=m, treat="breaching"), given_points, OK).state
    not_breaching = evaluate(spec(n=n, m=m, treat="notBreaching"), given_points, OK).state
    assert order[breaching] >= order[not_breaching]
