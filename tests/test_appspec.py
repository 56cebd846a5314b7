from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookkit.core.deployment import EcsTarget, LambdaTarget
from hookkit.core.errors import ConfigurationError
from hookkit.core.phases import Phase
from hookkit.hook.appspec import AppSpec, parse_appspec, published_version

FIXTURES = Path(__file__).parent / "fixtures" / "appspec"
# Example counts come from the profile tests/conftest.py loads (HYPOTHESIS_PROFILE=fuzz for more).
FUZZ = settings(suppress_health_check=[HealthCheck.too_slow])

DOC_LAMBDA = AppSpec(
    target=LambdaTarget(
        function_name="myLambdaFunction",
        target_version="2",
        alias="myLambdaFunctionAlias",
        current_version="1",
    ),
    hooks={
        Phase.BEFORE_ALLOW_TRAFFIC: "LambdaFunctionToValidateBeforeTrafficShift",
        Phase.AFTER_ALLOW_TRAFFIC: "LambdaFunctionToValidateAfterTrafficShift",
    },
)


def lambda_doc(**properties: object) -> str:
    props = {"Name": "fn", "TargetVersion": "2"} | properties
    props = {k: v for k, v in props.items() if v is not ...}
    return yaml.safe_dump(
        {"Resources": [{"fn": {"Type": "AWS::Lambda::Function", "Properties": props}}]}
    )


# --- the documentation's shapes ---------------------------------------------------------------


def test_yaml_lambda_appspec_with_hooks() -> None:
    assert parse_appspec((FIXTURES / "lambda_hooks.yaml").read_text()) == DOC_LAMBDA


def test_json_lambda_appspec_reads_the_same_as_yaml() -> None:
    assert parse_appspec((FIXTURES / "lambda.json").read_bytes()) == DOC_LAMBDA


def test_numeric_versions_become_strings_and_arn_hooks_are_kept_as_written() -> None:
    spec = parse_appspec((FIXTURES / "lambda_numeric_versions.yaml").read_text())
    assert spec == AppSpec(
        target=LambdaTarget("orders-api", "8", alias="live", current_version="7"),
        hooks={
            Phase.BEFORE_ALLOW_TRAFFIC:
            "arn:aws:lambda:us-east-1:123456789012:function:CodeDeployHook_orders_pre"
        },
    )


def test_ecs_appspec_with_load_balancer_info() -> None:
    spec = parse_appspec((FIXTURES / "ecs_load_balancer.yaml").read_text())
    assert spec.target == EcsTarget(
        task_definition=(
            "arn:aws:ecs:us-east-1:111222333444:task-definition/my-task-definition-family-name:1"
        ),
        container_name="SampleApplicationName",
        container_port=80,
    )
    assert list(spec.hooks) == [
        Phase.BEFORE_INSTALL,
        Phase.AFTER_INSTALL,
        Phase.AFTER_ALLOW_TEST_TRAFFIC,
        Phase.BEFORE_ALLOW_TRAFFIC,
        Phase.AFTER_ALLOW_TRAFFIC,
    ]
    assert spec.hooks[Phase.AFTER_ALLOW_TEST_TRAFFIC] == (
        "LambdaFunctionToValidateAfterTestTrafficStarts"
    )


def test_cloudformation_style_compact_json_with_bom() -> None:
    content = json.dumps(
        {
            "version": 0.0,
            "Resources": [
                {
                    "orders": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {"Name": "orders", "Alias": "live", "CurrentVersion": "3",
                                       "TargetVersion": "4"},
                    }
                }
            ],
            "Hooks": [{"BeforeAllowTraffic": "CodeDeployHook_pre"}],
        },
        separators=(",", ":"),
    )
    spec = parse_appspec(b"\xef\xbb\xbf" + content.encode())
    assert spec == AppSpec(
        target=LambdaTarget("orders", "4", alias="live", current_version="3"),
        hooks={Phase.BEFORE_ALLOW_TRAFFIC: "CodeDeployHook_pre"},
    )


