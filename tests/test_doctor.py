"""hookkit doctor: each wiring mistake found at its line, with its fix, by doctor and by plain cfn-lint.

Each template in tests/fixtures/doctor/ holds one kind of mistake. The line of every finding
expected in it carries ``# expect: ID <words the fix must contain>``, so the expectations sit next
to the mistake and the test reads them from there: the findings must be exactly those, at those
lines. The hooks' code (hooks/) declares checks whose slowest BeforeAllowTraffic one may take
32 s and AfterAllowTraffic one 30 s.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import cfnlint.version
import pytest
from cfnlint.rules import RuleMatch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookkit.ci.cli import main
from hookkit.ci.doctor import RULES_PATH, base, iam, supported_cfn_lint
from hookkit.ci.doctor.model import SERVERLESS_FUNCTION, Finding, SamTemplate, literal_prefix
from hookkit.core.registry import default_registry

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "doctor"
TEMPLATE = ROOT / "template.yaml"
EXPECT = re.compile(r"#\s*expect:\s*(?P<id>[EWI]\d{4})\s+(?P<fix>.+?)\s*$")
FINDING = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<id>[EWI]\d{4}) (?P<message>.*)$")
SEVERITY_BIT = {"E": 2, "W": 4, "I": 8}
#: Rules that read the hooks' code: doctor's own, not in the --append-rules folder.
CODE_RULES = ("E9120", "E9121", "W9122", "W9123")
REPORT = "codedeploy:PutLifecycleEventHookExecutionStatus"


class Expected(NamedTuple):
    line: int
    id: str
    fix: str


class Found(NamedTuple):
    file: str
    line: int
    column: int
    id: str
    message: str


def expectations(template: Path) -> list[Expected]:
    found = []
    for number, text in enumerate(template.read_text().splitlines(), start=1):
        match = EXPECT.search(text)
        if match:
            found.append(Expected(number, match["id"], match["fix"]))
    return found


MISTAKES = sorted(p for p in FIXTURES.glob("*.yaml") if expectations(p))


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[Found], str]:
    """``hookkit doctor ARGS`` in-process: its exit code, its findings, and what it said on stderr."""
    code = main(["doctor", *args])
    out, err = capsys.readouterr()
    findings = []
    for line in out.splitlines():
        match = FINDING.match(line)
        assert match, f"not a finding line: {line!r}"
        findings.append(Found(match["file"], int(match["line"]), int(match["column"]), match["id"], match["message"]))
    return code, findings, err


def copy_fixture(template: Path, folder: Path, *edits: tuple[str, str]) -> Path:
    """A copy of a fixture in ``folder`` with each (old, new) edit made once, its code still found."""
    text = template.read_text().replace("CodeUri: hooks/", f"CodeUri: {FIXTURES / 'hooks'}/")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    copy = folder / template.name
    copy.write_text(text)
    return copy


def fix_of(message: str) -> str:
    assert "(fix: " in message, message
    return message.split("(fix: ", 1)[1]


def test_every_rule_has_a_fixture() -> None:
    ids = {e.id for template in MISTAKES for e in expectations(template)}
    assert ids == {"E9101", "E9102", "E9103", "W9104", "E9105", "E9106", "E9107", "W9108", "E9109", "I9110",
                   "E9111", "E9112", "E9120", "E9121", "W9122", "W9123"}


@pytest.mark.parametrize("template", MISTAKES, ids=lambda p: p.stem)
def test_each_mistake_is_found_at_its_line_with_its_fix(template: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = expectations(template)
    code, findings, _ = doctor(capsys, str(template))
    assert sorted((f.line, f.id) for f in findings) == sorted((e.line, e.id) for e in expected)
    for finding in findings:
        fix = next(e.fix for e in expected if (e.line, e.id) == (finding.line, finding.id))
        assert fix in fix_of(finding.message), finding.message
    bits = 0
    for e in expected:
        bits |= SEVERITY_BIT[e.id[0]]
    assert code == bits


def test_a_clean_template_has_no_findings_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, findings, err = doctor(capsys, str(FIXTURES / "clean.yaml"))
    assert (code, findings) == (0, [])
    assert "2 hook(s) checked (PreTrafficHook, PostTrafficHook): no findings" in err


def test_plain_cfn_lint_reports_the_template_rules_with_the_same_ids_lines_and_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["doctor", "--rules-path"]) == 0
    rules_path = capsys.readouterr().out.strip()
    assert Path(rules_path) == RULES_PATH
    templates = [*MISTAKES, FIXTURES / "clean.yaml"]
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *map(str, templates), "--append-rules", rules_path,
         "--include-checks", "I", "--format", "parseable"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    reported = set()
    for line in done.stdout.splitlines():
        file, start, _, _, _, rule, _ = line.split(":", 6)
        reported.add((Path(file).name, int(start), rule))
    expected = {(t.name, e.line, e.id) for t in templates for e in expectations(t) if e.id not in CODE_RULES}
    assert reported == expected, done.stderr
    bits = 0
    for _, _, rule in expected:
        bits |= SEVERITY_BIT[rule[0]]
    assert done.returncode == bits


def test_an_unreadable_template_is_an_error_as_cfn_lint_makes_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, findings, _ = doctor(capsys, str(FIXTURES / "unreadable.yaml"))
    assert code == 2
    assert [(f.line, f.id) for f in findings] == [(5, "E0000")]
    assert "valid YAML" in fix_of(findings[0].message)


def test_a_missing_template_is_an_error_that_names_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "template.yaml"
    code, findings, _ = doctor(capsys, str(missing))
    assert code == 2
    assert [f.id for f in findings] == ["E0003"]
    assert str(missing) in findings[0].message and "path of your SAM template" in fix_of(findings[0].message)


def test_no_template_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 2
    assert "name a template" in capsys.readouterr().err


def test_without_cfn_lint_doctor_says_what_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "cfnlint.version", None)  # what an absent package looks like to import
    code, findings, err = doctor(capsys, str(FIXTURES / "clean.yaml"))
    assert (code, findings) == (2, [])
    assert "pip install 'hookkit[doctor]'" in err


def test_a_cfn_lint_that_shows_rules_sam_output_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cfnlint.version, "__version__", "1.53.2")
    monkeypatch.delitem(sys.modules, "hookkit.ci.doctor.base")  # as in a process that has not loaded the rules
    code, _, err = doctor(capsys, str(FIXTURES / "no_fallback.yaml"))
    assert code == 2
    assert "cfn-lint >= 1.54, this is 1.53.2" in err
    with pytest.raises(ImportError, match=r"cfn-lint >= 1\.54"):  # what plain cfn-lint shows, loading the rules
        base.require_supported_cfn_lint()


@pytest.mark.parametrize(("version", "supported"), [
    ("1.53.9", False), ("0.87.0", False), ("1.54.0", True), ("1.58.0", True), ("1.100.1", True), ("2.0.0", True),
])
def test_supported_cfn_lint_versions(version: str, supported: bool) -> None:
    assert supported_cfn_lint(version) is supported


def test_a_rule_can_be_ignored_on_the_command_line_or_for_one_resource_in_the_template(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    template = FIXTURES / "no_fallback.yaml"
    assert doctor(capsys, str(template), "--ignore-checks", "W9108")[:2] == (0, [])
    silenced = copy_fixture(template, tmp_path, (
        "    Type: AWS::Serverless::Function\n    Properties:\n      FunctionName",
        "    Type: AWS::Serverless::Function\n    Metadata:\n      cfn-lint:\n        config:\n"
        "          ignore_checks: [W9108]\n    Properties:\n      FunctionName",
    ))
    assert doctor(capsys, str(silenced))[:2] == (0, [])


def test_json_output_is_cfn_lint_s(capsys: pytest.CaptureFixture[str]) -> None:
    template = FIXTURES / "no_fallback.yaml"
    assert main(["doctor", str(template), "--format", "json"]) == 4
    (match,) = json.loads(capsys.readouterr().out)
    assert match["Rule"]["Id"] == "W9108"
    assert match["Location"]["Start"]["LineNumber"] == expectations(template)[0].line


def test_the_checks_module_is_imported_in_a_process_of_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    before = len(default_registry)
    # post_only_checks prints while it is imported; the output must still be findings only
    _, findings, _ = doctor(capsys, str(FIXTURES / "no_phase_checks.yaml"))
    assert [f.id for f in findings] == ["E9121"]
    assert "post_only_checks" not in sys.modules
    assert len(default_registry) == before


# --- the project's own template -----------------------------------------------------------------

def test_template_yaml_passes_doctor(capsys: pytest.CaptureFixture[str]) -> None:
    code, findings, _ = doctor(capsys, str(TEMPLATE))
    assert (code, findings) == (0, [])


def test_template_yaml_lacks_nothing_but_its_fallback_reporter(capsys: pytest.CaptureFixture[str]) -> None:
    _, findings, err = doctor(capsys, str(TEMPLATE))
    assert {f.id for f in findings} <= {"W9108"}
    assert "2 hook(s) checked (OrdersPreTrafficHook, OrdersPostTrafficHook)" in err


@pytest.fixture
def template_with_fallback(tmp_path: Path) -> Path:
    """template.yaml with hookkit.fallback wired to both hooks, as the supervised-hook work will wire it."""
    text = TEMPLATE.read_text().replace("Uri: example_hooks/", f"Uri: {ROOT / 'example_hooks'}/")
    if "hookkit.fallback" not in text:
        wiring = (
            "      DeploymentPreference:\n        Enabled: false\n"
            "      EventInvokeConfig:\n        MaximumRetryAttempts: 2\n        DestinationConfig:\n"
            "          OnFailure:\n            Type: Lambda\n            Destination: !GetAtt HookFallback.Arn\n"
        )
        assert text.count("      DeploymentPreference:\n        Enabled: false\n") == 2
        text = text.replace("      DeploymentPreference:\n        Enabled: false\n", wiring)
        text = text.replace("\n  OrdersHooksPolicy:\n", (
            "\n  HookFallback:\n    Type: AWS::Serverless::Function\n    Properties:\n"
            f"      CodeUri: {ROOT / 'example_hooks' / 'orders' / 'hooks'}/\n      Handler: hookkit.fallback\n"
            "      Layers:\n        - !Ref HookkitLayer\n      Policies:\n        - !Ref OrdersHooksPolicy\n"
            "\n  OrdersHooksPolicy:\n"
        ), 1)
        assert "Handler: hookkit.fallback" in text
    copy = tmp_path / "template.yaml"
    copy.write_text(text)
    return copy


def test_template_yaml_with_its_fallback_wired_passes_every_rule(
    template_with_fallback: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code, findings, err = doctor(capsys, str(template_with_fallback))
    assert (code, findings) == (0, [])
    assert "2 hook(s) checked (OrdersPreTrafficHook, OrdersPostTrafficHook): no findings" in err


# --- reading the template -------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "prefix", "complete"), [
    ("CodeDeployHook_orders", "CodeDeployHook_orders", True),
    ({"Fn::Sub": "CodeDeployHook_${AWS::StackName}"}, "CodeDeployHook_", False),
    ({"Fn::Sub": ["${Start}-pre", {"Start": "CodeDeployHook_orders"}]}, "CodeDeployHook_orders-pre", True),
    ({"Fn::Sub": "${!Literal}hook"}, "${Literal}hook", True),
    ({"Fn::Join": ["", ["CodeDeploy", "Hook_", {"Ref": "AWS::StackName"}]]}, "CodeDeployHook_", False),
    ({"Ref": "HookName"}, "", False),
])
def test_the_known_start_of_a_name(value: Any, prefix: str, complete: bool) -> None:
    assert literal_prefix(value) == (prefix, complete)


def _hook_with(properties: dict[str, Any], **resources: Any) -> SamTemplate:
    return SamTemplate({"Resources": {"Hook": {"Type": SERVERLESS_FUNCTION, "Properties": properties}, **resources}})


@pytest.mark.parametrize(("statement", "allowed"), [
    ({"Effect": "Allow", "Action": "codedeploy:*", "Resource": "*"}, True),
    ({"Effect": "Allow", "Action": ["s3:GetObject", "CodeDeploy:PutLifecycle*"], "Resource": "*"}, True),
    ({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}, True),
    ({"Effect": "Allow", "NotAction": ["codedeploy:*"], "Resource": "*"}, False),
    ({"Effect": "Deny", "Action": "codedeploy:*", "Resource": "*"}, False),
    ({"Effect": "Allow", "Action": "codedeploy:GetDeployment", "Resource": "*"}, False),
])
def test_a_statement_allows_an_action_as_iam_matches_it(statement: dict[str, Any], allowed: bool) -> None:
    grant = iam.role_allows(_hook_with({"Policies": [{"Statement": [statement]}]}), "Hook", REPORT)
    assert (grant.allowed, grant.missing) == (allowed, not allowed)


ALLOW_REPORT = {"Effect": "Allow", "Action": REPORT, "Resource": "*"}


@pytest.mark.parametrize(("deny", "answer"), [
    ({"Effect": "Deny", "Action": "codedeploy:*", "Resource": "*"}, "missing"),
    ({"Effect": "Deny", "Action": ["s3:*", "CodeDeploy:PutLifecycle*"], "Resource": ["*"]}, "missing"),
    ({"Effect": "Deny", "NotAction": "lambda:*", "Resource": "*"}, "missing"),
    ({"Effect": "Deny", "NotAction": ["codedeploy:*"], "Resource": "*"}, "allowed"),
    ({"Effect": "Deny", "Action": "codedeploy:GetDeployment", "Resource": "*"}, "allowed"),
    ({"Effect": "Deny", "Action": {"Fn::Split": [",", {"Ref": "Denied"}]}, "Resource": "*"}, "unknown"),
    ({"Effect": "Deny", "Action": "codedeploy:*", "Resource": "*",
      "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}, "unknown"),
    ({"Effect": "Deny", "Action": "codedeploy:*", "Resource": "arn:aws:codedeploy:eu-west-1:1:application:x"},
     "unknown"),
])
def test_an_explicit_deny_wins_over_any_allow(deny: dict[str, Any], answer: str) -> None:
    for policies in (
        [{"Statement": [ALLOW_REPORT, deny]}],  # the Deny after the Allow, in one document
        [{"Statement": [deny]}, {"Statement": [ALLOW_REPORT]}],  # or in a document of its own before it
    ):
        grant = iam.role_allows(_hook_with({"Policies": policies}), "Hook", REPORT)
        found = "allowed" if grant.allowed else "missing" if grant.missing else "unknown"
        assert found == answer, policies
        assert grant.denied == (answer == "missing")
    attached = {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "HookRole"}],
                                                            "PolicyDocument": {"Statement": [deny]}}}
    grant = iam.role_allows(_hook_with({"Policies": [{"Statement": [ALLOW_REPORT]}]}, Denies=attached), "Hook", REPORT)
    assert ("allowed" if grant.allowed else "missing" if grant.missing else "unknown") == answer


def test_a_policy_doctor_cannot_read_makes_the_answer_unknown_rather_than_no() -> None:
    grant = iam.role_allows(_hook_with({"Policies": [
        "AWSLambdaBasicExecutionRole", "AWSLambdaRole", {"NoSuchPolicy": {"TableName": "orders"}},
        {"Ref": "ExtraPolicyArn"},
    ]}), "Hook", REPORT)
    assert not grant.allowed and not grant.missing
    assert grant.unreadable == (
        "managed policy AWSLambdaRole", "SAM policy template NoSuchPolicy, which is not one SAM knows",
        "a managed policy named by an intrinsic function",
    )
    outside = iam.role_allows(_hook_with({"Role": "arn:aws:iam::123456789012:role/hooks"}), "Hook", REPORT)
    assert outside.unreadable and not outside.missing
    assert iam.role_allows(_hook_with({"Policies": "AWSLambdaBasicExecutionRole"}), "Hook", REPORT).missing


def test_sam_policy_templates_are_read_as_sam_expands_them() -> None:
    invoke = {"Policies": [{"LambdaInvokePolicy": {"FunctionName": {"Ref": "Orders"}}}]}
    assert iam.role_allows(_hook_with(invoke), "Hook", "lambda:InvokeFunction").allowed
    assert iam.role_allows(_hook_with(invoke), "Hook", REPORT).missing  # read, and it grants no report
    read = {"Policies": [{"DynamoDBReadPolicy": {"TableName": "orders"}}, {"Statement": [ALLOW_REPORT]}]}
    assert iam.role_allows(_hook_with(read), "Hook", REPORT).allowed


def test_without_aws_sam_translator_a_sam_policy_template_is_one_doctor_cannot_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_installed(_: str) -> Any:
        raise ModuleNotFoundError("No module named 'samtranslator'")

    monkeypatch.setattr(iam.resources, "files", not_installed)
    assert iam.sam_policy_templates.__wrapped__() is None
    monkeypatch.setattr(iam, "sam_policy_templates", lambda: None)
    grant = iam.role_allows(_hook_with({"Policies": [{"LambdaInvokePolicy": {"FunctionName": "orders"}}]}),
                            "Hook", "lambda:InvokeFunction")
    assert not grant.missing
    assert grant.unreadable == ("SAM policy template LambdaInvokePolicy (doctor reads them with aws-sam-translator, "
                                "which is not installed: pip install aws-sam-translator)",)


def test_a_hook_granted_by_sam_policy_templates_passes_doctor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    inline = (
        '        - Version: "2012-10-17"\n          Statement:\n            - Effect: Allow\n'
        '              Action: lambda:InvokeFunction\n              Resource: !Sub "${Orders.Arn}:*"\n'
    )
    template = copy_fixture(FIXTURES / "clean.yaml", tmp_path,
                            (inline, "        - LambdaInvokePolicy:\n            FunctionName: !Ref Orders\n"))
    assert doctor(capsys, str(template))[:2] == (0, [])


def test_a_role_of_the_template_and_policies_attached_to_roles_are_read() -> None:
    allow = {"Statement": [{"Effect": "Allow", "Action": REPORT, "Resource": "*"}]}
    role = {"Type": "AWS::IAM::Role", "Properties": {"ManagedPolicyArns": [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]}}
    uses_role = {"Role": {"Fn::GetAtt": ["HooksRole", "Arn"]}}
    assert iam.role_allows(_hook_with(uses_role, HooksRole=role), "Hook", REPORT).missing
    attached = {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "HooksRole"}], "PolicyDocument": allow}}
    assert iam.role_allows(_hook_with(uses_role, HooksRole=role, Attached=attached), "Hook", REPORT).allowed
    sam_role = _hook_with({}, Attached={"Type": "AWS::IAM::ManagedPolicy", "Properties": {
        "Roles": [{"Ref": "HookRole"}], "PolicyDocument": allow}})  # SAM names the hook's role HookRole
    assert iam.role_allows(sam_role, "Hook", REPORT).allowed


@pytest.mark.parametrize(("actions", "found"), [
    (["codedeploy:ListDeploymentTargets", "codedeploy:BatchGetDeploymentTargets"], []),  # one way to look it up
    (["codedeploy:GetDeployment", "codedeploy:GetApplicationRevision"], []),  # the other
    (["codedeploy:GetDeployment", "codedeploy:ListDeploymentTargets"], ["E9112", "E9112"]),  # half of each
    (["codedeploy:*"], []),
])
def test_a_hook_that_asks_codedeploy_needs_one_complete_way_to_read_the_deployment(
    actions: list[str], found: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    statement = (
        "            Action: codedeploy:PutLifecycleEventHookExecutionStatus\n",
        "            Action: [codedeploy:PutLifecycleEventHookExecutionStatus, " + ", ".join(actions) + "]\n",
    )
    template = copy_fixture(FIXTURES / "hook_discovery_permission.yaml", tmp_path, statement)
    _, findings, _ = doctor(capsys, str(template))
    assert [f.id for f in findings] == found


def test_the_discovery_rule_knows_every_action_discovery_uses() -> None:
    from hookkit.ci.doctor.rules import hook_discovery_permission
    from hookkit.hook.discovery import READ_ACTIONS

    pairs = hook_discovery_permission.LOOKUPS
    assert sorted(action for pair in pairs for action in pair) == sorted(READ_ACTIONS)


# --- the README ---------------------------------------------------------------------------------

def _readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("### Catch wiring mistakes before deploying: hookkit doctor", 1)[1].split("\n## ", 1)[0]


def test_the_readme_lists_every_rule_doctor_runs() -> None:
    from cfnlint.rules import Rules

    from hookkit.ci.doctor import CODE_RULES_PATH

    ids = {rule for folder in (RULES_PATH, CODE_RULES_PATH) for rule in Rules.create_from_directory(str(folder))}
    assert set(re.findall(r"^\| ([EWI]\d{4}) \|", _readme_section(), re.M)) == ids


def test_the_readme_example_finding_is_what_doctor_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (example,) = re.findall(r"^template\.yaml:\d+:\d+: .*$", _readme_section(), re.M)
    copy = tmp_path / "template.yaml"
    text = TEMPLATE.read_text().replace("Uri: example_hooks/", f"Uri: {ROOT / 'example_hooks'}/")
    copy.write_text(text.replace("      Timeout: 120\n", "      Timeout: 20\n", 1))
    _, findings, _ = doctor(capsys, str(copy))
    assert example in [f"template.yaml:{f.line}:{f.column}: {f.id} {f.message}" for f in findings]


# --- any template -------------------------------------------------------------------------------

_names = st.sampled_from(["Orders", "Hook", "Other", "HookRole", "ServerlessRestApi", "OrdersAliaslive", "Param"])
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12)
_intrinsics = st.one_of(
    st.builds(lambda n: {"Ref": n}, _names | st.sampled_from(["Orders.Version", "Orders.Alias", "AWS::StackName"])),
    st.builds(lambda n, a: {"Fn::GetAtt": [n, a]}, _names, st.sampled_from(["Arn", "Version.Version", "Version"])),
    st.builds(lambda s: {"Fn::Sub": s}, st.sampled_from(["CodeDeployHook_${AWS::StackName}", "${ServerlessRestApi}",
                                                          "${Orders.Version}", "${!x}", "${", "x"])),
    st.builds(lambda s, v: {"Fn::Sub": [s, v]}, st.text(max_size=20), st.dictionaries(st.text(max_size=5), _scalars)),
    st.builds(lambda d, items: {"Fn::Join": [d, items]}, _scalars, st.lists(_scalars | _names, max_size=3)),
    st.builds(lambda v: {"Fn::If": ["Cond", v, v]}, _scalars),
)
_values = st.recursive(
    _scalars | _intrinsics,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_statement = st.fixed_dictionaries({}, optional={"Effect": _values | st.just("Allow"), "Action": _values,
                                                 "NotAction": _values, "Resource": _values})
_policies = st.lists(_values | st.builds(lambda s: {"Statement": s}, st.lists(_statement, max_size=2) | _values)
                     | st.builds(lambda n: {"Ref": n}, _names), max_size=3) | _values
_variables = st.dictionaries(
    st.sampled_from(["HOOKKIT_CHECKS", "HOOKKIT_PHASE", "HOOKKIT_TARGET_VERSION", "HOOKKIT_CURRENT_VERSION",
                     "HOOKKIT_REPORT_RESERVE_MS", "OTHER"]), _values, max_size=4)
_function = st.fixed_dictionaries({}, optional={
    "FunctionName": _values, "Handler": st.sampled_from(["hookkit.handler", "hookkit.fallback"]) | _values,
    "Timeout": _values, "Policies": _policies, "Role": _values, "CodeUri": _values, "Layers": _values,
    "Environment": st.builds(lambda v: {"Variables": v}, _variables) | _values,
    "EventInvokeConfig": st.builds(lambda d: {"DestinationConfig": {"OnFailure": {"Destination": d}}}, _values)
    | _values,
    "DeploymentPreference": st.builds(lambda e, h: {"Enabled": e, "Hooks": h}, _values, _values) | _values,
    "AutoPublishAlias": _values, "FunctionUrlConfig": _values,
    "Events": st.dictionaries(st.text(max_size=5), st.builds(lambda t, p: {"Type": t, "Properties": p},
                              st.sampled_from(["Api", "HttpApi", "SQS"]) | _values, _values), max_size=2) | _values,
})
_types = st.sampled_from([SERVERLESS_FUNCTION, "AWS::Lambda::Function", "AWS::IAM::Role", "AWS::IAM::ManagedPolicy",
                          "AWS::IAM::Policy", "AWS::Serverless::LayerVersion"]) | _values


@pytest.mark.property
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(guarded=_function, hook=_function, hook_type=_types, other=_values, other_type=_types,
       hooks=st.dictionaries(st.sampled_from(["PreTraffic", "PostTraffic", "Other"]), _values | _intrinsics)
       | _values, globals_=_function | _values)
def test_any_template_gives_findings_never_an_exception(
    guarded: dict[str, Any], hook: dict[str, Any], hook_type: Any, other: Any, other_type: Any, hooks: Any,
    globals_: Any,
) -> None:
    """A rule that raised would show up as cfn-lint's E0002 and exit code 2 instead of the findings."""
    guarded = {**guarded, "DeploymentPreference": {"Hooks": hooks, **({"Role": "x"} if "Role" in guarded else {})}}
    template = {"Globals": {"Function": globals_}, "Parameters": {"Param": {"Type": "Number", "Default": "60"}},
                "Resources": {"Orders": {"Type": SERVERLESS_FUNCTION, "Properties": guarded},
                              "Hook": {"Type": hook_type, "Properties": hook},
                              "Other": {"Type": other_type, "Properties": other}}}
    cfn = _Template(template)
    view = base.TemplateView.of(cfn)
    for rule in _all_rules():
        found = rule.findings(view) if hasattr(rule, "findings") else rule.match(cfn)
        for finding in found:
            assert isinstance(finding, (Finding, RuleMatch))


