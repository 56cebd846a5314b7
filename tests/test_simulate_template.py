"""What ``hookkit simulate`` reads from the template: the deployment, with Globals merged as SAM merges them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hookkit.ci.simulate.template import read_plan
from hookkit.core.errors import ConfigurationError
from hookkit.core.phases import Phase

# Two layers, two alarms on Fn, and two hook functions: what the tests' templates share.
COMMON = """\
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: shared}
  HookLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: hook-layer}
  GlobalAlarm: &alarm
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions: [{Name: FunctionName, Value: !Ref Fn}]
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
  FnAlarm: *alarm
  PreHook:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hooks
      Handler: hookkit.handler
      Layers: [!Ref HookLayer]
      DeploymentPreference: {Enabled: false}
  PostHook:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hooks
      Handler: hookkit.handler
      DeploymentPreference: {Enabled: false}
"""


def template(folder: Path, text: str) -> Path:
    """``text`` (Globals and Fn, at the top level) plus :data:`COMMON`, with the folders it names."""
    for name in ("src", "hooks", "shared/python", "hook-layer/python"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    path = folder / "template.yaml"
    path.write_text(textwrap.dedent(text) + COMMON)
    return path


def test_globals_merge_as_sam_merges_them_maps_key_by_key_and_lists_added_up(tmp_path: Path) -> None:
    path = template(tmp_path, """\
        Globals:
          Function:
            Runtime: python3.12
            Layers: [!Ref SharedLayer]
            DeploymentPreference:
              Hooks: {PreTraffic: !Ref PreHook}
              Alarms: [!Ref GlobalAlarm]
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src
              Handler: app.handler
              AutoPublishAlias: live
              DeploymentPreference:
                Type: AllAtOnce
                Hooks: {PostTraffic: !Ref PostHook}
                Alarms: [!Ref FnAlarm]
        """)

    plan = read_plan(path, "Fn", current=str(tmp_path / "src"))

    # DeploymentPreference.Hooks is a map: merged key by key (Globals' PreTraffic, the function's PostTraffic)
    assert {phase: hook.logical_id for phase, hook in plan.hooks.items()} == {
        Phase.BEFORE_ALLOW_TRAFFIC: "PreHook", Phase.AFTER_ALLOW_TRAFFIC: "PostHook"
    }
    # lists add up, Globals' first: the alarms, and each hook's layers
    assert [alarm.logical_id for alarm in plan.alarms] == ["GlobalAlarm", "FnAlarm"]
    assert plan.hooks[Phase.BEFORE_ALLOW_TRAFFIC].layers == ("SharedLayer", "HookLayer")
    assert plan.hooks[Phase.AFTER_ALLOW_TRAFFIC].layers == ("SharedLayer",)


def test_the_function_wins_over_globals_for_a_plain_value(tmp_path: Path) -> None:
    path = template(tmp_path, """\
        Globals:
          Function:
            AutoPublishAlias: staging
            DeploymentPreference: {Type: Canary10Percent5Minutes}
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src
              Handler: app.handler
              AutoPublishAlias: live
              DeploymentPreference: {Type: AllAtOnce, Hooks: {PreTraffic: !Ref PreHook}}
        """)

    plan = read_plan(path, "Fn", current=str(tmp_path / "src"))

    assert (plan.alias, plan.config.name) == ("live", "AllAtOnce")
    assert plan.hooks[Phase.BEFORE_ALLOW_TRAFFIC].layers == ("HookLayer",)


def test_the_current_build_finds_the_layers_of_the_template_it_was_read_from(tmp_path: Path) -> None:
    path = template(tmp_path, """\
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src
              Handler: app.handler
              Layers: [!Ref SharedLayer]
              AutoPublishAlias: live
              DeploymentPreference: {Type: AllAtOnce}
        """)
    (tmp_path / "v1").mkdir()

    plan = read_plan(path, "Fn", current=str(tmp_path / "v1"))

    shared = (tmp_path / "shared").resolve()
    assert (plan.current.code_uri, plan.current.layers) == ((tmp_path / "v1").resolve(), (shared,))
    assert (plan.target.code_uri, plan.target.layers) == ((tmp_path / "src").resolve(), (shared,))


def test_deployment_settings_resolve_intrinsics_as_a_local_target_does(tmp_path: Path) -> None:
    path = template(tmp_path, """\
        Parameters:
          Stage: {Type: String, Default: dev}
          Alias: {Type: String, Default: live}
        Conditions:
          IsProd: !Equals [!Ref Stage, prod]
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src
              Handler: app.handler
              AutoPublishAlias: !Sub "${Alias}${Stage}"
              DeploymentPreference:
                Type: !If [IsProd, Canary10Percent5Minutes, AllAtOnce]
                Enabled: !Not [!Equals [!Ref Stage, test]]
        """)

    dev = read_plan(path, "Fn", current=str(tmp_path / "src"))
    prod = read_plan(path, "Fn", current=str(tmp_path / "src"), parameters={"Stage": "prod"})

    assert (dev.alias, dev.config.name) == ("livedev", "AllAtOnce")
    assert (prod.alias, prod.config.name) == ("liveprod", "Canary10Percent5Minutes")
    with pytest.raises(ConfigurationError, match=r"DeploymentPreference\.Enabled is false"):
        read_plan(path, "Fn", current=str(tmp_path / "src"), parameters={"Stage": "test"})


@pytest.mark.parametrize(("alias", "refused"), [
    ("!GetAtt SharedLayer.Arn", "Fn::GetAtt SharedLayer.Arn cannot be resolved for a rehearsal (attributes of "
                                "SharedLayer exist only after deployment)"),
    ("!Ref Missing", "Ref Missing cannot be resolved for a rehearsal (Missing is not a parameter, pseudo "
                     "parameter or resource of this template)"),
    ("!ImportValue shared-alias", "Fn::ImportValue shared-alias cannot be resolved for a rehearsal"),
])
def test_a_setting_only_a_deployed_stack_knows_is_refused_naming_it(tmp_path: Path, alias: str, refused: str) -> None:
    path = template(tmp_path, f"""\
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src
              Handler: app.handler
              AutoPublishAlias: {alias}
              DeploymentPreference: {{Type: AllAtOnce}}
        """)

    with pytest.raises(ConfigurationError) as caught:
        read_plan(path, "Fn", current=str(tmp_path / "src"))

    assert str(caught.value).startswith(f"SAM template {path}: Fn.AutoPublishAlias: {refused}")
    assert str(caught.value).endswith("write the value plainly, or pass --parameter NAME=VALUE")


CUSTOM = """\
  MyConfig:
    Type: AWS::CodeDeploy::DeploymentConfig
    Properties:
      ComputePlatform: Lambda
      TrafficRoutingConfig: {Type: TimeBasedCanary, TimeBasedCanary: {CanaryPercentage: 25, CanaryInterval: 2}}
  NamedConfig:
    Type: AWS::CodeDeploy::DeploymentConfig
    Properties:
      DeploymentConfigName: orders-fast
      ComputePlatform: Lambda
      TrafficRoutingConfig: {Type: AllAtOnce}
