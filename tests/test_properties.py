"""Any input from outside gives a value or hookkit's own error: never a crash, never a stray exception.

The hook reads what it does not control: the event Lambda delivers, CodeDeploy's answers and the
AppSpec inside them, the new version's answers, recorded events and expect files from a repository,
SAM templates, and its own environment. Each parser is fed generated input here; ``make test``
runs 200 examples per property, ``make fuzz`` 10,000 (see tests/conftest.py). The other property
tests of these parsers live next to their unit tests (test_appspec, test_eventfiles, test_sam,
test_handler); all are marked ``property``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookkit import HookkitError, HookRegistry, Phase
from hookkit.checks.eventfiles import ExpectSpec, discover_events, load_event, load_expect
from hookkit.checks.expect import Observed, differences, observe_http, observe_invocation
from hookkit.checks.invocation import Invocation
from hookkit.checks.recorded import recorded_events
from hookkit.checks.smoke import Api
from hookkit.core.deployment import Deployment, EcsTarget, LambdaTarget
from hookkit.hook.appspec import AppSpec, parse_appspec
from hookkit.hook.clients import Clients
from hookkit.hook.discovery import discover
from hookkit.hook.event import HookEvent, parse_event
from hookkit.hook.handler import HookHandler
from hookkit.local.context import LocalContext
from hookkit.local.sam import FunctionSpec, function_spec, load_template
from hookkit.testing import FakeCodeDeploy

pytestmark = pytest.mark.property
SCRATCH = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def value_or_own_error(parse: Any, *args: Any, **kwargs: Any) -> Any:
    """``parse(...)``'s value, or ``None`` when it refused with one of hookkit's errors (which must say something)."""
    try:
        return parse(*args, **kwargs)
    except HookkitError as exc:
        assert str(exc).strip()
        return None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the examples write into (function-scoped tmp_path is shared by all examples anyway)."""
    return tmp_path_factory.mktemp("properties")


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
    return path


# -- building blocks ---------------------------------------------------------------------------

SCALARS = (
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=16)
    | st.sampled_from(["", " ", "$LATEST", "7", "live", "orders", "orders:7", "0", "-1", "1e3", "null"])
)
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)
# YAML's corners, as text: tags (CloudFormation's and Python's), anchors, aliases, merge keys,
# several documents, flow and block styles, odd scalars.
YAML_FRAGMENTS = st.sampled_from([
    "Resources:", "  - fn:", "      Type: AWS::Lambda::Function", "      Properties:", "        Name: orders",
    "        TargetVersion: 7", "        CurrentVersion: '6'", "        Alias: live", "Hooks:",
    "  - BeforeAllowTraffic: CodeDeployHook_x", "x: &anchor {a: 1}", "y: *anchor", "z: *missing", "<<: *anchor",
    "v: !Ref Thing", "v: !GetAtt [A, B]", "v: !Sub '${X}'", "v: !!python/object/apply:os.system ['true']",
    "v: !!python/name:os.system", "v: !custom 1", "v: !!binary aGVsbG8=", "v: !!set {a, b}", "v: !!omap [a: 1]",
    "v: 2001-02-30", "v: 0x1F", "v: 1_000", "v: .inf", "v: ~", "v: |", "  text", "---", "...", "- [1, {a: b}]",
    "\t- tab", "key with spaces: [unclosed", '"quoted": "\\u00e9"', "? complex key", ": value", "%YAML 1.1",
    "%TAG !e! tag:example.com,2000:", "v: !e!thing 1", "v: " + "1" * 5000,
])
YAML_TEXT = st.lists(st.tuples(st.sampled_from(["", "  ", "    "]), YAML_FRAGMENTS), max_size=12).map(
    lambda lines: "\n".join(indent + line for indent, line in lines)
)


def nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


DEPTHS = st.integers(min_value=1, max_value=20_000)
# PyYAML's scanner is quadratic in the depth of flow collections: around Python's recursion limit
# is where parsers break, and enough to show that they break cleanly.
YAML_DEPTHS = st.sampled_from([1, 2, 50, 500, 999, 1001])


# -- hook events ---------------------------------------------------------------------------------