def test_minimal_lambda_appspec_without_hooks_alias_or_current_version() -> None:
    assert parse_appspec(lambda_doc()) == AppSpec(target=LambdaTarget("fn", "2"), hooks={})


def test_ecs_port_written_as_text_is_a_number() -> None:
    doc = (
        "Resources:\n  - svc:\n      Type: AWS::ECS::Service\n      Properties:\n"
        "        TaskDefinition: td:3\n"
        "        LoadBalancerInfo: {ContainerName: web, ContainerPort: '8080'}\n"
    )
    assert parse_appspec(doc).target == EcsTarget("td:3", "web", 8080)


# --- refusals: what is wrong, where, and the fix -----------------------------------------------

P = "AppSpec Resources[0].fn.Properties"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "AppSpec: expected a mapping with Resources and Hooks at the top, got list []; "
               "give the AppSpec document itself, not a fragment"),
        ("", "AppSpec: expected a mapping with Resources and Hooks at the top, got nothing; "
             "give the AppSpec document itself, not a fragment"),
        ("version: 0.0\n", "AppSpec: no Resources; add a Resources list naming the "
                           "AWS::Lambda::Function (or AWS::ECS::Service) the deployment updates"),
        ("Resources: {fn: {}}", "AppSpec Resources: expected a list of one-key maps, got dict {'fn': {}}"),
        ("Resources: []", "AppSpec Resources: expected exactly one resource, got 0; a Lambda or "
                          "ECS deployment updates one function or service"),
        ("Resources: [{a: {}}, {b: {}}]", "AppSpec Resources: expected exactly one resource, "
         "got 2; a Lambda or ECS deployment updates one function or service"),
        ("Resources: [fn]", "AppSpec Resources[0]: expected a one-key map {<name>: {Type, "
                            "Properties}}, got str 'fn'"),
        ("Resources: [{a: 1, b: 2}]", "AppSpec Resources[0]: expected a one-key map {<name>: "
                                      "{Type, Properties}}, got a mapping with 2 keys"),
        ("Resources: [{fn: x}]", "AppSpec Resources[0].fn: expected a mapping with Type and "
                                 "Properties, got str 'x'"),
        ("Resources: [{fn: {Type: AWS::Lambda::Function}}]",
         f"{P}: expected a mapping, got nothing"),
        ("Resources: [{fn: {Properties: {Name: fn}}}]",
         "AppSpec Resources[0].fn.Type: missing; use AWS::Lambda::Function or AWS::ECS::Service"),
        ("Resources: [{fn: {Type: AWS::EC2::Instance, Properties: {}}}]",
         "AppSpec Resources[0].fn.Type: 'AWS::EC2::Instance' is not supported; use "
         "AWS::Lambda::Function or AWS::ECS::Service"),
        (lambda_doc(Name=...), f"{P}.Name: expected a non-empty name, got nothing"),
        (lambda_doc(Name="  "), f"{P}.Name: expected a non-empty name, got str '  '"),
        (lambda_doc(TargetVersion=...), f"{P}.TargetVersion: missing; give the published "
                                        "version the deployment moves traffic to, such as \"2\""),
        (lambda_doc(TargetVersion=""), f"{P}.TargetVersion: the version is empty; give the "
         "published version the deployment moves traffic to, such as \"2\""),
        (lambda_doc(TargetVersion="$LATEST"), f"{P}.TargetVersion: $LATEST is not a published "
         "version; publish a version (SAM: AutoPublishAlias) and give its number, so the hook "
         "invokes exactly the deployed code"),
        (lambda_doc(TargetVersion="live"), f"{P}.TargetVersion: 'live' is not a published "
         "version number; give the number (such as \"2\"), not an alias or an ARN"),
        (lambda_doc(TargetVersion=2.5), f"{P}.TargetVersion: expected a published version "
         "number such as \"2\", got float 2.5"),
        (lambda_doc(TargetVersion=True), f"{P}.TargetVersion: expected a published version "
         "number such as \"2\", got bool True"),
        (lambda_doc(CurrentVersion="$LATEST"), f"{P}.CurrentVersion: $LATEST is not a published "
         "version; publish a version (SAM: AutoPublishAlias) and give its number, so the hook "
         "invokes exactly the deployed code"),
        (lambda_doc() + "Hooks: {BeforeAllowTraffic: h}\n", "AppSpec Hooks: expected a list of "
         "one-key maps like {BeforeAllowTraffic: <function>}, got dict {'BeforeAllowTraffic': 'h'}"),
        (lambda_doc() + "Hooks: [h]\n", "AppSpec Hooks[0]: expected a one-key map like "
         "{BeforeAllowTraffic: <function>}, got str 'h'"),
        (lambda_doc() + "Hooks: [{ApplicationStart: h}]\n", "AppSpec Hooks[0]: unknown phase "
         "'ApplicationStart'; use one of BeforeAllowTraffic, AfterAllowTraffic, BeforeInstall, "
         "AfterInstall, AfterAllowTestTraffic (or PreTraffic / PostTraffic, pre / post)"),
        (lambda_doc() + "Hooks: [{BeforeAllowTraffic: a}, {BeforeAllowTraffic: b}]\n",
         "AppSpec Hooks[1]: BeforeAllowTraffic is given twice; keep one hook per event"),
        (lambda_doc() + "Hooks: [{BeforeAllowTraffic: ''}]\n",
         "AppSpec Hooks[0].BeforeAllowTraffic: expected a non-empty name, got str ''"),
        (lambda_doc() + "Hooks: [{1: h}]\n",
         "AppSpec Hooks[0]: the lifecycle event name must be text, got int 1"),
        ("Resources: [{s: {Type: AWS::ECS::Service, Properties: {LoadBalancerInfo: "
         "{ContainerPort: 70000}}}}]", "AppSpec Resources[0].s.Properties.LoadBalancerInfo"
         ".ContainerPort: expected a port number 1-65535, got int 70000"),
        ("Resources: [{s: {Type: AWS::ECS::Service, Properties: {LoadBalancerInfo: [80]}}}]",
         "AppSpec Resources[0].s.Properties.LoadBalancerInfo: expected a mapping, got list [80]"),
    ],
)
def test_malformed_appspec_says_what_is_wrong_where(content: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_appspec(content)
    assert str(caught.value) == message


def test_syntax_error_gives_line_and_column() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_appspec("Resources:\n  - fn: [unclosed\n")
    assert str(caught.value) == (
        "AppSpec: neither JSON nor YAML at line 3, column 1: expected ',' or ']', but got "
        "'<stream end>'; fix the document's syntax"
    )


def test_python_object_tags_are_refused_not_constructed() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_appspec("Resources: !!python/object/apply:os.system ['touch /tmp/hookkit-pwned']")
    assert str(caught.value).startswith(
        "AppSpec: neither JSON nor YAML at line 1, column 12: could not determine a constructor "
        "for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"
    )
    assert not Path("/tmp/hookkit-pwned").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Resources: \xff\xfe", "AppSpec: not UTF-8 text (byte 11); save the AppSpec as UTF-8"),
        ("[" * 1000, "AppSpec: nested too deeply to read; an AppSpec is a few levels deep"),
        ("a: 2001-02-30", "AppSpec: neither JSON nor YAML: day is out of range for month; fix "
                          "the document's syntax"),
    ],
)
def test_unreadable_input(content: str | bytes, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_appspec(content)
    assert str(caught.value) == message


@pytest.mark.parametrize(("value", "expected"), [(2, "2"), ("17", "17"), (" 3 ", "3")])
def test_published_version_normalises(value: object, expected: str) -> None:
    assert published_version(value, where="X") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "X: missing; give the published version the deployment moves traffic to, such as "
               "\"2\""),
        ("$latest", "X: $LATEST is not a published version; publish a version (SAM: "
                    "AutoPublishAlias) and give its number, so the hook invokes exactly the "
                    "deployed code"),
        (-1, "X: '-1' is not a published version number; give the number (such as \"2\"), not "
             "an alias or an ARN"),
        ("٣", "X: '٣' is not a published version number; give the number (such as \"2\"), not an "
              "alias or an ARN"),
        (2**70, "X: a 71-bit number is too large for a Lambda version"),
        ([2], "X: expected a published version number such as \"2\", got list [2]"),
    ],
)
def test_published_version_refuses(value: object, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        published_version(value, where="X")
    assert str(caught.value) == message


# --- any input: an AppSpec or hookkit's own error ----------------------------------------------

KEYS = st.sampled_from(
    ["Resources", "Hooks", "Type", "Properties", "Name", "Alias", "TargetVersion",
     "CurrentVersion", "TaskDefinition", "LoadBalancerInfo", "ContainerName", "ContainerPort",
     "BeforeAllowTraffic", "AfterAllowTraffic", "BeforeInstall", "fn", "version"]
) | st.text(max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["AWS::Lambda::Function", "AWS::ECS::Service", "$LATEST", "2", "", "fn"])
)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=25,
)
SMALL_TREES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=6,
)