"""


def deployment_type(tmp_path: Path, value: str) -> Path:
    path = template(tmp_path, f"""\
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src
              Handler: app.handler
              AutoPublishAlias: live
              DeploymentPreference: {{Type: {value}}}
        """)
    path.write_text(path.read_text() + CUSTOM)
    return path


@pytest.mark.parametrize(("value", "expected"), [
    ("!Ref MyConfig", ("MyConfig", "TimeBasedCanary")),
    ("orders-fast", ("orders-fast", "AllAtOnce")),  # CodeDeploy finds a custom configuration by its name
    ("!Ref NamedConfig", ("orders-fast", "AllAtOnce")),
    ("Canary10Percent5Minutes", ("Canary10Percent5Minutes", "TimeBasedCanary")),
    ("CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
     ("CodeDeployDefault.LambdaLinear10PercentEvery1Minute", "TimeBasedLinear")),
])
def test_the_deployment_configurations_codedeploy_accepts(tmp_path: Path, value: str, expected: tuple) -> None:
    config = read_plan(deployment_type(tmp_path, value), "Fn", current=str(tmp_path / "src")).config
    assert (config.name, config.kind) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("MyConfig", "MyConfig is the logical id of a DeploymentConfig"),
    ("LambdaCanary10Percent5Minutes", "not a Lambda configuration CodeDeploy predefines"),
])
def test_the_deployment_configurations_codedeploy_refuses(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        read_plan(deployment_type(tmp_path, value), "Fn", current=str(tmp_path / "src"))


def test_config_names_a_custom_configuration_by_its_logical_id(tmp_path: Path) -> None:
    """On the command line there is no !Ref: the logical id is how --config names one."""
    plan = read_plan(deployment_type(tmp_path, "AllAtOnce"), "Fn", current=str(tmp_path / "src"), config="MyConfig")
    assert (plan.config.name, plan.config.kind) == ("MyConfig", "TimeBasedCanary")
