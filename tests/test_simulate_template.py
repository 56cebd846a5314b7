"""What ``hookkit simulate`` reads from the template: the deployment, with Globals merged as SAM merges them."""

from __future__ import annotations

import textwrap
from pathlib import Path

from hookkit.ci.simulate.template import read_plan

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
