"""``hookkit run``: exit codes, reports CI reads, local targets and the in-process API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import hookkit
from hookkit.ci.cli import main

HERE = Path(__file__).parent / "fixtures" / "cli"
TEMPLATE = HERE / "template.yaml"
CHECKS = HERE / "checks.py"
GOOD = f"local:{TEMPLATE}#ItemsFunction"
BAD = f"local:{TEMPLATE}#ItemsFunction@{HERE / 'bad'}"


pytestmark = pytest.mark.usefixtures("fresh_default_registry")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["run", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_good_build_passes_every_phase(capsys, tmp_path) -> None:
    code, out, err = run(capsys, CHECKS, "--target", GOOD, "--current", GOOD, "--api", "local",
                         "--json", tmp_path / "out.json")
    assert code == 0, out + err
    assert "BeforeAllowTraffic: Succeeded" in out and "AfterAllowTraffic: Succeeded" in out
    assert "3/3 checks done, 0 not passed" in err  # not a terminal: the progress summary, once at the end
    assert "GetAtt ItemsTable.Arn" in err  # the unresolvable intrinsic is named in a warning
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["passed"] is True
    assert report["run"]["checks"] == 3 and report["run"]["shard"] is None and len(report["run"]["plan"]) == 64
    checks = [c for p in report["phases"] for c in p["checks"]]
    assert [c["name"] for c in checks] == ["greets", "same_as_current", "item_answers"]
    assert [(Path(c["file"]).name, c["line"]) for c in checks] == [
        ("checks.py", 4), ("checks.py", 9), ("checks.py", 14)
    ]


def test_a_broken_build_fails_with_differences_in_the_junit_report(capsys, tmp_path) -> None:
    junit = tmp_path / "reports" / "hookkit.xml"
    code, out, _ = run(capsys, CHECKS, "--target", BAD, "--current", GOOD, "--api", "local", "--junit-xml", junit)
    assert code == 1
    assert "BeforeAllowTraffic: Failed" in out and "AfterAllowTraffic: Failed" in out
    suites = ET.parse(junit).getroot()
    cases = {c.get("name"): c for c in suites.iter("testcase")}
    assert set(cases) == {"greets", "same_as_current", "item_answers"}
    greets = cases["greets"].find("failure")
    assert greets is not None and greets.text.count('/greeting: expected "hello ci", got "hi ci"') == 1
    assert "/greeting: expected 'hello ci'" not in greets.text  # each difference once, as JSON
    assert Path(cases["greets"].get("file")).name == "checks.py" and cases["greets"].get("line") == "4"
    assert cases["item_answers"].get("line") == "14"
    compare = cases["same_as_current"].find("failure")
    assert compare is not None and "/greeting" in compare.text
    api = cases["item_answers"].find("failure")
    assert api is not None and "status: expected 200, got 500" in api.text
    assert suites.find("testsuite").get("failures") == "2"


def test_parameters_override_template_defaults(capsys) -> None:
    code, out, _ = run(capsys, CHECKS, "--phase", "pre", "--target", GOOD, "--current", GOOD,
                       "--parameter", "Greeting=hola")
    assert code == 1
    assert 'expected "hello ci", got "hola ci"' in out


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
        ([CHECKS, "--target", GOOD, "--json", "/proc/no/such/out.json"], "--json /proc/no/such/out.json: cannot write"),
        ([CHECKS, "--target", GOOD, "--junit-xml", HERE], "--junit-xml"),
    ],
)
def test_usage_and_configuration_errors_exit_2_naming_the_input(capsys, args, fragment) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert err.startswith("hookkit: error: ")
    assert fragment in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--deadline", "-1"], "argument --deadline: '-1': pass the seconds the whole run may take, more than 0"),
        (["--deadline", "0"], "more than 0"),
        (["--deadline", "inf"], "more than 0"),
        (["--workers", "0"], "argument --workers: '0': pass how many checks may run at once, a whole number >= 1"),
        (["--workers", "1.5"], "a whole number >= 1"),
        (["--concurrency", "0"], "argument --concurrency: '0': pass how many execution environments a local "
                                 "function may have at once, a whole number >= 1"),
        (["--concurrency", "two"], "argument --concurrency: 'two': pass how many execution environments"),
        (["--api", "localhost:3000"], "'localhost:3000' is not a URL: write the API's base URL with its scheme"),
        (["--api", "ftp://host/x"], "is not a URL"),
        (["--phase", "middle"], "unknown phase 'middle'"),
        (["--shard", "0/3"], "K/N needs 1 <= K <= N"),
        (["--shard", "3"], "write K/N, e.g. --shard 2/4"),
    ],
)
def test_option_values_that_cannot_work_are_refused_before_anything_runs(capsys, tmp_path, args, fragment) -> None:
    ran = tmp_path / "ran"
    checks = tmp_path / "checks.py"
    checks.write_text(f"from pathlib import Path\nPath({str(ran)!r}).touch()\n")
    with pytest.raises(SystemExit) as exited:
        main(["run", str(checks), *args])
    assert exited.value.code == 2
    assert fragment in capsys.readouterr().err
    assert not ran.exists()  # refused while parsing: the checks were never even imported


@pytest.mark.parametrize("spelling", ["PreTraffic", "pre", "BeforeAllowTraffic", "before-allow-traffic"])
def test_phase_names_are_accepted_in_every_spelling(capsys, spelling) -> None:
    code, out, _ = run(capsys, CHECKS, "--phase", spelling, "--target", GOOD, "--current", GOOD)
    assert code == 0 and "BeforeAllowTraffic: Succeeded" in out and "AfterAllowTraffic" not in out


def test_a_report_that_cannot_be_written_is_refused_before_the_run(tmp_path) -> None:
    ran = tmp_path / "ran"
    checks = tmp_path / "checks.py"
    checks.write_text(
        "from pathlib import Path\nfrom hookkit import pre_traffic\n\n"
        f"@pre_traffic\ndef marks():\n    Path({str(ran)!r}).touch()\n"
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "hookkit", "run", str(checks), "--json", str(blocker / "out.json")],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"hookkit: error: --json {blocker / 'out.json'}: cannot write there")
    assert "Traceback" not in done.stderr and not ran.exists()


def test_a_writable_report_path_is_not_left_behind_by_the_check(capsys, tmp_path) -> None:
    out = tmp_path / "new" / "out.json"
    code, _, err = run(capsys, CHECKS, "--target", GOOD, "--json", out, "--parameter", "Nope=1")
    assert code == 2 and "'Nope'" in err
    assert not out.exists()  # checked, then removed: a failed configuration leaves no empty report


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"hookkit {hookkit.__version__}"


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


def test_a_function_without_code_uri_runs_from_the_templates_folder(capsys) -> None:
    code, _, err = run(capsys, CHECKS, "--target", f"local:{TEMPLATE}#NoCodeFunction")
    # as SAM: no CodeUri means the template's folder, which holds no app.py here
    assert code == 2 and f"no module 'app' in {HERE.resolve()}" in err


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
    # compare needs the current version, which a deployed --target alone does not give: a configuration error
    assert code == 2
    checks = json.loads((tmp_path / "o.json").read_text())["phases"][0]["checks"]
    assert [(c["name"], c["status"]) for c in checks] == [("greets", "passed"), ("same_as_current", "error")]
    assert "pass --current" in checks[1]["message"] and checks[1]["configurationError"] is True


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



def test_a_run_cut_short_by_its_deadline_says_so_in_ci_words_not_the_hooks(capsys, tmp_path) -> None:
    """No hook, no report reserve in a CI run: the limit it met is --deadline, and that is the fix to name."""
    checks = tmp_path / "slow_checks.py"
    checks.write_text(
        "import time\nfrom hookkit import post_traffic, pre_traffic\n\n"
        "@pre_traffic(timeout=30)\ndef slow():\n    time.sleep(2)\n\n"
        "@post_traffic\ndef later():\n    pass\n"
    )
    code, out, _ = run(capsys, checks, "--deadline", "1", "--json", tmp_path / "out.json", "-v")
    assert code == 1
    pre, post = json.loads((tmp_path / "out.json").read_text())["phases"]
    assert (pre["checks"][0]["status"], post["checks"][0]["status"]) == ("timed_out", "skipped")
    assert pre["checks"][0]["message"] == "still running at the run's --deadline of 1 s (raise --deadline)"
    assert post["checks"][0]["message"] == "not started: the run's --deadline of 1 s came first"
    assert "hook" not in out and "reserve" not in out


CONFIGURATION_CHECKS = '''from hookkit import pre_traffic


@pre_traffic
def needs_an_event(target):
    target.invoke("events/missing.json")


@pre_traffic
def broken_schema(target):
    target.invoke({"name": "ci"}).expect(schema="schemas/broken.json")


@pre_traffic
def fails_plainly(target):
    target.invoke({"name": "ci"}).expect(fields={"/greeting": None})
'''


def test_a_check_that_cannot_run_as_written_exits_2_naming_the_check_its_line_and_the_fix(capsys, tmp_path) -> None:
    checks = tmp_path / "checks.py"
    checks.write_text(CONFIGURATION_CHECKS)
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "broken.json").write_text('{"type": ')
    code, out, err = run(capsys, checks, "--target", GOOD, "--json", tmp_path / "out.json")
    assert code == 2  # configuration wins over the plain failure next to it
    lines = [line for line in err.splitlines() if line.startswith("hookkit: error: ")]
    assert lines[0].startswith("hookkit: error: check 'needs_an_event' (BeforeAllowTraffic, ")
    assert f"{checks.name}:4) could not run as written: ConfigurationError: target.invoke(" in lines[0]
    assert "missing.json not found" in lines[0]
    assert "check 'broken_schema'" in lines[1] and ":9)" in lines[1] and "broken.json: line 1" in lines[1]
    assert len(lines) == 2  # the plain failure is a failure, not a configuration error
    checks_report = json.loads((tmp_path / "out.json").read_text())["phases"][0]["checks"]
    assert [c["configurationError"] for c in checks_report] == [True, True, False]
    assert [c["attempts"] for c in checks_report] == [1, 1, 1]
    assert "fails_plainly" in out and 'expected null, got "hello ci"' in out


def test_checks_asking_for_a_target_without_one_are_refused_before_the_run(capsys, tmp_path) -> None:
    checks = tmp_path / "checks.py"
    checks.write_text(CONFIGURATION_CHECKS)
    code, out, err = run(capsys, checks)
    assert code == 2 and out == ""
    assert err.startswith("hookkit: error: 3 check(s) ask for a target (needs_an_event (checks.py:4), ")
    assert "pass --target local:TEMPLATE#LogicalId" in err


def test_an_error_in_a_checks_definition_points_at_the_users_line_not_hookkits(capsys, tmp_path) -> None:
    checks = tmp_path / "bad_checks.py"
    checks.write_text(
        "from hookkit import pre_traffic\n\n\n"
        "@pre_traffic(timeout=0)\ndef too_quick(target):\n    pass\n"
    )
    code, _, err = run(capsys, checks, "--target", GOOD)
    assert code == 2
    assert f"check 'too_quick' ({checks}:4): timeout must be greater than 0" in err
    assert "registry.py" not in err and "hookkit/core" not in err


def test_concurrency_caps_the_environments_of_a_local_target(capsys) -> None:
    from hookkit.ci.cli import build_parser
    from hookkit.ci.wiring import parse_target
    from hookkit.hook.clients import Clients

    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["run", "checks.py", "--concurrency", "0"])
    assert stopped.value.code == 2 and "--concurrency: '0': pass how many" in capsys.readouterr().err
    code, out, err = run(capsys, CHECKS, "--phase", "pre", "--target", GOOD, "--current", GOOD, "--concurrency", "1")
    assert code == 0, out + err
    target = parse_target(GOOD, parameters={}, clients=Clients(), concurrency=3)
    assert target.invoker.concurrency == 3  # type: ignore[attr-defined]
    target.invoker.close()  # type: ignore[attr-defined]


REPLAYED = """\
import json, os, time