class _Template:
    """What the rules read of cfn-lint's Template; no file, so no checks module is imported."""

    filename = None

    def __init__(self, template: dict[str, Any]) -> None:
        self.template = template


@functools.cache
def _all_rules() -> list[Any]:
    from cfnlint.rules import Rules

    from hookkit.ci.doctor import CODE_RULES_PATH

    folders = (RULES_PATH, CODE_RULES_PATH)
    return [rule for folder in folders for rule in Rules.create_from_directory(str(folder)).values()]


def test_a_template_without_hooks_is_a_usage_error_not_a_clean_pass(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Exit 0 would tell CI the hooks are wired right when doctor checked none (the wrong template, say)."""
    template = tmp_path / "template.yaml"
    template.write_text(
        'Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n'
        '    Properties:\n      CodeUri: src/\n      Handler: app.handler\n      Runtime: python3.12\n'
    )
    code, findings, err = doctor(capsys, str(template))
    assert (code, findings) == (2, [])
    assert f"hookkit doctor: error: {template}: no hooks to check" in err
    assert "DeploymentPreference" in err and "Hooks" in err and "PreTraffic" in err
    code, _, _ = doctor(capsys, str(template), str(FIXTURES / "clean.yaml"))
    assert code == 2  # one template with hooks does not make up for another without
