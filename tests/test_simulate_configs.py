"""Deployment configurations: each one's weight schedule against CodeDeploy's documented behaviour."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookkit.ci.simulate.configs import PREDEFINED, DeploymentConfig, custom_config, predefined
from hookkit.core.errors import ConfigurationError


def steps(config: DeploymentConfig) -> list[tuple[float, float]]:
    return [(step.at / 60, step.weight) for step in config.schedule()]


# "Shifts 10 percent of traffic in the first increment. The remaining 90 percent is deployed N minutes
# later." / "Shifts 10 percent of traffic every N minutes until all traffic is shifted."
@pytest.mark.parametrize(("name", "expected"), [
    ("AllAtOnce", [(0, 100)]),
    ("Canary10Percent5Minutes", [(0, 10), (5, 100)]),
    ("Canary10Percent10Minutes", [(0, 10), (10, 100)]),
    ("Canary10Percent15Minutes", [(0, 10), (15, 100)]),
    ("Canary10Percent30Minutes", [(0, 10), (30, 100)]),
    ("Linear10PercentEvery1Minute", [(m, 10 * (m + 1)) for m in range(10)]),
    ("Linear10PercentEvery2Minutes", [(2 * m, 10 * (m + 1)) for m in range(10)]),
    ("Linear10PercentEvery3Minutes", [(3 * m, 10 * (m + 1)) for m in range(10)]),
    ("Linear10PercentEvery10Minutes", [(10 * m, 10 * (m + 1)) for m in range(10)]),
])
def test_every_predefined_configuration_follows_codedeploys_schedule(name, expected):
    assert steps(PREDEFINED[name]) == expected
    assert steps(predefined(f"CodeDeployDefault.Lambda{name}")) == expected  # CodeDeploy's own name
    assert predefined(f"CodeDeployDefault.Lambda{name}").name == f"CodeDeployDefault.Lambda{name}"


def test_there_are_exactly_the_nine_lambda_configurations():
    assert len(PREDEFINED) == 9
    assert predefined("Canary10Percent7Minutes") is None
    assert predefined("CodeDeployDefault.OneAtATime") is None  # a server configuration


@pytest.mark.parametrize("name", ["LambdaCanary10Percent5Minutes", "CodeDeployDefault.Canary10Percent5Minutes",
                                  "CodeDeployDefault.LambdaLambdaAllAtOnce", " AllAtOnce"])
def test_only_the_names_sam_and_codedeploy_know_are_predefined(name):
    """SAM turns a bare predefined name into CodeDeployDefault.Lambda<name> and passes anything else
    to CodeDeploy as written, which knows only its own names."""
    assert predefined(name) is None


@pytest.mark.parametrize(("routing", "expected"), [
    ({"Type": "TimeBasedCanary", "TimeBasedCanary": {"CanaryPercentage": 25, "CanaryInterval": 45}},
     [(0, 25), (45, 100)]),
    ({"Type": "TimeBasedLinear", "TimeBasedLinear": {"LinearPercentage": 30, "LinearInterval": 4}},
     [(0, 30), (4, 60), (8, 90), (12, 100)]),  # the last increment carries what remains
    ({"Type": "TimeBasedLinear", "TimeBasedLinear": {"LinearPercentage": "50", "LinearInterval": "1"}},
     [(0, 50), (1, 100)]),
    ({"Type": "AllAtOnce"}, [(0, 100)]),
])
def test_custom_configurations(routing, expected):
    config = custom_config("Custom", {"ComputePlatform": "Lambda", "TrafficRoutingConfig": routing})
    assert steps(config) == expected


@pytest.mark.parametrize(("properties", "message"), [
    ({"ComputePlatform": "Server"}, "ComputePlatform: Lambda"),
    ({"ComputePlatform": "Lambda"}, "TrafficRoutingConfig is missing"),
    ({"ComputePlatform": "Lambda", "TrafficRoutingConfig": {"Type": "TimeBasedCanary"}}, "TimeBasedCanary is missing"),
    ({"ComputePlatform": "Lambda", "TrafficRoutingConfig": {"Type": "TimeBasedLinear", "TimeBasedLinear": {
        "LinearPercentage": 0, "LinearInterval": 1}}}, "LinearPercentage: expected a whole number from 1 to 99"),
    ({"ComputePlatform": "Lambda", "TrafficRoutingConfig": {"Type": "TimeBasedCanary", "TimeBasedCanary": {
        "CanaryPercentage": 10, "CanaryInterval": 2.5}}}, "CanaryInterval"),
    ({"ComputePlatform": "Lambda", "TrafficRoutingConfig": {"Type": "Blue"}}, "is not one of"),
])
def test_bad_custom_configurations_are_refused_by_name(properties, message):
    with pytest.raises(ConfigurationError, match=message) as caught:
        custom_config("MyConfig", properties)
    assert "MyConfig" in str(caught.value)


@pytest.mark.property
@given(percentage=st.integers(1, 99), interval=st.integers(1, 2880))
def test_a_linear_schedule_climbs_evenly_to_all_traffic(percentage, interval):
    schedule = DeploymentConfig("x", "TimeBasedLinear", percentage, interval).schedule()
    assert len(schedule) == math.ceil(100 / percentage)
    assert schedule[-1].weight == 100
    assert [s.at for s in schedule] == [i * interval * 60 for i in range(len(schedule))]
    assert all(b.weight - a.weight == percentage for a, b in itertools.pairwise(schedule[:-1]))
    assert all(0 < s.weight <= 100 for s in schedule)