def handler(event, context):
    kind = event["kind"]
    if kind == "sleep":
        time.sleep(30)
    if kind == "exit":
        os._exit(7)
    if kind == "raise":
        raise ValueError("no such order")
    status = 500 if kind == "wrong" else 200
    return {"statusCode": status, "body": json.dumps({"orderId": "ORD-1", "pid": os.getpid()})}
"""


@pytest.mark.parametrize("workers", ["32", "1"])
def test_a_replay_through_the_local_environments_ends_each_event_as_its_answer_says(
    capsys, tmp_path: Path, workers: str
) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text(REPLAYED)
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        f"      CodeUri: fn/\n      Handler: app.handler\n      Runtime: python{sys.version_info.major}."
        f"{sys.version_info.minor}\n      Timeout: 1\n"
    )
    events = tmp_path / "events"
    events.mkdir()
    schema = {"type": "object", "required": ["orderId"], "properties": {"orderId": {"type": "string"}}}
    (tmp_path / "order.json").write_text(json.dumps(schema))
    cases = {"ok": "passed", "wrong": "failed", "sleep": "failed", "exit": "failed", "raise": "failed"}
    for n in range(3):  # more events than environments: they wait in line, and environments are reused
        for kind in cases:
            (events / f"{kind}{n}.json").write_text(json.dumps({"kind": kind}))
            (events / f"{kind}{n}.expect.json").write_text(json.dumps({"status": 200, "schema": "../order.json"}))
    (tmp_path / "checks.py").write_text("from hookkit import Phase, recorded_events\n"
                                        "recorded_events('events', phase=Phase.BEFORE_ALLOW_TRAFFIC)\n")

    code, out, err = run(capsys, tmp_path / "checks.py", "--target", f"local:{tmp_path / 'template.yaml'}#Fn",
                         "--phase", "pre", "--workers", workers, "--json", tmp_path / "out.json")

    assert code == 1, out + err
    report = json.loads((tmp_path / "out.json").read_text())
    checks = {c["name"].split("/")[1]: c for c in report["phases"][0]["checks"]}
    assert {name: c["status"] for name, c in checks.items()} == {
        f"{kind}{n}": status for n in range(3) for kind, status in cases.items()}
    assert all(c["attempts"] == 1 for c in checks.values())
    messages = {kind: checks[f"{kind}0"] for kind in cases}
    assert messages["wrong"]["differences"] == [{"path": "status", "expected": 200, "actual": 500}]
    assert "Sandbox.Timedout: RequestId: " in messages["sleep"]["message"]
    assert "Task timed out after 1.00 seconds" in messages["sleep"]["message"]
    assert "Runtime.ExitError" in messages["exit"]["message"]
    assert "exit status 7" in messages["exit"]["message"]
    assert "ValueError: no such order" in messages["raise"]["message"]


@pytest.mark.parametrize(("missing", "fix"), [
    ("credentials", "configure AWS credentials"),
    ("region", "set AWS_REGION or AWS_DEFAULT_REGION"),
])
def test_a_deployed_target_without_aws_credentials_or_region_is_a_configuration_error(
    capsys, tmp_path, monkeypatch, missing: str, fix: str
) -> None:
    """No credentials or no region is the job's set-up, not the function's failure: exit 2, one attempt
    (retries cannot fix it), and the message says what to set. No network: the environment is scrubbed."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    if missing == "credentials":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    else:
        monkeypatch.delenv("AWS_DEFAULT_REGION")
    checks = tmp_path / "deployed_checks.py"
    checks.write_text("from hookkit import pre_traffic\n\n@pre_traffic(retries=2, retry_delay=0)\n"
                      "def answers(target):\n    target.invoke({}).expect()\n")
    code, _out, _err = run(capsys, checks, "--target", "orders:7", "--json", tmp_path / "o.json")
    assert code == 2
    [check] = json.loads((tmp_path / "o.json").read_text())["phases"][0]["checks"]
    assert (check["status"], check["attempts"], check["configurationError"]) == ("error", 1, True)
    assert fix in check["message"], check["message"]


def test_api_given_on_the_command_line_sends_the_environments_key_and_token(capsys, tmp_path, keyed_api,
                                                                             monkeypatch) -> None:
    checks = tmp_path / "smoke.py"
    checks.write_text("from hookkit import post_traffic\n\n@post_traffic\ndef smoke(api):\n"
                      "    api.get('/x').expect(status=200)\n")
    code, out, _ = run(capsys, checks, "--api", keyed_api)
    assert code == 1 and "status: expected 200, got 403" in out  # the server does refuse a call without them
    monkeypatch.setenv("HOOKKIT_API_KEY", "k3y")
    monkeypatch.setenv("HOOKKIT_API_TOKEN", "t0k")
    code, out, err = run(capsys, checks, "--api", keyed_api)
    assert code == 0, out + err
    assert "k3y" not in out + err and "t0k" not in out + err
