"""``hookkit simulate`` end to end: real hooks in their own processes, the stand-ins, the virtual clock.

The fixture template (tests/fixtures/simulate) deploys a prices function whose PreTraffic hook is
chosen by parameter: a hand-written boto3 hook like AWS's sample, hookkit's handler with no
discovery shortcut in its environment, one that never reports, one that hangs past its Timeout.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from hookkit.ci.cli import main

ROOT = Path(__file__).resolve().parent
FIXTURE = ROOT / "fixtures" / "simulate"
TEMPLATE = f"{FIXTURE / 'template.yaml'}#PricesFunction"
BUILDS = FIXTURE / "builds"


def simulate(*args: str, build: str = "good", hook: str = "boto3_hook.handler") -> list[str]:
    return ["simulate", TEMPLATE, "--from", str(BUILDS / "good"), "--to", str(BUILDS / build),
            "--parameter", f"PreTrafficHandler={hook}", *args]


def rehearse(capsys, tmp_path, *args: str, **kwargs: str) -> tuple[int, str, dict]:
    report = tmp_path / "timeline.json"
    code = main([*simulate(*args, **kwargs), "--json", str(report)])
    out = capsys.readouterr().out
    return code, out, json.loads(report.read_text())


def test_a_hand_written_boto3_hook_approves_a_good_build_through_a_linear_deployment(capsys, tmp_path):
    code, out, report = rehearse(capsys, tmp_path, "--traffic", str(FIXTURE / "traffic"))
    assert code == 0, out
    assert report["outcome"] == "succeeded"
    shifts = [e for e in report["events"] if e["kind"] == "shift"]
    # Linear10PercentEvery1Minute: 10% when the hook succeeds, then 10% more every minute
    assert [e["weights"]["2"] for e in shifts] == [10.0 * n for n in range(1, 11)]
    assert [round(b["at"] - a["at"]) for a, b in itertools.pairwise(shifts)] == [60] * 9
    pre, post = report["hooks"]
    assert pre["status"] == "Succeeded" and pre["function"] == "CodeDeployHook_prices-PreTraffic"
    assert post["status"] == "Succeeded"
    assert post["attempts"][0]["summary"]["checks"][0]["name"] == "the_api_quotes_a_book"  # through the local API
    assert sum(s["invocations"]["2"] for s in report["samples"]) > 0
    assert "The deployment would SUCCEED" in out


def test_a_hookkit_hook_finds_its_target_from_codedeploy_alone(capsys, tmp_path):
    code, out, report = rehearse(capsys, tmp_path, "--config", "FastCanary", hook="hookkit.handler")
    assert code == 0, out
    summary = report["hooks"][0]["attempts"][0]["summary"]
    assert summary["phase"] == "BeforeAllowTraffic"  # from the AppSpec hook naming this function
    assert [c["status"] for c in summary["checks"]] == ["passed"]  # it asserts discovery came from CodeDeploy
    assert [e["weights"]["2"] for e in report["events"] if e["kind"] == "shift"] == [25.0, 100.0]


def test_a_failed_hook_rolls_back_and_says_which_check_failed(capsys, tmp_path):
    code, out, report = rehearse(capsys, tmp_path, build="bad", hook="hookkit.handler")
    assert code == 1
    assert report["outcome"] == "rolled-back" and report["cause"]["kind"] == "hook"
    assert "the BeforeAllowTraffic hook CodeDeployHook_prices-PreTraffic reported Failed" in out
    assert "quotes_a_book (failed)" in out and "/price: expected 12, got None" in out
    assert not [e for e in report["events"] if e.get("label") == "AfterAllowTraffic"]  # never runs after a rollback
    assert report["events"][-1]["kind"] in ("rollback", "hook")
    assert main([*simulate("--expect", "rollback", build="bad", hook="hookkit.handler")]) == 0
    capsys.readouterr()


def test_a_hook_that_never_reports_is_failed_by_codedeploy_after_a_virtual_hour(capsys, tmp_path):
    code, out, report = rehearse(capsys, tmp_path, hook="silent_hook.handler")
    assert code == 1
    assert report["at"] == 3600.0 and report["cause"]["status"] is None
    assert len(report["hooks"][0]["attempts"]) == 1  # it returned normally: Lambda does not retry
    assert "reported no status within CodeDeploy's one hour" in out


@pytest.mark.parametrize("speed", ["max", "3600"])
def test_a_report_sent_after_the_hook_returned_is_not_heard_whatever_the_speed(capsys, tmp_path, speed):
    """Lambda freezes an environment when its handler returns: a background thread's report never
    reaches CodeDeploy, which fails the lifecycle event after its hour. At 3600x the thread's report
    arrives well within the virtual hour; it must be refused, not taken as the verdict."""
    code, out, report = rehearse(capsys, tmp_path, "--speed", speed, hook="background_hook.handler")
    assert code == 1, out
    assert report["at"] == 3600.0 and report["cause"]["status"] is None
    if speed != "max":  # with the clock jumping, the hour is over before the thread wakes up
        assert "arrived after its invocation returned" in out


def test_a_hook_that_hangs_past_its_timeout_is_retried_twice_by_lambda(capsys, tmp_path):
    code, out, report = rehearse(capsys, tmp_path, "--parameter", "HookTimeout=1", hook="hanging_hook.handler")
    assert code == 1
    attempts = report["hooks"][0]["attempts"]
    assert [round(a["at"]) for a in attempts][1:] == [round(attempts[0]["ended"]) + 60,
                                                      round(attempts[1]["ended"]) + 120]
    assert all(a["error"].startswith("Sandbox.Timedout") for a in attempts)
    assert report["at"] == 3600.0
    assert "attempt 3 ended with a function error: Sandbox.Timedout" in out


def changed_template(tmp_path: Path, *changes: tuple[str, str], role: str | None = None) -> str:
    """The fixture template with text replaced (and a DeploymentPreference.Role, if given), elsewhere."""
    text = (FIXTURE / "template.yaml").read_text()
    for old, new in changes:
        assert old in text
        text = text.replace(old, new, 1)
    text = text.replace("ContentUri: ../../../", f"ContentUri: {ROOT.parent}/")
    text = text.replace("CodeUri: builds/", f"CodeUri: {BUILDS}/")
    text = text.replace("CodeUri: hooks/", f"CodeUri: {FIXTURE}/hooks/")
    if role:
        kind = "        Type: !Ref DeploymentType\n"
        text = text.replace(kind, f"{kind}        Role: {role}\n")
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return f"{path}#PricesFunction"


RENAMED = ("FunctionName: CodeDeployHook_prices-PreTraffic", "FunctionName: prices-pre-traffic")


def test_sams_default_role_cannot_invoke_a_hook_not_named_codedeployhook(capsys, tmp_path):
    """Without DeploymentPreference.Role, SAM's role (AWSCodeDeployRoleForLambda) may only invoke
    functions named CodeDeployHook_*: the lifecycle event fails when CodeDeploy tries to invoke it."""
    template = changed_template(tmp_path, RENAMED)
    assert main(["simulate", template, "--from", str(BUILDS / "good"), "--config", "AllAtOnce"]) == 1
    out = capsys.readouterr().out
    assert "CodeDeploy cannot invoke prices-pre-traffic" in out and "CodeDeployHook_" in out
    assert "the hook's invocation returned" not in out  # it never ran
    assert "DeploymentPreference a Role" in out  # the fix


def test_a_deployment_role_of_its_own_may_invoke_a_hook_of_any_name(capsys, tmp_path):
    template = changed_template(tmp_path, RENAMED, role="arn:aws:iam::123456789012:role/deployer")
    assert main(["simulate", template, "--from", str(BUILDS / "good"), "--config", "AllAtOnce"]) == 0
    capsys.readouterr()


def test_a_hookkit_hook_without_a_layer_fails_to_import_as_in_lambda(capsys, tmp_path):
    """In Lambda, hookkit.handler imports from a layer (or the hook's own code); the rehearsal's Python
    has hookkit, which must not hide a hook that would raise Runtime.ImportModuleError in AWS."""
    template = changed_template(tmp_path, ("      Layers: [!Ref HookkitLayer]  # hookkit.handler", "      # no layer"))
    report = tmp_path / "timeline.json"
    args = ["simulate", template, "--from", str(BUILDS / "good"), "--config", "AllAtOnce", "--parameter",
            "PreTrafficHandler=hookkit.handler", "--json", str(report)]
    assert main(args) == 1
    out = capsys.readouterr().out
    attempts = json.loads(report.read_text())["hooks"][0]["attempts"]
    assert len(attempts) == 3 and all(a["error"].startswith("Runtime.ImportModuleError") for a in attempts)
    assert "No module named 'hookkit'" in out and "Layers" in out
    assert "no hookkit" in out  # the header says so before the timeline


def test_an_alarm_rolls_back_a_build_that_fails_under_traffic(capsys, tmp_path):
    code, out, report = rehearse(capsys, tmp_path, "--traffic", str(FIXTURE / "traffic"), "--rate", "5",
                                 build="flaky")
    assert code == 1
    cause = report["cause"]
    assert cause["kind"] == "alarm" and cause["alarm"] == "PricesErrorsAlarm"
    assert cause["datapoints"][0]["breaching"]
    assert "KeyError: 'POSTER'" in out and "Cause: alarm PricesErrorsAlarm went to ALARM" in out
    assert "version 1: " in out and "no errors" in out
    assert report["hooks"][0]["status"] == "Succeeded" and len(report["hooks"]) == 1


def test_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    picture = tmp_path / "deployment.svg"
    assert main([*simulate("--traffic", str(FIXTURE / "traffic"), build="flaky"), "--plot", str(picture)]) == 1
    assert picture.read_text().lstrip().startswith(("<?xml", "<svg"))
    capsys.readouterr()


@pytest.mark.parametrize(("args", "message"), [
    (["simulate", "template.yaml", "--from", "x"], "TEMPLATE#LogicalId"),
    (["simulate", TEMPLATE, "--from", "/nowhere"], "no such folder or template"),
    (["simulate", TEMPLATE, "--from", str(BUILDS / "good"), "--config", "Canary10Percent7Minutes"],
     "not a Lambda configuration"),
    (["simulate", TEMPLATE, "--from", str(BUILDS / "good"), "--plot", "out.txt"], ".png or .svg"),
    (["simulate", TEMPLATE, "--from", str(BUILDS / "good"), "--traffic", str(BUILDS / "good")], "no *.json events"),
    (["simulate", f"{FIXTURE / 'template.yaml'}#PreTrafficHook", "--from", str(BUILDS / "good")],
     "DeploymentPreference.Enabled is false"),
])
def test_usage_and_template_errors_exit_2(capsys, args, message):
    assert main(args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("option", "value"), [
    ("--speed", "inf"), ("--speed", "nan"), ("--speed", "1e308"), ("--speed", "0.5"),
    ("--rate", "inf"), ("--rate", "nan"), ("--rate", "1e9"), ("--rate", "0"),
])
def test_speed_and_rate_must_be_finite_and_bounded(capsys, option, value):
    """--rate inf hung (events due every 0 s), --speed inf overflowed the clock's stamps."""
    with pytest.raises(SystemExit) as exited:
        main(["simulate", TEMPLATE, "--from", str(BUILDS / "good"), "--traffic", str(FIXTURE / "traffic"),
              option, value])
    assert exited.value.code == 2
    assert f"argument {option}: {value!r}" in capsys.readouterr().err


def test_a_hook_on_another_runtime_is_refused_with_advice_simulate_can_follow(capsys, tmp_path):
    template = changed_template(tmp_path, ("      Timeout: !Ref HookTimeout\n",
                                           "      Timeout: !Ref HookTimeout\n      Runtime: nodejs20.x\n"))
    assert main(["simulate", template, "--from", str(BUILDS / "good")]) == 2
    err = capsys.readouterr().err
    assert "PreTrafficHook runs on nodejs20.x" in err and "hookkit simulate" in err
    assert "--target" not in err  # an option of hookkit run, not of simulate


def test_the_examples_v3_differs_from_v2_only_by_reserving_stock():
    """v3 is v2 plus one change (the demo's alarm rollback): keep the copy honest."""
    import ast

    orders = ROOT.parent / "example_hooks" / "orders"

    def top_level(path: Path) -> dict[str, ast.AST]:
        body = ast.parse(path.read_text()).body[1:]  # the docstrings differ on purpose
        return {getattr(node, "name", None) or ast.dump(node): node for node in body}

    v2, v3 = top_level(orders / "v2" / "app.py"), top_level(orders / "v3" / "app.py")
    added = set(v3) - set(v2)
    assert "reserve_stock" in added and len(added) == 2  # the function and the STOCK table
    changed = [name for name in v2 if ast.dump(v2[name]) != ast.dump(v3[name])]
    assert changed == ["create_order"]
    assert [ast.unparse(n) for n in v3["create_order"].body[:2]] == ["validate_new_order(request)",
                                                                       "reserve_stock(request['items'])"]
    recorded = " ".join(p.read_text() for p in (orders / "hooks" / "events").rglob("*.json"))
    assert "POSTER-KOI" not in recorded  # what the hooks send never reaches the bug
    assert "POSTER-KOI" in (orders / "traffic" / "05_create_order_poster.json").read_text()


def test_a_rehearsal_never_hands_a_build_this_machines_aws_credentials(tmp_path, monkeypatch):
    """The builds' AWS calls go to the stand-ins, signed with dummy credentials: even a function
    that ignores the endpoint variables has nothing real to sign with."""
    import sys

    from hookkit.ci.simulate.environments import DUMMY_KEY, aws_edge, build_environment
    from hookkit.local.sam import FunctionSpec

    (tmp_path / "app.py").write_text(
        "import os\n"
        "def handler(event, context):\n"
        "    return {k: os.environ.get(k) for k in ('AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_ENDPOINT_URL')}\n"
    )
    spec = FunctionSpec(
        logical_id="Fn", code_uri=tmp_path, handler="app.handler",
        runtime=f"python{sys.version_info.major}.{sys.version_info.minor}", timeout=10.0, memory_size=128,
        environment={}, function_name="local-Fn", routes=(), warnings=(),
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    monkeypatch.setenv("AWS_PROFILE", "production")
    with build_environment(spec, "2", edge=aws_edge("http://127.0.0.1:9", "us-east-1")) as build:
        answer = json.loads(build.invoke(b"{}", qualifier="2", timeout=10).payload)
    assert answer == {"AWS_ACCESS_KEY_ID": DUMMY_KEY, "AWS_PROFILE": None, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}


def test_a_hooks_worker_gets_every_field_of_its_spec_layers_included():
    """The spec crosses to the hook's worker process as JSON: a field left out (its layers were)
    runs something other than what the rehearsal read."""
    import dataclasses

    from hookkit.ci.simulate.worker import spec_from_json, spec_to_json
    from hookkit.local.sam import ApiRoute, FunctionSpec

    spec = FunctionSpec(
        logical_id="PreHook", code_uri=Path("/code/pre"), handler="hookkit.handler", runtime="python3.12",
        timeout=600.0, memory_size=512, environment={"HOOKKIT_CHECKS": "checks"}, function_name="CodeDeployHook_pre",
        routes=(ApiRoute("GET", "/x", "2.0"),), warnings=("w",), region="eu-west-1",
        layers=(Path("/layers/hookkit"), Path("/layers/shared")),
        remote_layers=("arn:aws:lambda:eu-west-1:1:layer:x:1",),
        notes=("n",), template=Path("/code/template.yaml"),
    )
    sent = spec_to_json(spec)
    assert set(sent) == {f.name for f in dataclasses.fields(FunctionSpec)}
    assert spec_from_json(json.loads(json.dumps(sent))) == spec