IDS = st.sampled_from(["DeploymentId", "LifecycleEventHookExecutionId"])
EVENTS = JSON | st.dictionaries(
    IDS | st.text(max_size=10), JSON | st.text(max_size=20), max_size=5
) | st.fixed_dictionaries(
    {"DeploymentId": st.text(max_size=20), "LifecycleEventHookExecutionId": st.text(max_size=20)},
    optional={"extra": JSON},
)


@given(EVENTS)
def test_any_event_gives_two_ids_or_an_event_error(event: Any) -> None:
    parsed = value_or_own_error(parse_event, event)
    if parsed is not None:
        assert isinstance(parsed, HookEvent)
        assert parsed.deployment_id == event["DeploymentId"].strip() != ""
        assert parsed.execution_id == event["LifecycleEventHookExecutionId"].strip() != ""


@SCRATCH
@given(EVENTS)
def test_any_event_delivered_to_the_handler_is_reported_once_or_refused_without_a_report(event: Any) -> None:
    registry = HookRegistry()
    registry.pre_traffic(lambda: None, name="passes")
    reports = FakeCodeDeploy()
    handler = HookHandler(registry, phase="pre", clients=Clients(codedeploy=reports), reserve_ms=100,
                          environ={"POWERTOOLS_METRICS_DISABLED": "true"}, isolation="thread")
    summary = handler(event, LocalContext(timeout_s=10))
    try:
        ids = parse_event(event)
    except HookkitError:
        assert reports.reports == [] and summary["reported"] is False
    else:
        assert [(c["deploymentId"], c["lifecycleEventHookExecutionId"], c["status"]) for c in reports.reports] == [
            (ids.deployment_id, ids.execution_id, "Succeeded")]


# -- AppSpecs -----------------------------------------------------------------------------------


@given(YAML_TEXT)
def test_any_yaml_an_appspec_may_hold_gives_an_appspec_or_a_configuration_error(text: str) -> None:
    spec = value_or_own_error(parse_appspec, text)
    assert spec is None or isinstance(spec, AppSpec)
    if spec is not None and isinstance(spec.target, LambdaTarget):
        assert spec.target.target_version.isdigit()


@given(YAML_DEPTHS, st.sampled_from([("[", "]"), ("{a: ", "}"), ('{"a": ', "}"), ("- ", "")]))
def test_an_appspec_nested_arbitrarily_deep_is_refused_cleanly(depth: int, brackets: tuple[str, str]) -> None:
    assert value_or_own_error(parse_appspec, nested(depth, *brackets)) is None


def test_an_appspec_of_exponentially_many_aliases_is_read_without_expanding_them() -> None:
    laughs = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    with pytest.raises(HookkitError, match="AppSpec: no Resources"):
        parse_appspec("\n".join(laughs))


# -- CodeDeploy's answers (the AppSpec among them) ----------------------------------------------

VERSIONS = st.none() | st.sampled_from(["7", "$LATEST", "live", "", "07", "1.0", " 8 "]) | st.text(max_size=6)
LIFECYCLE = st.fixed_dictionaries({}, optional={
    "lifecycleEventName": st.sampled_from([p.value for p in Phase] + ["AllowTraffic", "Install"]) | st.text(max_size=6),
    "status": st.sampled_from(["Pending", "InProgress", "Succeeded", "Failed"]) | st.text(max_size=6),
})
LAMBDA_TARGET = st.fixed_dictionaries({}, optional={
    "lifecycleEvents": st.lists(LIFECYCLE, max_size=4),
    "lambdaFunctionInfo": st.fixed_dictionaries({}, optional={
        "functionName": st.none() | st.sampled_from(["orders", "", "orders:live"]) | st.text(max_size=8),
        "functionAlias": st.none() | st.text(max_size=6),
        "currentVersion": VERSIONS, "targetVersion": VERSIONS,
    }),
})
TARGETS = st.lists(st.fixed_dictionaries({}, optional={
    "lambdaTarget": LAMBDA_TARGET,
    "ecsTarget": st.fixed_dictionaries({}, optional={"lifecycleEvents": st.lists(LIFECYCLE, max_size=2)}),
}), max_size=4)
CODEDEPLOY_FAILURES = st.sampled_from(
    [None, "AccessDeniedException", "ThrottlingException", "DeploymentDoesNotExistException"]
)