def parses_or_refuses(content: str | bytes) -> AppSpec | None:
    try:
        spec = parse_appspec(content)
    except ConfigurationError:
        return None
    assert isinstance(spec, AppSpec)
    if isinstance(spec.target, LambdaTarget):
        assert spec.target.target_version.isdigit()
    assert all(isinstance(p, Phase) and isinstance(n, str) and n for p, n in spec.hooks.items())
    return spec


@pytest.mark.property
@FUZZ
@given(st.text())
def test_any_text_gives_an_appspec_or_configuration_error(content: str) -> None:
    parses_or_refuses(content)


@pytest.mark.property
@FUZZ
@given(st.binary())
def test_any_bytes_give_an_appspec_or_configuration_error(content: bytes) -> None:
    parses_or_refuses(content)


@pytest.mark.property
@FUZZ
@given(TREES)
def test_any_yaml_structure_gives_an_appspec_or_configuration_error(tree: object) -> None:
    parses_or_refuses(yaml.safe_dump(tree))
    parses_or_refuses(json.dumps(tree))


@pytest.mark.property
@FUZZ
@given(
    resources=st.lists(st.dictionaries(st.sampled_from(["fn", "svc"]), SMALL_TREES, max_size=2),
                       max_size=2),
    properties=st.dictionaries(KEYS, SMALL_TREES, max_size=5),
    kind=st.sampled_from(["AWS::Lambda::Function", "AWS::ECS::Service", "Other"]),
    hooks=st.lists(st.dictionaries(KEYS, SMALL_TREES, max_size=2), max_size=3) | SMALL_TREES,
)
def test_near_valid_appspecs_give_an_appspec_or_configuration_error(
    resources: list[dict[str, object]], properties: dict[str, object], kind: str, hooks: object
) -> None:
    doc = {"Resources": [{"fn": {"Type": kind, "Properties": properties}}, *resources],
           "Hooks": hooks}
    parses_or_refuses(yaml.safe_dump(doc))


@pytest.mark.property
@FUZZ
@given(
    name=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    target=st.integers(min_value=1, max_value=10**6),
    current=st.integers(min_value=1, max_value=10**6),
    as_text=st.booleans(),
)
def test_valid_lambda_appspecs_round_trip(name: str, target: int, current: int,
                                          as_text: bool) -> None:
    props = {"Name": name, "Alias": "live", "TargetVersion": target, "CurrentVersion": current}
    if as_text:
        props |= {"TargetVersion": str(target), "CurrentVersion": str(current)}
    doc = {"Resources": [{name: {"Type": "AWS::Lambda::Function", "Properties": props}}],
           "Hooks": [{"BeforeAllowTraffic": "CodeDeployHook_" + name}]}
    assert parse_appspec(yaml.safe_dump(doc)) == AppSpec(
        target=LambdaTarget(name, str(target), alias="live", current_version=str(current)),
        hooks={Phase.BEFORE_ALLOW_TRAFFIC: "CodeDeployHook_" + name},
    )
