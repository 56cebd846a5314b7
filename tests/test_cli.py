"""``hookkit run``: exit codes, reports CI reads, local targets and the in-process API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hookkit import default_registry
from hookkit.ci.cli import main
from hookkit.core import loader

HERE = Path(__file__).parent / "fixtures" / "cli"
TEMPLATE = HERE / "template.yaml"
CHECKS = HERE / "checks.py"
GOOD = f"local:{TEMPLATE}#ItemsFunction"
BAD = f"local:{TEMPLATE}#ItemsFunction@{HERE / 'bad'}"


@pytest.fixture(autouse=True)
def fresh_default_registry():
    """Each run imports its checks into an empty default registry, as a new process would."""
    saved, saved_paths = dict(default_registry._checks), dict(loader._by_path)
    default_registry._checks.clear()
    loader._by_path.clear()
    yield
    default_registry._checks.clear()
    default_registry._checks.update(saved)
    loader._by_path.clear()
    loader._by_path.update(saved_paths)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["run", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_good_build_passes_every_phase(capsys, tmp_path) -> None:
    code, out, err = run(capsys, CHECKS, "--target", GOOD, "--current", GOOD, "--api", "local",
                         "--json", tmp_path / "out.json")
    assert code == 0, out + err
    assert "BeforeAllowTraffic: Succeeded" in out and "AfterAllowTraffic: Succeeded" in out
    assert "[3/3]" in err  # the progress line counted every check
    assert "GetAtt ItemsTable.Arn" in err  # the unresolvable intrinsic is named in a warning
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["passed"] is True
    assert [c["name"] for p in report["phases"] for c in p["checks"]] == ["greets", "same_as_current", "item_answers"]


def test_a_broken_build_fails_with_differences_in_the_junit_report(capsys, tmp_path) -> None:
    junit = tmp_path / "reports" / "hookkit.xml"
    code, out, _ = run(capsys, CHECKS, "--target", BAD, "--current", GOOD, "--api", "local", "--junit-xml", junit)
    assert code == 1
    assert "BeforeAllowTraffic: Failed" in out and "AfterAllowTraffic: Failed" in out
    suites = ET.parse(junit).getroot()
    cases = {c.get("name"): c for c in suites.iter("testcase")}
    assert set(cases) == {"greets", "same_as_current", "item_answers"}
    greets = cases["greets"].find("failure")
    assert greets is not None and "/greeting: expected 'hello ci', got 'hi ci'" in greets.text
    compare = cases["same_as_current"].find("failure")
    assert compare is not None and "/greeting" in compare.text
    api = cases["item_answers"].find("failure")
    assert api is not None and "status: expected 200, got 500" in api.text
    assert suites.find("testsuite").get("failures") == "2"


def test_parameters_override_template_defaults(capsys) -> None:
    code, out, _ = run(capsys, CHECKS, "--phase", "pre", "--target", GOOD, "--current", GOOD,
                       "--parameter", "Greeting=hola")
    assert code == 1
    assert "expected 'hello ci', got 'hola ci'" in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        ([HERE / "missing.py"], "checks file"),
        (["no_such_checks_module_xyz"], "'no_such_checks_module_xyz' was not found"),
        ([CHECKS, "--target", f"local:{TEMPLATE}#NoSuchFunction"], "NoSuchFunction"),
        ([CHECKS, "--target", f"local:{HERE / 'nope.yaml'}#ItemsFunction"], "nope.yaml"),
        ([CHECKS, "--target", "local:template.yaml"], "local:TEMPLATE#LogicalId"),
        ([CHECKS, "--target", "orders:$LATEST"], "published version number only"),
        ([CHECKS, "--target", "orders"], "NAME_OR_ARN:VERSION"),
        ([CHECKS, "--target", GOOD, "--parameter", "Nope=1"], "'Nope'"),
        ([CHECKS, "--target", GOOD, "--parameter", "novalue"], "KEY=VALUE"),
        ([CHECKS, "--api", "local"], "--api local serves smoke calls from the function's code"),
        ([CHECKS, "--target", f"local:{TEMPLATE}#ItemsFunction@{HERE / 'no-such-dir'}"], "no-such-dir"),
    ],
)
def test_usage_and_configuration_errors_exit_2_naming_the_input(capsys, args, fragment) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert err.startswith("hookkit: error: ")
    assert fragment in err


def test_a_handler_that_does_not_import_is_named(capsys) -> None:
    target = f"local:{TEMPLATE}#BrokenFunction"
    code, _out, err = run(capsys, CHECKS, "--phase", "pre", "--target", target)
    assert code == 2
    assert "handler 'app.handler'" in err and "no_such_module_for_hookkit_tests" in err


def test_without_checks_for_the_phase_it_is_a_usage_error(capsys, tmp_path) -> None:
    only_pre = tmp_path / "only_pre.py"
    only_pre.write_text("from hookkit import pre_traffic\n\n@pre_traffic\ndef a():\n    pass\n")
    code, _, err = run(capsys, only_pre, "--phase", "post")
    assert code == 2 and "declares no checks for --phase post" in err


def test_as_a_subprocess_the_exit_code_and_files_are_what_ci_sees(tmp_path) -> None:
    junit = tmp_path / "junit.xml"
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "hookkit", "run", str(CHECKS), "--phase", "pre", "--target", GOOD, "--current", BAD,
         "--junit-xml", str(junit)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "same_as_current" in done.stdout and "\033[" not in done.stdout
    assert ET.parse(junit).getroot().find("testsuite").get("tests") == "2"
    usage = subprocess.run([sys.executable, "-m", "hookkit", "run"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "CHECKS" in usage.stderr


@pytest.mark.parametrize("path", ["/", "/a/b"])
def test_an_http_api_default_route_answers_every_path_including_the_root(path) -> None:
    from types import SimpleNamespace

    from hookkit.ci.wiring import api_factory, parse_target
    from hookkit.hook.clients import Clients

    target = parse_target(f"local:{TEMPLATE}#CatchAllFunction", parameters={}, clients=Clients())
    api = api_factory("local", target, Clients())(SimpleNamespace(base_dir=None), 5.0)
    api.get(path).expect(status=200, fields={"/path": path})


def test_a_function_without_code_uri_is_a_usage_error(capsys) -> None:
    code, _, err = run(capsys, CHECKS, "--target", f"local:{TEMPLATE}#NoCodeFunction")
    assert code == 2 and "NoCodeFunction" in err and "CodeUri" in err


def test_a_deployed_version_is_invoked_through_boto3(capsys, tmp_path) -> None:
    import io
    import json as _json
    import zipfile

    import boto3
    from moto import mock_aws
    from moto.awslambda_simple.models import lambda_simple_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    with mock_aws(config={"lambda": {"use_docker": False}}):
        role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("app.py", "def handler(e, c):\n    return e\n")
        client = boto3.client("lambda")
        client.create_function(FunctionName="items", Runtime="python3.12", Role=role, Handler="app.handler",
                               Code={"ZipFile": archive.getvalue()})
        client.publish_version(FunctionName="items")
        queue = lambda_simple_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].lambda_simple_results_queue
        queue.append(_json.dumps({"greeting": "hello ci"}))
        code, out, _err = run(capsys, CHECKS, "--phase", "pre", "--target", "items:1", "--json", tmp_path / "o.json")
    assert "greets" in out and "passed" in out.splitlines()[2]
    # compare needs the current version, which a deployed --target alone does not give
    assert code == 1
    checks = json.loads((tmp_path / "o.json").read_text())["phases"][0]["checks"]
    assert [(c["name"], c["status"]) for c in checks] == [("greets", "passed"), ("same_as_current", "error")]
    assert "pass --current" in checks[1]["message"]


def test_a_run_whose_checks_make_no_api_calls_never_imports_the_http_client() -> None:
    script = (
        "import sys\n"
        "from hookkit.ci.cli import main\n"
        f"code = main(['run', {str(CHECKS)!r}, '--phase', 'pre', '--target', {GOOD!r}, '--current', {GOOD!r}])\n"
        "print(code, 'hookkit.checks.smoke' in sys.modules, 'requests' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines()[-1] == "0 False False", done.stderr


def test_the_deadline_bounds_the_whole_run_not_each_phase(capsys, tmp_path) -> None:
    checks = tmp_path / "slow_checks.py"
    checks.write_text(
        "import time\nfrom hookkit import post_traffic, pre_traffic\n\n"
        "@pre_traffic\ndef pre_takes_a_while():\n    time.sleep(0.4)\n\n"
        "@post_traffic\ndef post_takes_a_while():\n    time.sleep(0.4)\n"
    )
    code, _out, _ = run(capsys, checks, "--deadline", "0.6", "--json", tmp_path / "out.json")
    assert code == 1
    pre, post = json.loads((tmp_path / "out.json").read_text())["phases"]
    assert pre["verdict"] == "Succeeded"
    assert post["checks"][0]["status"] == "timed_out" and "deadline" in post["checks"][0]["message"]


def test_concurrency_caps_the_environments_of_a_local_target(capsys) -> None:
    from hookkit.ci.cli import build_parser
    from hookkit.ci.wiring import parse_target
    from hookkit.hook.clients import Clients

    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["run", "checks.py", "--concurrency", "0"])
    assert stopped.value.code == 2 and "'0' is not a number of environments" in capsys.readouterr().err
    code, out, err = run(capsys, CHECKS, "--phase", "pre", "--target", GOOD, "--current", GOOD, "--concurrency", "1")
    assert code == 0, out + err
    target = parse_target(GOOD, parameters={}, clients=Clients(), concurrency=3)
    assert target.invoker.concurrency == 3  # type: ignore[attr-defined]
    target.invoker.close()  # type: ignore[attr-defined]