class CodeDeploy:
    """A CodeDeploy client answering the read calls with generated (shape-valid) data or errors."""

    def __init__(self, ids: list[str], targets: list[dict[str, Any]], deployment: dict[str, Any],
                 revision: dict[str, Any], failures: dict[str, str | None]) -> None:
        self.ids, self.targets, self.deployment, self.revision, self.failures = (
            ids, targets, deployment, revision, failures
        )

    def _maybe_fail(self, operation: str) -> None:
        code = self.failures.get(operation)
        if code:
            raise ClientError({"Error": {"Code": code, "Message": f"{code} on resource: arn:aws:x"}}, operation)

    def get_paginator(self, name: str) -> Any:
        client = self

        class Pages:
            def paginate(self, **_: Any) -> Any:
                client._maybe_fail("ListDeploymentTargets")
                return [{"targetIds": client.ids}]

        return Pages()

    def batch_get_deployment_targets(self, **_: Any) -> dict[str, Any]:
        self._maybe_fail("BatchGetDeploymentTargets")
        return {"deploymentTargets": self.targets}

    def get_deployment(self, **_: Any) -> dict[str, Any]:
        self._maybe_fail("GetDeployment")
        return {"deploymentInfo": self.deployment}

    def get_application_revision(self, **_: Any) -> dict[str, Any]:
        self._maybe_fail("GetApplicationRevision")
        return {"revision": self.revision}


APPSPEC_CONTENT = st.none() | YAML_TEXT | JSON.map(json.dumps) | st.builds(
    lambda props, hooks: yaml.safe_dump({"Resources": [{"fn": {"Type": "AWS::Lambda::Function", "Properties": props}}],
                                         "Hooks": hooks}),
    st.dictionaries(st.sampled_from(["Name", "Alias", "TargetVersion", "CurrentVersion"]), SCALARS, max_size=4),
    st.lists(st.dictionaries(st.sampled_from([p.value for p in Phase] + ["Nope"]), SCALARS, max_size=1), max_size=3),
)


@SCRATCH
@given(
    ids=st.lists(st.text(min_size=1, max_size=6), max_size=3),
    targets=TARGETS,
    deployment=st.fixed_dictionaries({}, optional={
        "applicationName": st.none() | st.text(max_size=6),
        "revision": st.fixed_dictionaries(
            {}, optional={"revisionType": st.sampled_from(["AppSpecContent", "String", "S3"])}
        ),
    }),
    kind=st.sampled_from(["appSpecContent", "string", "s3Location"]),
    content=APPSPEC_CONTENT,
    failures=st.dictionaries(st.sampled_from(["ListDeploymentTargets", "BatchGetDeploymentTargets", "GetDeployment",
                                              "GetApplicationRevision"]), CODEDEPLOY_FAILURES),
    phase=st.none() | st.sampled_from(list(Phase)),
    hook_name=st.none() | st.sampled_from(
        ["CodeDeployHook_x", "arn:aws:lambda:us-east-1:1:function:CodeDeployHook_x:3"]
    ),
)
def test_any_codedeploy_answer_gives_a_deployment_or_a_discovery_error(
    ids: list[str], targets: list[dict[str, Any]], deployment: dict[str, Any], kind: str, content: str | None,
    failures: dict[str, str | None], phase: Phase | None, hook_name: str | None,
) -> None:
    revision = {kind: {} if content is None else {"content": content}}
    client = CodeDeploy(ids, targets, deployment, revision, failures)
    found = value_or_own_error(discover, "d-1", "e-1", codedeploy=lambda: client, environ={}, phase=phase,
                               hook_function_name=hook_name)
    if found is not None:
        assert isinstance(found, Deployment) and found.source in ("deployment-targets", "appspec")
        assert isinstance(found.target, (LambdaTarget, EcsTarget))
        if isinstance(found.target, LambdaTarget):
            assert found.target.target_version.isdigit()


# -- the hook's own settings (environment variables) --------------------------------------------


@given(st.text(max_size=30))
def test_any_phase_setting_gives_a_phase_or_a_configuration_error(text: str) -> None:
    parsed = value_or_own_error(Phase.parse, text, source="HOOKKIT_PHASE")
    assert parsed is None or isinstance(parsed, Phase)


