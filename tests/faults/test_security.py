"""Security promises, driven end to end: secrets never leave in logs or reports, only published
versions are invoked, IAM errors say exactly what to grant, and files are read as data only.

Every promise here is listed in SECURITY.md with the test that proves it.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_standin import AwsStandIn, Request, invoked, json_answer, proxy
from cfnlint.api import decode_str
from faultkit import DEPLOYMENT, ApiServer, Hook, HookLog, assert_reported

from hookkit import ConfigurationError, HookRegistry
from hookkit.checks import target
from hookkit.checks.eventfiles import load_event, load_expect
from hookkit.checks.recorded import recorded_events
from hookkit.ci.cli import main as hookkit_cli
from hookkit.core.redact import redact_text
from hookkit.hook import discovery, reporting
from hookkit.hook.appspec import parse_appspec
from hookkit.local.sam import load_template

ROOT = Path(__file__).resolve().parents[2]

# Distinctive strings found nowhere else: one showing up anywhere on the way out is a leak.
SECRETS = {
    "authorization": "tok-AUTH-1111",
    "api_key": "key-APIKEY-2222",
    "cookie": "sess-COOKIE-3333",
    "query_token": "qs-TOKEN-4444",
    "password": "pw-PASSWORD-5555",
    "signature": "sig-SIGNATURE-6666",
}
RECORDED_EVENT = {
    "httpMethod": "POST",
    "path": "/login",
    "headers": {
        "Authorization": f"Bearer {SECRETS['authorization']}",
        "x-api-key": SECRETS["api_key"],
        "Cookie": f"session={SECRETS['cookie']}; theme=dark",
    },
    "queryStringParameters": {"access_token": SECRETS["query_token"]},
    "rawPath": f"/login?access_token={SECRETS['query_token']}&X-Amz-Signature={SECRETS['signature']}",
    "body": json.dumps({"username": "ann", "password": SECRETS["password"]}),
}


def assert_no_secret(text: str) -> None:
    leaked = sorted(name for name, secret in SECRETS.items() if secret in text)
    assert leaked == [], f"leaked: {leaked}"


def echo(request: Request) -> Any:
    """The function under test answers 401 and echoes the request it got: the worst case for a report."""
    return invoked(proxy(401, {"message": "denied", "echo": json.loads(request.body)}))


# -- redaction: logs ---------------------------------------------------------------------------


@pytest.fixture
def deployed(hook: Hook, aws: AwsStandIn) -> None:
    hook.env(HOOKKIT_FUNCTION="orders", HOOKKIT_TARGET_VERSION="7")
    aws.publish("orders", "7", echo)


def test_secrets_in_a_failing_check_never_reach_the_log(hook: Hook, aws: AwsStandIn, hook_log: HookLog,
                                                        deployed: None) -> None:
    hook.checks(f"""
        from hookkit import pre_traffic

        @pre_traffic
        def echo_fields(target):
            target.invoke({RECORDED_EVENT!r}).expect(status=200, fields={{
                "/echo/headers/x-api-key": "other", "/echo/headers/Authorization": "other",
                "/echo/queryStringParameters/access_token": "other"}})

        @pre_traffic
        def echo_schema(target):
            target.invoke({RECORDED_EVENT!r}).expect(schema={{"type": "object", "required": ["orderId"]}})

        @pre_traffic
        def says_too_much():
            raise RuntimeError("GET https://api.example.com/orders?access_token={SECRETS['query_token']} with "
                               "Authorization: Bearer {SECRETS['authorization']} and password={SECRETS['password']}")
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    assert [c["status"] for c in summary["checks"]] == ["failed", "failed", "error"]
    assert len(hook_log.lines) >= 5
    assert_no_secret(hook_log.text())
    assert_no_secret(json.dumps(summary))
    assert "access_token=[REDACTED]" in hook_log.line("check says_too_much: ")["message"]
    # the secrets did go to the function: redaction is on the way out, not on the way in
    assert SECRETS["api_key"] in aws.calls("Invoke")[0].body.decode()