@given(function=VERSIONS, version=VERSIONS, current=VERSIONS, alias=VERSIONS)
def test_any_target_setting_gives_a_deployment_or_hookkits_error(function: str | None, version: str | None,
                                                                 current: str | None, alias: str | None) -> None:
    environ = {name: value for name, value in {"HOOKKIT_FUNCTION": function, "HOOKKIT_TARGET_VERSION": version,
                                               "HOOKKIT_CURRENT_VERSION": current, "HOOKKIT_ALIAS": alias}.items()
               if value is not None}
    client = CodeDeploy([], [], {}, {}, {"ListDeploymentTargets": "AccessDeniedException",
                                         "GetDeployment": "AccessDeniedException"})
    found = value_or_own_error(discover, "d-1", "e-1", codedeploy=lambda: client, environ=environ,
                               phase=Phase.BEFORE_ALLOW_TRAFFIC)
    if found is not None:
        assert found.source == "environment" and found.target.target_version.isdigit()


@given(st.text(max_size=60))
def test_any_api_url_setting_gives_an_api_or_a_configuration_error(url: str) -> None:
    api = value_or_own_error(Api.from_environment, {"HOOKKIT_API_URL": url}, timeout=1)
    if api is not None:
        assert api.base_url == url.strip()
        api.close()


@given(st.text(max_size=12), st.floats(min_value=0, max_value=900))
def test_any_report_reserve_setting_leaves_a_deadline_before_the_lambdas_end(raw: str, seconds: float) -> None:
    handler = HookHandler(HookRegistry(), phase="pre", clients=Clients(codedeploy=FakeCodeDeploy()),
                          environ={"HOOKKIT_REPORT_RESERVE_MS": raw})
    lambda_end, deadline = handler._budget(LocalContext(timeout_s=seconds), started=0.0)
    assert 0.0 <= lambda_end - deadline <= lambda_end / 2 + 1e-9


# -- the new version's answers ------------------------------------------------------------------

PAYLOADS = (
    st.binary(max_size=300)
    | JSON.map(lambda v: json.dumps(v).encode())
    | st.builds(
        lambda status, body, b64: json.dumps({"statusCode": status, "body": body, "isBase64Encoded": b64}).encode(),
        st.integers(-5, 10**6) | st.text(max_size=4), st.text(max_size=40) | JSON.map(json.dumps), st.booleans(),
    )
    | DEPTHS.map(lambda d: nested(d).encode())
)


@given(PAYLOADS, st.none() | st.sampled_from(["Unhandled", "Handled", ""]), st.integers(0, 599))
def test_any_lambda_answer_gives_differences_as_data(payload: bytes, function_error: str | None, status: int) -> None:
    observed = observe_invocation("invoke orders:7", Invocation(status, payload, function_error))
    assert isinstance(observed, Observed)
    found = differences(observed, status=200, schema={"type": "object", "required": ["orderId"]},
                        fields={"/orderId": "ORD-1"}, within_ms=1000)
    assert {d.path for d in found} <= {"function_error", "status", "body", "", "/orderId", "duration_ms"}
    status = [d.actual for d in found if d.path == "status"]
    # a function error is its own difference; otherwise any answer but a proxy 200 is a status difference
    assert bool(status) == (not function_error and observed.status != 200)
    if status and observed.status is None:  # never Lambda's own 200: what came back, in words
        assert status[0].startswith("no API Gateway proxy response: the function answered") or status[0].startswith(
            "no API Gateway proxy response: its statusCode is ")
    if observed.status is not None:
        assert observed.status == json.loads(payload)["statusCode"]


@given(st.binary(max_size=300), st.none() | st.text(max_size=40) | st.sampled_from(
    ["application/json; charset=utf-16", "text/html; charset=bogus", 'application/json; charset="',
     "application/json"]))
def test_any_http_answer_gives_differences_as_data(content: bytes, content_type: str | None) -> None:
    observed = observe_http("GET /orders", 200, content, content_type, 12.0)
    assert isinstance(differences(observed, status=201, schema={"type": "object"}), list)


# -- recorded events and expect files -----------------------------------------------------------


@SCRATCH
@given(st.text() | st.binary(max_size=300), st.sampled_from(["", "\ufeff"]),
       st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_any_event_file_gives_a_value_or_a_configuration_error(scratch: Path, text: str | bytes, bom: str,
                                                             encoding: str) -> None:
    data = text if isinstance(text, bytes) else (bom + text).encode(encoding, "replace")
    value_or_own_error(load_event, write(scratch / "event.json", data))


@SCRATCH
@given(DEPTHS, st.sampled_from([("[", "]"), ('{"a":', "}")]), st.integers(1, 6000))
def test_deep_or_huge_event_files_are_refused_cleanly(scratch: Path, depth: int, brackets: tuple[str, str],
                                                      digits: int) -> None:
    value_or_own_error(load_event, write(scratch / "deep.json", nested(depth, *brackets)))
    value_or_own_error(load_event, write(scratch / "digits.json", "1" * digits))
    value_or_own_error(load_event, write(scratch / "dup.json", f'{{"a": 1, "a": {digits}}}'))


EXPECT_VALUES = JSON | st.sampled_from([[], [99], [200, 700], {"/a~2": 1}, {"a..b": 1}, {"": 1}, {"/": 1}, 0, -1,
                                        1e308, True, "ValueError", " "])


@SCRATCH
@given(st.dictionaries(st.sampled_from(["status", "schema", "fields", "within_ms", "function_error", "stats"]) |
                       st.text(max_size=6), EXPECT_VALUES, max_size=5))
def test_any_expect_file_gives_a_spec_or_a_configuration_error(scratch: Path, data: dict[str, Any]) -> None:
    spec = value_or_own_error(load_expect, write(scratch / "x.expect.json", json.dumps(data)))
    assert spec is None or isinstance(spec, ExpectSpec)


NAMES = st.sampled_from(["a", "b", "create_order", ".hidden", "x.y", "__init__", "événement"])
SUFFIXES = st.sampled_from([".json", ".expect.json", ".py", ".yaml", ".expect.json.bak", ""])
CONTENTS = st.sampled_from(['{"orderId": "ORD-1"}', '{"status": 201}', '{"statsu": 201}', "[1, 2", "", "null",
                            '{"schema": "missing.json"}', '{"fields": {"a..b": 1}}', "\udcff"])


@SCRATCH
@given(st.dictionaries(st.tuples(NAMES, SUFFIXES), CONTENTS, max_size=6))
def test_any_events_folder_gives_checks_or_hookkits_error(files: dict[tuple[str, str], str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for (name, suffix), content in files.items():
            write(root / f"{name}{suffix}", content)
        listed = value_or_own_error(discover_events, root)
        checks = value_or_own_error(recorded_events, root, registry=HookRegistry())
        if listed is not None and checks is not None:
            assert [c.name for c in checks] == [f"{Path(folder).name}/{name}" for name, _, _ in listed]


# -- SAM templates ------------------------------------------------------------------------------


@SCRATCH
@given(st.text() | st.binary(max_size=300) | YAML_TEXT | JSON.map(json.dumps) | YAML_DEPTHS.map(nested)
       | DEPTHS.map(lambda d: nested(d, '{"a": ', "}")))
def test_any_template_file_gives_a_mapping_or_a_configuration_error(scratch: Path, content: str | bytes) -> None:
    template = value_or_own_error(load_template, write(scratch / "template.yaml", content))
    assert template is None or isinstance(template, dict)


INTRINSIC_TAGS = st.sampled_from(["!Ref", "!GetAtt", "!Sub", "!Join", "!Select", "!Split", "!If", "!Equals", "!Not",
                                  "!FindInMap", "!Base64", "!Condition", "!ImportValue", "!GetAZs", "!Cidr",
                                  "!Unknown", "!!str", "!!python/tuple"])
TAG_ARGUMENTS = st.sampled_from(["Stage", "Fn.Arn", "Fn.Version.Version", "'${Stage}-x'", "[a, b]", "[',', [a, b]]",
                                 "[0, [a]]", "{a: b}", "[C, a, b]", "[M, k, v]", "''", "[]", "AWS::Region"])


@SCRATCH
@given(
    properties=st.lists(st.tuples(st.sampled_from(["CodeUri", "Handler", "Runtime", "Timeout", "MemorySize",
                                                   "FunctionName", "PackageType", "InlineCode", "AutoPublishAlias"]),
                                  st.tuples(INTRINSIC_TAGS, TAG_ARGUMENTS).map(" ".join)
                                  | st.sampled_from([".", "app.handler", "python3.12", "3", "-1", "1.5", "soon",
                                                     "Image", "nodejs20.x", "s3://b/k", "{Bucket: b}", "''",
                                                     '"a\\0b"', "python", "python3.x"])),
                        max_size=8),
    variables=st.lists(st.tuples(st.text(alphabet="ABC_", min_size=1, max_size=3),
                                 st.tuples(INTRINSIC_TAGS, TAG_ARGUMENTS).map(" ".join)), max_size=3),
    event=st.sampled_from(["", "Api", "HttpApi", "SQS"]),
    globals_=st.sampled_from(["", "Globals:\n  Function:\n    Timeout: 9\n    Handler: app.handler\n",
                              "Globals: [1]\n", "Globals:\n  Function: 3\n"]),
)
def test_any_sam_function_gives_a_spec_or_a_configuration_error(
    properties: list[tuple[str, str]], variables: list[tuple[str, str]], event: str, globals_: str,
) -> None:
    lines = ["Parameters:", "  Stage: {Type: String, Default: dev}", "Conditions:", "  C: !Equals [a, a]",
             "Mappings:", "  M: {k: {v: x}}", globals_.rstrip("\n"), "Resources:", "  Fn:",
             "    Type: AWS::Serverless::Function", "    Properties:"]
    lines += [f"      {key}: {value}" for key, value in dict(properties).items()]
    if variables:
        lines += ["      Environment:", "        Variables:"] + [
            f"          {k}: {v}" for k, v in dict(variables).items()
        ]
    if event:
        lines += ["      Events:", "        E:", f"          Type: {event}",
                  "          Properties: {Path: !Sub '/${Stage}/x', Method: get}"]
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "template.yaml", "\n".join(lines) + "\n")
        spec = value_or_own_error(function_spec, path, "Fn")
    if spec is not None:
        assert isinstance(spec, FunctionSpec)
        assert all(isinstance(v, str) for v in spec.environment.values())
        assert spec.timeout > 0 and spec.memory_size > 0


# -- --env-vars files and layers of local targets ------------------------------------------------

ENV_TEMPLATE = """\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: orders-fn
      CodeUri: .
      Handler: app.handler
      Environment:
        Variables: {A: !Ref Table, B: plain, C: 3}
"""
ENV_KEYS = st.sampled_from(["Fn", "orders-fn", "Parameters", "Other", "", "A"]) | st.text(max_size=6)
ENV_FILES = (
    st.text(max_size=60) | st.binary(max_size=60) | JSON.map(json.dumps)
    | st.dictionaries(ENV_KEYS, JSON | st.dictionaries(st.sampled_from(["A", "B", "C", "D"]) | st.text(max_size=4),
                                                       JSON, max_size=4), max_size=4).map(json.dumps)
    | DEPTHS.map(lambda d: nested(d, '{"a": ', "}"))
)


@SCRATCH
@given(content=ENV_FILES, shell=st.dictionaries(st.sampled_from(["A", "B", "C", "PATH"]), st.text(max_size=6)))
def test_any_env_vars_file_gives_a_spec_or_a_configuration_error(scratch: Path, content: str | bytes,
                                                                  shell: dict[str, str]) -> None:
    template = write(scratch / "env-template.yaml", ENV_TEMPLATE)
    env = write(scratch / "env.json", content)
    spec = value_or_own_error(function_spec, template, "Fn", env_vars=env, shell_env=shell)
    if spec is not None:
        assert isinstance(spec, FunctionSpec)
        assert set(spec.environment) == {"A", "B", "C"}  # declared variables only, whatever the file says
        assert all(isinstance(v, str) for v in spec.environment.values())
        assert all(isinstance(w, str) for w in spec.warnings)


LAYER_ENTRIES = st.sampled_from([
    "!Ref Served", "!Ref Plain", "!Ref Missing", "!Ref Unbuilt", "!Ref Table", "!Ref Nowhere", "!Ref Stage",
    "arn:aws:lambda:us-east-1:1:layer:x:1", "!GetAtt App.Outputs.Arn", "!If [C, !Ref Plain, !Ref AWS::NoValue]",
    "!Sub '${Plain}'", "[nested]", "{Ref: Served}", "''", "3",
])
LAYER_CONTENT = st.sampled_from([
    "layers/served", "layers/unbuilt", "layers/missing", "s3://b/k.zip", "{Bucket: b, Key: k}", "!Ref Stage",
    "!GetAtt X.Y", "''", "template.yaml", '"a\\0b"',
])


@SCRATCH
@given(
    entries=st.lists(LAYER_ENTRIES, max_size=4) | st.sampled_from(["", "arn:aws:lambda:x", "{a: 1}"]),
    globals_entries=st.lists(LAYER_ENTRIES, max_size=2),
    contents=st.tuples(LAYER_CONTENT, LAYER_CONTENT, LAYER_CONTENT, LAYER_CONTENT),
    build_method=st.sampled_from(["", "python3.12", "makefile", "3"]),
    kinds=st.tuples(*[st.sampled_from(["AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"])] * 4),
)
def test_any_layers_give_a_spec_or_a_configuration_error(
    entries: list[str] | str, globals_entries: list[str], contents: tuple[str, ...], build_method: str,
    kinds: tuple[str, ...],
) -> None:
    def layer(name: str, kind: str, content: str) -> list[str]:
        key = "ContentUri" if kind.startswith("AWS::Serverless") else "Content"
        lines = [f"  {name}:", f"    Type: {kind}", f"    Properties: {{{key}: {content}}}"]
        return [*lines, f"    Metadata: {{BuildMethod: {build_method}}}"] if build_method else lines

    layers = entries if isinstance(entries, str) else f"[{', '.join(entries)}]"
    lines = ["Parameters:", "  Stage: {Type: String, Default: dev}", "Conditions:", "  C: !Equals [a, a]"]
    if globals_entries:
        lines += ["Globals:", "  Function:", f"    Layers: [{', '.join(globals_entries)}]"]
    lines += ["Resources:", "  Table: {Type: AWS::DynamoDB::Table}", "  Fn:", "    Type: AWS::Serverless::Function",
              "    Properties:", "      CodeUri: .", "      Handler: app.handler", f"      Layers: {layers}"]
    for name, kind, content in zip(["Served", "Plain", "Missing", "Unbuilt"], kinds, contents, strict=True):
        lines += layer(name, kind, content)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "layers" / "served" / "python").mkdir(parents=True)
        (root / "layers" / "unbuilt").mkdir(parents=True)
        path = write(root / "template.yaml", "\n".join(lines) + "\n")
        spec = value_or_own_error(function_spec, path, "Fn")
        if spec is not None:
            assert isinstance(spec, FunctionSpec)
            assert all(isinstance(p, Path) and p.is_dir() for p in spec.layers)
            assert all(isinstance(r, str) for r in spec.remote_layers)
            assert all(isinstance(w, str) for w in spec.warnings)


API_IDS = st.sampled_from(["", "!Ref MyApi", "!Ref MyHttpApi", "!Ref Missing", "abc123", "!GetAtt X.Y", "[1]"])


@SCRATCH
@given(st.lists(st.tuples(st.sampled_from(["Api", "HttpApi", "SQS"]), API_IDS,
                          st.sampled_from(["/x", "/x/{id}", "/{proxy+}", "", "x", "!Ref Stage"]),
                          st.sampled_from(["get", "GET", "any", "", "fetch", "!Ref Stage"]),
                          st.sampled_from(["", "1.0", "2.0", "3"])), max_size=4))
def test_any_events_give_the_templates_apis_or_a_configuration_error(events: list[tuple[str, ...]]) -> None:
    from hookkit.local.apis import LocalApi, template_apis

    lines = ["Parameters:", "  Stage: {Type: String, Default: dev}", "Resources:",
             "  MyApi: {Type: AWS::Serverless::Api, Properties: {StageName: !Ref Stage, Variables: {a: b}}}",
             "  MyHttpApi: {Type: AWS::Serverless::HttpApi}"]
    for index, (kind, api_id, path, method, version) in enumerate(events):
        properties = [f"Path: {path}" if path else "", f"Method: {method}" if method else "",
                      f"PayloadFormatVersion: '{version}'" if version else "",
                      f"{'RestApiId' if kind == 'Api' else 'ApiId'}: {api_id}" if api_id else ""]
        body = ", ".join(p for p in properties if p)
        event = f"{{E: {{Type: {kind}, Properties: {{{body}}}}}}}"
        lines += [f"  Fn{index}:", "    Type: AWS::Serverless::Function",
                  f"    Properties: {{CodeUri: ., Handler: app.h, Events: {event}}}"]
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "template.yaml", "\n".join(lines) + "\n")
        apis = value_or_own_error(template_apis, path)
    if apis is not None:
        assert all(isinstance(api, LocalApi) and api.routes for api in apis.values())
        assert all(api.kind in ("rest", "http") and isinstance(api.stage, str) for api in apis.values())