def test_api_credentials_are_sent_but_never_logged(hook: Hook, aws: AwsStandIn, hook_log: HookLog,
                                                  api_server: ApiServer) -> None:
    hook.env(HOOKKIT_PHASE="AfterAllowTraffic", HOOKKIT_API_URL=api_server.url, HOOKKIT_API_KEY=SECRETS["api_key"])
    hook.checks(f"""
        from hookkit import post_traffic

        @post_traffic(timeout=3)
        def broken_page(api):
            api.get("/broken", params={{"access_token": "{SECRETS['query_token']}"}}).expect(status=200)
    """)
    hook()
    assert_reported(aws, "Failed")
    assert api_server.paths == [f"/broken?access_token={SECRETS['query_token']}"]
    line = hook_log.line("check broken_page: ")["message"]
    assert f"{api_server.url}/broken?access_token=[REDACTED] (answered 500 in " in line
    assert_no_secret(hook_log.text())


CONNECTION_ERROR = f"""
    raise ConnectionError("could not connect: postgres://app:{SECRETS['password']}@db/orders")
"""


def test_a_password_in_any_url_is_hidden_in_the_summary(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks(CONNECTION_ERROR)
    summary = hook()
    assert_reported(aws, "Failed")
    assert "could not connect: postgres://app:[REDACTED]@db/orders" in summary["reason"]
    assert_no_secret(json.dumps(summary))
    assert_no_secret(json.dumps(hook_log.line("BeforeAllowTraffic: Failed")))
    assert redact_text("a." * 500_000) == "a." * 500_000  # any scheme, and still a linear scan


def test_a_secret_in_an_import_error_never_reaches_the_log(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks(CONNECTION_ERROR)
    hook()
    assert_reported(aws, "Failed")
    assert_no_secret(hook_log.text())


def test_a_secret_in_an_unexpected_failure_never_reaches_the_log(hook: Hook, aws: AwsStandIn,
                                                                 hook_log: HookLog) -> None:
    """hookkit itself failing where the checks run (here: the checks module breaks hookkit's runner)."""
    hook.checks(f"""
        import hookkit.hook.handler
        from hookkit import pre_traffic

        def explode(*args, **kwargs):
            raise RuntimeError("Authorization: Bearer {SECRETS['authorization']}")

        hookkit.hook.handler.run_phase = explode

        @pre_traffic
        def answers():
            pass
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    assert hook_log.line("hookkit failed unexpectedly")["exception_name"] == "RuntimeError"
    assert summary["reason"] == "hookkit failed unexpectedly: RuntimeError: Authorization: Bearer [REDACTED]"
    assert_no_secret(json.dumps(summary))
    assert_no_secret(hook_log.text())


# -- redaction: JSON and JUnit reports (hookkit run, against the deployed version) -------------


def test_recorded_events_holding_secrets_never_reach_the_reports(tmp_path: Path, aws: AwsStandIn,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    aws.publish("orders", "7", echo)
    events = tmp_path / "events"
    events.mkdir()
    (events / "login.json").write_text(json.dumps(RECORDED_EVENT))
    (events / "login.expect.json").write_text(json.dumps({
        "status": 200,
        "schema": {"type": "object", "required": ["orderId"]},
        "fields": {"/echo/headers/x-api-key": "k", "/echo/headers/Cookie": "c", "/echo/body": "b",
                   "/echo/rawPath": "p"},
    }))
    checks = tmp_path / "replay_checks.py"
    checks.write_text("from hookkit import recorded_events\nrecorded_events('events')\n")
    registry = HookRegistry()
    monkeypatch.setattr("hookkit.checks.recorded.default_registry", registry)
    monkeypatch.setattr("hookkit.ci.run.default_registry", registry)
    report_json, report_xml = tmp_path / "hookkit.json", tmp_path / "hookkit.xml"
    code = hookkit_cli(["run", str(checks), "--target", "orders:7", "--json", str(report_json),
                        "--junit-xml", str(report_xml)])
    out, err = capsys.readouterr()
    assert code == 1
    data = json.loads(report_json.read_text())
    [case] = data["phases"][0]["checks"]
    assert (case["name"], case["status"]) == ("events/login", "failed")
    assert {d["path"] for d in case["differences"]} >= {"status", "/echo/headers/x-api-key", "/echo/headers/Cookie"}
    xml = report_xml.read_text()
    assert '<failure message="invoke orders:7 with ' in xml
    for text in (report_json.read_text(), xml, out, err):
        assert_no_secret(text)
    assert SECRETS["password"] in aws.calls("Invoke")[0].body.decode()  # the event itself went out whole


def run_reported(tmp_path: Path, checks_source: str, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], list[str]]:
    """``hookkit run`` with every output on (JSON, JUnit, -v, GitHub annotations and summary): its exit
    code, its JSON report, and the text of every output."""
    checks = tmp_path / "leak_checks.py"
    checks.write_text(textwrap.dedent(checks_source))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    report_json, report_xml = tmp_path / "hookkit.json", tmp_path / "hookkit.xml"
    code = hookkit_cli(["run", str(checks), *args, "-v", "--json", str(report_json), "--junit-xml", str(report_xml)])
    out, err = capsys.readouterr()
    return code, json.loads(report_json.read_text()), [report_json.read_text(), report_xml.read_text(),
                                                        summary.read_text(), out, err]


def answers_with_secrets(token: str) -> Any:
    return lambda request: invoked(proxy(200, {"token": token, "headers": {"Authorization": f"raw-{token}"},
                                               "greeting": "hi"}))


@pytest.mark.usefixtures("fresh_default_registry")
def test_a_compare_of_two_answers_holding_secrets_never_shows_them(tmp_path: Path, aws: AwsStandIn,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """``target.compare``'s differences come from jsondiff, not from ``expect``: they are hidden by their
    path where they become an outcome, whoever made them, and the message stays readable."""
    aws.publish("orders", "6", answers_with_secrets("OLD-SECRET-7777"))
    aws.publish("orders", "7", answers_with_secrets("NEW-SECRET-8888"))
    code, data, outputs = run_reported(tmp_path, """
        from hookkit import pre_traffic

        @pre_traffic
        def same_answers(target):
            target.compare({"action": "secret"})
    """, monkeypatch, capsys, "--target", "orders:7", "--current", "orders:6")
    assert code == 1
    [case] = data["phases"][0]["checks"]
    assert case["differences"] == [
        {"path": "/headers/Authorization", "expected": "[REDACTED]", "actual": "[REDACTED]"},
        {"path": "/token", "expected": "[REDACTED]", "actual": "[REDACTED]"},
    ]
    assert "\n  - /headers/Authorization: expected '[REDACTED]', got '[REDACTED]'" in case["message"]
    assert "/token: expected '[REDACTED]', got '[REDACTED]'" in case["message"]
    for text in outputs:
        assert "SECRET" not in text
        assert "[REDACTED] '" not in text  # no half-redacted "Authorization: [REDACTED] 'value'"


def test_a_compare_of_two_answers_holding_secrets_never_reaches_the_hooks_log(hook: Hook, aws: AwsStandIn,
                                                                             hook_log: HookLog) -> None:
    aws.deploy(DEPLOYMENT, current="6", target="7")
    aws.publish("orders", "6", answers_with_secrets("OLD-SECRET-7777"))
    aws.publish("orders", "7", answers_with_secrets("NEW-SECRET-8888"))
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def same_answers(target):
            target.compare({"action": "secret"})
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    assert "/token: expected '[REDACTED]', got '[REDACTED]'" in hook_log.line("check same_answers: ")["message"]
    assert "SECRET" not in hook_log.text()
    assert "SECRET" not in json.dumps(summary)


# -- only published versions are invoked ---------------------------------------------------------


@pytest.mark.parametrize(
    "function, version, refused",
    [
        ("orders", "$LATEST", "HOOKKIT_TARGET_VERSION: $LATEST is not a published version"),
        ("orders", "live", "HOOKKIT_TARGET_VERSION: 'live' is not a published version number"),
        ("orders:live", "7", "function 'orders:live' carries a qualifier"),
        ("arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST", "7", "carries a qualifier"),
    ],
)
def test_latest_an_alias_or_a_qualified_name_is_never_invoked(hook: Hook, aws: AwsStandIn, hook_log: HookLog,
                                                               function: str, version: str, refused: str) -> None:
    aws.publish("orders", "7")
    hook.env(HOOKKIT_FUNCTION=function, HOOKKIT_TARGET_VERSION=version)
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def answers(target):
            target.invoke({}).expect(status=200)
    """)
    hook()
    assert_reported(aws, "Failed")
    assert aws.calls("Invoke") == []
    assert refused in hook_log.line("check answers: error: ")["message"]


def test_a_deployment_naming_latest_is_never_invoked(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    aws.deploy(DEPLOYMENT, target="$LATEST")  # in the deployment targets and in the AppSpec
    aws.publish("orders", "$LATEST")
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def answers(target):
            target.invoke({}).expect(status=200)
    """)
    hook()
    assert_reported(aws, "Failed")
    assert aws.calls("Invoke") == []
    message = hook_log.line("check answers: error: ")["message"]
    assert "deployment-targets: lambdaFunctionInfo.targetVersion: $LATEST is not a published version" in message
    assert "TargetVersion: $LATEST is not a published version" in message


def test_the_current_version_is_invoked_by_number_too(hook: Hook, aws: AwsStandIn) -> None:
    aws.deploy(DEPLOYMENT, current="6", target="7")
    aws.publish("orders", "6")
    aws.publish("orders", "7")
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def same_answers(target):
            target.compare({"orderId": "ORD-1"}, ignore=["/version"])
    """)
    hook()
    assert_reported(aws, "Succeeded")
    assert sorted((r.function, r.query["Qualifier"]) for r in aws.calls("Invoke")) == [("orders", "6"), ("orders", "7")]


# -- IAM: what hookkit asks an operator to grant is what the template grants --------------------


def test_every_permission_hookkit_names_is_granted_by_the_template_and_nothing_else() -> None:
    """The fault suite checks each IAM message names its action and resource; here, those actions are
    the template's, no more (tests/test_template.py checks each one's resource scope)."""
    named = {reporting.ACTION, target.INVOKE_ACTION, *discovery.READ_ACTIONS, "cloudformation:DescribeStacks"}
    template, errors = decode_str((ROOT / "template.yaml").read_text())
    assert not errors
    granted: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Action":
                    granted.update([value] if isinstance(value, str) else value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(template["Resources"])
    assert granted == named


# -- files are data, never code --------------------------------------------------------------------

TAGS = [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
    "!!python/name:os.system",
]


@pytest.mark.parametrize("tag", TAGS)
def test_an_appspec_with_object_tags_is_refused_and_runs_nothing(hook: Hook, aws: AwsStandIn, hook_log: HookLog,
                                                                 tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "pwned"
    aws.deploy(DEPLOYMENT, appspec=textwrap.dedent(f"""\
        Resources:
          - orders:
              Type: AWS::Lambda::Function
              Properties: {{Name: orders, Alias: live, CurrentVersion: 6, TargetVersion: {tag.format(marker=marker)}}}
        """))
    aws.script("ListDeploymentTargets", json_answer({"targetIds": []}))
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def answers(target):
            target.invoke({})
    """)
    hook()
    assert_reported(aws, "Failed")
    assert "appspec: AppSpec: neither JSON nor YAML at line 4" in hook_log.line("check answers: error: ")["message"]
    assert not marker.exists()
    with pytest.raises(ConfigurationError, match="could not determine a constructor for the tag"):
        parse_appspec(f"x: {tag.format(marker=marker)}")


@pytest.mark.parametrize("tag", TAGS)
def test_event_expect_and_template_files_with_object_tags_are_refused(tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "pwned"
    payload = tag.format(marker=marker)
    for name, load, message in [
        ("event.json", load_event, "Expecting value"),
        ("event.expect.json", load_expect, "Expecting value"),
        ("template.yaml", load_template, "invalid YAML"),
    ]:
        path = tmp_path / name
        path.write_text(f"Resources: {payload}\n" if name.endswith(".yaml") else payload)
        with pytest.raises(ConfigurationError, match=message):
            load(path)
    assert not marker.exists()


def test_a_recorded_events_folder_never_imports_its_python_files(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / "events"
    folder.mkdir()
    for name in ("__init__.py", "create_order.py", "create_order.expect.py"):
        (folder / name).write_text(f"open({str(marker)!r}, 'w').close()\n")
    (folder / "create_order.json").write_text('{"orderId": "ORD-1"}')
    (folder / "create_order.expect.json").write_text(json.dumps({"status": 201, "schema": "order.json"}))
    (folder / "order.json").write_text('{"type": "object"}')
    registry = HookRegistry()
    checks = recorded_events(folder, registry=registry)
    assert [c.name for c in checks] == ["events/create_order", "events/order"]
    # a schema named by an expect file is read (as JSON) when the expect file is: a .py one is refused as data
    (folder / "create_order.expect.json").write_text(json.dumps({"status": 201, "schema": "__init__.py"}))
    with pytest.raises(ConfigurationError, match=r"create_order\.expect\.json: schema file .*__init__\.py: line 1"):
        recorded_events(folder, registry=HookRegistry())
    assert not marker.exists()


def test_a_yaml_looking_event_file_is_json_only(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text(yaml.safe_dump({"orderId": "ORD-1"}))  # valid YAML, not JSON
    with pytest.raises(ConfigurationError, match=rf"^event {path}: line 1, column 1: Expecting value"):
        load_event(path)


# -- SECURITY.md points at tests that exist ------------------------------------------------------------


def test_every_test_security_md_names_exists() -> None:
    text = (ROOT / "SECURITY.md").read_text()
    named: list[tuple[str, str | None]] = []
    current = None
    for path, name, continued in re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`|`::(\w+)`", text):
        if path:
            current = path
            named.append((path, name or None))
        else:
            assert current is not None, continued
            named.append((current, continued))
    assert len(named) >= 60
    missing = [f"{path}::{name}" for path, name in named
               if not (ROOT / path).is_file()
               or (name and not re.search(rf"^\s*(?:async )?def {name}\(", (ROOT / path).read_text(), re.M))]
    assert missing == []


def test_a_secret_in_an_exception_ending_a_checks_own_thread_never_reaches_stderr(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog
) -> None:
    """Python prints the traceback of an exception that ends a thread to stderr (CloudWatch): hookkit
    records it against the check, and prints it redacted."""
    hook.env(HOOKKIT_FUNCTION="orders", HOOKKIT_TARGET_VERSION="7")
    hook.checks(f"""
        import threading
        from hookkit import pre_traffic

        @pre_traffic
        def calls_in_a_thread():
            def work():
                raise RuntimeError("GET https://api.example.com/orders?access_token={SECRETS['query_token']} failed; "
                                   "Authorization: Bearer {SECRETS['authorization']}")
            thread = threading.Thread(target=work, name="worker")
            thread.start()
            thread.join()
    """)
    hook()
    assert_reported(aws, "Failed")
    assert "Exception in thread worker:\nTraceback (most recent call last):" in hook.stderr
    assert "RuntimeError: GET https://api.example.com/orders?access_token=[REDACTED] failed; " in hook.stderr
    assert_no_secret(hook.stdout + hook.stderr)
