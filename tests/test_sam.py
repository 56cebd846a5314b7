"""Reading a SAM function offline: tags, Globals, intrinsics, routes, and every refusal."""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from hookkit.core.errors import ConfigurationError
from hookkit.local import intrinsics
from hookkit.local.sam import ApiRoute, FunctionSpec, function_spec, load_template

FIXTURES = Path(__file__).parent / "fixtures" / "sam"
TEMPLATE = FIXTURES / "template.yaml"
ORDERS = (FIXTURES / "orders").resolve()


def write(folder: Path, text: str, name: str = "template.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def one_function(folder: Path, properties: str, *, extra: str = "", code: bool = True) -> Path:
    """A template with function Fn whose Properties are ``properties`` (YAML, 6 spaces deep)."""
    if code:
        (folder / "src").mkdir(exist_ok=True)
    body = textwrap.indent(textwrap.dedent(properties), " " * 6)
    return write(folder, f"Transform: AWS::Serverless-2016-10-31\n{textwrap.dedent(extra)}"
                         "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n" + body)


# --- loading ---------------------------------------------------------------------------------

def test_short_form_tags_load_as_long_form(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        Values:
          - !Ref Stage
          - !Sub "${Stage}-x"
          - !Sub ["${A}", {A: !Ref B}]
          - !GetAtt Table.Arn
          - !GetAtt Cluster.Endpoint.Address
          - !GetAtt [Table, StreamArn]
          - !Join [",", [a, b]]
          - !Select [1, !Split [",", "a,b"]]
          - !If [IsProd, 1, !Ref "AWS::NoValue"]
          - !Equals [a, b]
          - !Not [!Condition IsProd]
          - !And [!Condition A, !Condition B]
          - !Or [!Condition A, !Condition B]
          - !FindInMap [M, k1, k2]
          - !Base64 text
          - !Cidr [10.0.0.0/16, 6, 5]
          - !ImportValue shared
          - !GetAZs ""
          - !Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}
        """)
    assert load_template(path)["Values"] == [
        {"Ref": "Stage"},
        {"Fn::Sub": "${Stage}-x"},
        {"Fn::Sub": ["${A}", {"A": {"Ref": "B"}}]},
        {"Fn::GetAtt": ["Table", "Arn"]},
        {"Fn::GetAtt": ["Cluster", "Endpoint.Address"]},
        {"Fn::GetAtt": ["Table", "StreamArn"]},
        {"Fn::Join": [",", ["a", "b"]]},
        {"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]},
        {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]},
        {"Fn::Equals": ["a", "b"]},
        {"Fn::Not": [{"Condition": "IsProd"}]},
        {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]},
        {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]},
        {"Fn::FindInMap": ["M", "k1", "k2"]},
        {"Fn::Base64": "text"},
        {"Fn::Cidr": ["10.0.0.0/16", 6, 5]},
        {"Fn::ImportValue": "shared"},
        {"Fn::GetAZs": ""},
        {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://b/k"}}},
    ]


def test_templates_are_parsed_by_libyaml_when_pyyaml_has_it() -> None:
    """The pure-Python parser takes about ten times as long, and a run reads its template several times."""
    if not yaml.__with_libyaml__:
        pytest.skip("this PyYAML was built without libyaml")
    assert issubclass(intrinsics._TemplateLoader, yaml.CSafeLoader)


def test_a_template_read_again_is_parsed_once_and_each_reader_gets_data_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    intrinsics._parsed_yaml.cache_clear()
    parses: list[str] = []
    parse = yaml.load
    monkeypatch.setattr(yaml, "load", lambda text, **options: parses.append(text) or parse(text, **options))
    path = write(tmp_path, "Resources:\n  Fn: {Type: AWS::Serverless::Function, Properties: {Handler: a.b}}\n")

    first = load_template(path)
    first["Resources"]["Fn"]["Properties"]["Handler"] = "changed.by_a_reader"
    assert load_template(path)["Resources"]["Fn"]["Properties"] == {"Handler": "a.b"}
    assert len(parses) == 1

    # rewritten with the same size and modification time (a clock tick is that coarse): read again
    before = path.stat()
    path.write_text(path.read_text().replace("a.b", "c.d"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert load_template(path)["Resources"]["Fn"]["Properties"] == {"Handler": "c.d"}


def test_unsafe_yaml_tags_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "Resources:\n  X: !!python/object/apply:os.system [echo hi]\n")
    with pytest.raises(ConfigurationError) as caught:
        load_template(path)
    assert str(caught.value).startswith(f"SAM template {path}, line 2, column 6: invalid YAML (")
    assert "python/object/apply:os.system" in str(caught.value)


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "Resources:\n  Fn:\n    Type: [unclosed\n")
    with pytest.raises(ConfigurationError) as caught:
        load_template(path)
    assert str(caught.value).startswith(f"SAM template {path}, line 4, column 1: invalid YAML (")
    assert str(caught.value).endswith("; fix the template")


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "Resources": {\n    "Fn": ,\n  }\n}\n', "template.json")
    with pytest.raises(ConfigurationError) as caught:
        load_template(path)
    assert str(caught.value) == (
        f"SAM template {path}, line 3, column 11: invalid JSON (Expecting value); fix the template"
    )


def test_missing_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        function_spec(tmp_path / "nope.yaml", "Fn")
    assert str(caught.value) == (
        f"SAM template {tmp_path / 'nope.yaml'} does not exist; pass the path of your template "
        "(e.g. local:template.yaml#MyFunction)"
    )


def test_unreadable_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_template(tmp_path)
    assert str(caught.value).startswith(f"SAM template {tmp_path} cannot be read (")


@pytest.mark.parametrize("text, kind", [("", "NoneType"), ("- a\n- b\n", "list")])
def test_template_must_be_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as caught:
        load_template(path)
    assert str(caught.value) == (
        f"SAM template {path} is not a template (got {kind}, expected a mapping with a Resources section)"
    )


# --- the fixture template: Globals, parameters, pseudo parameters, warnings --------------------

EXPECTED_ENVIRONMENT = {
    "SERVICE": "orders",  # from Globals, kept
    "LOG_LEVEL": "DEBUG",  # Globals said INFO; the function's FindInMap wins
    "TABLE_NAME": "<Ref OrdersTable>",
    "TABLE_ARN": "<GetAtt OrdersTable.Arn>",
    "STREAM_ARN": "<GetAtt OrdersTable.StreamArn>",
    "STAGE": "dev",
    "FULL_NAME": "local-dev-orders",
    "ENDPOINT": "https://dynamodb.us-east-1.amazonaws.com",
    "ACCOUNT": "123456789012",
    "LITERAL": "${NotAVariable}",
    "FIRST_SUBNET": "subnet-a",
    "JOINED": "a/dev/c",
    "SECOND": "y",
    "DEBUG": "true",
    "PROD_EAST": "no",
    "SHARED_VPC": "<ImportValue shared-vpc-id>",
    "ENCODED": "aGVsbG8=",
    "PARTNER_KEY": "<Ref PartnerKeyName>",
    "ENABLED": "true",
    "RETRIES": "3",
}

def env_warning(function: str, name: str, value: str, why: str) -> str:
    return (f"{function}.{name} is {value} locally ({why}): set it with --env-vars "
            f'({{"{function}": {{"{name}": ...}}}}) or in the shell')


def test_fixture_function_with_globals_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)  # the note shows paths relative to the current folder
    spec = function_spec(TEMPLATE, "OrdersFunction")

    assert spec == FunctionSpec(
        logical_id="OrdersFunction",
        code_uri=ORDERS,
        handler="app.handler",
        runtime="python3.12",
        timeout=5.0,
        memory_size=256,
        environment=EXPECTED_ENVIRONMENT,
        function_name="local-OrdersFunction",
        routes=(
            ApiRoute("GET", "/orders/{orderId}", "1.0", "ServerlessRestApi", "rest"),
            ApiRoute("ANY", "/orders", "1.0", "ServerlessRestApi", "rest"),
            ApiRoute("POST", "/v2/orders", "2.0", "ServerlessHttpApi", "http"),
            ApiRoute("ANY", "$default", "2.0", "ServerlessHttpApi", "http"),
        ),
        # One warning per variable only a deployed stack knows, naming the --env-vars key that sets it.
        warnings=(
            env_warning("OrdersFunction", "TABLE_NAME", "<Ref OrdersTable>",
                        "OrdersTable is a resource; its physical id exists only after deployment"),
            env_warning("OrdersFunction", "TABLE_ARN", "<GetAtt OrdersTable.Arn>",
                        "attributes of OrdersTable exist only after deployment"),
            env_warning("OrdersFunction", "STREAM_ARN", "<GetAtt OrdersTable.StreamArn>",
                        "attributes of OrdersTable exist only after deployment"),
            env_warning("OrdersFunction", "SHARED_VPC", "<ImportValue shared-vpc-id>",
                        "its value is only known to a deployed stack"),
            env_warning("OrdersFunction", "PARTNER_KEY", "<Ref PartnerKeyName>", "parameter PartnerKeyName has no "
                        "Default; pass a value for it as parameter PartnerKeyName=VALUE"),
        ),
        region="us-east-1",
        notes=("OrdersFunction: Runtime python3.12; code orders (template.yaml; no sam build output)",),
        template=TEMPLATE.resolve(),
    )
    assert list(spec.environment) == list(EXPECTED_ENVIRONMENT)  # Globals' keys first, as SAM merges


def test_routes_from_api_and_http_api_events() -> None:
    assert function_spec(TEMPLATE, "OrdersFunction").routes == (
        ApiRoute("GET", "/orders/{orderId}", "1.0", "ServerlessRestApi", "rest"),
        ApiRoute("ANY", "/orders", "1.0", "ServerlessRestApi", "rest"),
        ApiRoute("POST", "/v2/orders", "2.0", "ServerlessHttpApi", "http"),
        # HttpApi event without Path: the catch-all route
        ApiRoute("ANY", "$default", "2.0", "ServerlessHttpApi", "http"),
    )


def test_parameter_overrides_drive_conditions_mappings_and_names() -> None:
    spec = function_spec(TEMPLATE, "OrdersFunction", parameters={"Stage": "prod", "PartnerKeyName": "acme"})

    changed = {k: v for k, v in spec.environment.items() if EXPECTED_ENVIRONMENT.get(k) != v}
    assert changed == {
        "LOG_LEVEL": "WARNING",
        "STAGE": "prod",
        "FULL_NAME": "local-prod-orders",
        "JOINED": "a/prod/c",
        "DEBUG": "false",
        "PROD_ONLY": "yes",  # Fn::If with AWS::NoValue: absent for dev, present for prod
        "PROD_EAST": "yes",
        "PARTNER_KEY": "acme",
    }
    assert len(spec.warnings) == 4
    assert not any("PartnerKeyName" in warning for warning in spec.warnings)


def test_region_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    spec = function_spec(TEMPLATE, "OrdersFunction", parameters={"Stage": "prod"})
    assert spec.region == "eu-west-1"
    assert spec.environment["ENDPOINT"] == "https://dynamodb.eu-west-1.amazonaws.com"
    assert spec.environment["PROD_EAST"] == "no"


def test_region_falls_back_to_default_region_then_us_east_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert function_spec(TEMPLATE, "OrdersFunction").region == "ap-south-1"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert function_spec(TEMPLATE, "OrdersFunction").region == "us-east-1"


def test_function_name_handler_path_and_function_values_win_over_globals() -> None:
    spec = function_spec(TEMPLATE, "NamedFunction", parameters={"Stage": "prod"})
    assert (spec.function_name, spec.handler, spec.memory_size, spec.timeout) == (
        "orders-prod-named", "handlers/nested.handler", 512, 10.0,
    )
    assert spec.environment == {"SERVICE": "orders", "LOG_LEVEL": "ERROR"}
    assert (spec.routes, spec.warnings) == ((), ())


def test_json_template() -> None:
    spec = function_spec(FIXTURES / "template.json", "JsonFunction", parameters={"Stage": "qa"})
    assert (spec.code_uri, spec.timeout, spec.memory_size) == (ORDERS, 3.0, 128)  # SAM's defaults
    assert spec.environment == {"STAGE": "qa", "ARN": "<GetAtt Other.TopicName>"}
    assert spec.warnings == (
        env_warning("JsonFunction", "ARN", "<GetAtt Other.TopicName>",
                    "attributes of Other exist only after deployment"),
    )


def test_code_uri_override_is_relative_to_the_current_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES / "builds")
    spec = function_spec(TEMPLATE, "OrdersFunction", code_uri="target")
    assert spec.code_uri == (FIXTURES / "builds" / "target").resolve()
    assert spec.handler == "app.handler"


def test_globals_lists_add_up_and_maps_merge(tmp_path: Path) -> None:
    path = one_function(
        tmp_path,
        """\
        Handler: app.handler
        Layers: [fn-layer]
        Environment:
          Variables: {B: function, C: "3"}
        """,
        extra="""\
        Globals:
          Function:
            CodeUri: src
            Timeout: 30
            Layers: [global-layer]
            Environment:
              Variables: {A: global, B: global}
        """,
    )
    spec = function_spec(path, "Fn")
    assert spec.code_uri == (tmp_path / "src").resolve()
    assert spec.timeout == 30.0
    assert spec.environment == {"A": "global", "B": "function", "C": "3"}


@pytest.mark.parametrize(
    "expression, value, why",
    [
        ('!Sub "${AWS::Partition}:${AWS::StackName}"', "aws:local", ""),
        ('!Sub "arn:${Table.Arn}"', "arn:<GetAtt Table.Arn>", "Table is not a resource of this template"),
        ('!Sub ["${X}-${Y}", {X: !Ref Size, Y: !GetAtt Table.Arn}]', "10-<GetAtt Table.Arn>",
         "Table is not a resource of this template"),
        ("!Ref Nowhere", "<Ref Nowhere>", "Nowhere is not a parameter, pseudo parameter or resource of this template"),
        ("!Select [5, [a, b]]", "<Select 5>", "index 5 is not a position in the list of 2 item(s)"),
        ("!FindInMap [M, missing, k]", "<FindInMap M missing k>", "Mappings has no entry M.missing.k"),
        ("!FindInMap [M, small, k]", "10", ""),
        ('!Join ["-", !GetAZs ""]', "<GetAZs >", "its value is only known to a deployed stack"),
        ("!Cidr [10.0.0.0/16, 6, 5]", "<Cidr 10.0.0.0/16 6 5>", "its value is only known to a deployed stack"),
        ("!If [Unknown, a, b]", "<If Unknown>", "its condition cannot be evaluated locally"),
        ("!If [Big, a, b]", "b", ""),
        ("!Join [',', !Ref Sizes]", "1,2", ""),
        ("!Join [',', oops]", "<Join , oops>", "malformed arguments"),
        ("!Select [0, !ImportValue subnets]", "<ImportValue subnets>", "its value is only known to a deployed stack"),
        ('{"Fn::Length": [1, 2]}', "<Length 1 2>", "its value is only known to a deployed stack"),
        ('!Sub "${Table.Arn}/${Nowhere}"', "<GetAtt Table.Arn>/<Ref Nowhere>",
         "Table is not a resource of this template; Nowhere is not a parameter, pseudo parameter or resource of "
         "this template"),
        ("'{{resolve:ssm:/orders/table}}'", "{{resolve:ssm:/orders/table}}",
         "{{resolve:ssm:...}} is resolved by CloudFormation at deployment"),
        ("!Ref TableName", "/orders/table-name", "parameter TableName is of type AWS::SSM::Parameter::Value<String>: "
         "locally its value is the SSM parameter's name, not its value; pass the value as parameter TableName=VALUE"),
        ("12", "12", ""),
        ("false", "false", ""),
    ],
)
def test_intrinsics(tmp_path: Path, expression: str, value: str, why: str) -> None:
    path = one_function(
        tmp_path,
        f"CodeUri: src\nHandler: app.handler\nEnvironment:\n  Variables:\n    V: {expression}\n",
        extra="""\
        Parameters:
          Size: {Type: Number, Default: 10}
          Sizes: {Type: "List<Number>", Default: "1, 2"}
          TableName: {Type: "AWS::SSM::Parameter::Value<String>", Default: /orders/table-name}
        Conditions:
          Big: !Equals [!Ref Size, 99]
        Mappings:
          M: {small: {k: 10}}
        """,
    )
    spec = function_spec(path, "Fn")
    assert spec.environment == {"V": value}
    # one warning for the variable, however many parts of its value are unknown
    assert spec.warnings == ((env_warning("Fn", "V", value, why),) if why else ())


def test_an_unresolvable_value_outside_the_environment_is_named_where_it_is_used(tmp_path: Path) -> None:
    path = one_function(tmp_path, "CodeUri: src\nHandler: app.handler\nFunctionName: !GetAtt Table.Arn\n")
    spec = function_spec(path, "Fn")
    assert spec.function_name == "<GetAtt Table.Arn>"
    assert spec.warnings == (
        "Fn.Properties.FunctionName: Fn::GetAtt Table.Arn cannot be resolved locally (Table is not a resource "
        "of this template); using '<GetAtt Table.Arn>'",
    )


def test_an_ssm_parameter_given_a_value_is_used_without_a_warning(tmp_path: Path) -> None:
    path = one_function(
        tmp_path, "CodeUri: src\nHandler: app.handler\nEnvironment:\n  Variables:\n    V: !Ref TableName\n",
        extra="Parameters:\n  TableName: {Type: 'AWS::SSM::Parameter::Value<String>', Default: /orders/name}\n",
    )
    spec = function_spec(path, "Fn", parameters={"TableName": "orders-dev"})
    assert (spec.environment, spec.warnings) == ({"V": "orders-dev"}, ())


def test_no_value_removes_the_key(tmp_path: Path) -> None:
    path = one_function(tmp_path, """\
        CodeUri: src
        Handler: app.handler
        Timeout: !Ref AWS::NoValue
        Environment:
          Variables: {KEEP: "1", DROP: !Ref AWS::NoValue}
        """)
    spec = function_spec(path, "Fn")
    assert (spec.environment, spec.timeout) == ({"KEEP": "1"}, 3.0)


@pytest.mark.property
@given(
    st.recursive(
        st.one_of(
            st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.sampled_from(["${P}", "${!x}", "${A.B}"])
        ),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(
                st.sampled_from([
                    "Ref", "Condition", "Fn::Sub", "Fn::GetAtt", "Fn::Join", "Fn::Select", "Fn::Split",
                    "Fn::If", "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Fn::FindInMap",
                    "Fn::Base64", "Fn::Cidr", "Fn::ImportValue", "Fn::GetAZs", "Fn::Transform", "k",
                ]),
                inner, min_size=1, max_size=2,
            ),
        ),
        max_leaves=12,
    )
)
def test_any_intrinsic_tree_resolves_or_is_refused_cleanly(value: Any) -> None:
    """Malformed intrinsics must become warnings or ConfigurationErrors, never a crash."""
    with tempfile.TemporaryDirectory() as folder:
        template = {
            "Parameters": {"P": {"Type": "String", "Default": "p"}},
            "Conditions": {"C": {"Fn::Equals": ["a", "a"]}},
            "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {
                "CodeUri": ".", "Handler": "app.handler", "Environment": {"Variables": {"V": value}},
                "Events": {"E": {"Type": "HttpApi", "Properties": {"Path": value}}},
            }}},
        }
        path = Path(folder) / "template.json"
        path.write_text(json.dumps(template))
        try:
            spec = function_spec(path, "Fn")
        except ConfigurationError as exc:
            assert str(exc).startswith(f"SAM template {path}: Fn")
        else:
            assert all(isinstance(v, str) for v in spec.environment.values())
            assert all(isinstance(w, str) for w in spec.warnings)


# --- refusals: each names the input and the fix --------------------------------------------

def test_unknown_logical_id_lists_the_functions() -> None:
    with pytest.raises(ConfigurationError) as caught:
        function_spec(TEMPLATE, "OrderFunction")
    assert str(caught.value) == (
        f"SAM template {TEMPLATE} has no resource 'OrderFunction'; functions in this template: "
        "OrdersFunction, NamedFunction"
    )


def test_resource_that_is_not_a_function() -> None:
    with pytest.raises(ConfigurationError) as caught:
        function_spec(TEMPLATE, "OrdersTable")
    assert str(caught.value) == (
        f"SAM template {TEMPLATE}: OrdersTable is 'AWS::DynamoDB::Table', not an "
        "AWS::Serverless::Function; functions in this template: OrdersFunction, NamedFunction"
    )


def test_undeclared_parameter_lists_the_declared_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        function_spec(TEMPLATE, "OrdersFunction", parameters={"Stage": "prod", "Stgae": "prod"})
    assert str(caught.value) == (
        f"parameter 'Stgae': SAM template {TEMPLATE} declares no such parameter; declared "
        "parameters: Stage, TableSuffix, Subnets, PartnerKeyName"
    )


def test_template_without_resources(tmp_path: Path) -> None:
    path = write(tmp_path, "Description: empty\n")
    with pytest.raises(ConfigurationError) as caught:
        function_spec(path, "Fn")
    assert str(caught.value) == f"SAM template {path} has no Resources section; is it a SAM template?"


@pytest.mark.parametrize(
    "properties, message",
    [
        ("CodeUri: src\n", "Fn has no Handler (neither in its Properties nor in Globals.Function); "
         "add Handler: app.lambda_handler (module.function)"),
        ("CodeUri: src\nHandler: lambda_handler\n", "Fn: Handler 'lambda_handler' must be module.function "
         "(e.g. app.lambda_handler or src/app.lambda_handler)"),
        ("InlineCode: 'def handler(e, c): pass'\nHandler: index.handler\n", "Fn uses InlineCode, which is not "
         "supported locally; move the code into a folder and point CodeUri at it (or pass a code folder explicitly)"),
        ("CodeUri: s3://bucket/key.zip\nHandler: app.handler\n", "Fn: CodeUri 's3://bucket/key.zip' is an S3 "
         "location; local runs need the source folder: point CodeUri at it or pass a code folder explicitly"),
        ("CodeUri: {Bucket: b, Key: k}\nHandler: app.handler\n", "Fn: CodeUri '{\"Bucket\":\"b\",\"Key\":\"k\"}' "
         "is an S3 location; local runs need the source folder: point CodeUri at it or pass a code folder explicitly"),
        ("CodeUri: src\nHandler: index.handler\nRuntime: nodejs20.x\n", "Fn runs on nodejs20.x: local targets "
         "run Python functions only (in worker processes of a Lambda Python runtime); check a deployed version "
         "instead with --target NAME:VERSION (e.g. orders:7)"),
        ("PackageType: Image\nImageUri: repo:tag\n", "Fn is a container image function (PackageType: Image): "
         "local targets run a Zip function's Python code in worker processes, not images; check a deployed "
         "version instead with --target NAME:VERSION (e.g. orders:7), or run the image with sam local"),
        ('CodeUri: "a\\0b"\nHandler: app.handler\n', "Fn: CodeUri 'a\\x00b' is not a usable path (embedded null "
         "byte); fix it"),
        ('CodeUri: src\nHandler: app.handler\nEnvironment: {Variables: {"A=B": x}}\n', "Fn: environment variable "
         "'A=B' (from the template) cannot be set: a name must be non-empty without '=' and neither name nor value "
         "may hold a NUL character; fix it"),
        ("CodeUri: src\nHandler: app.handler\nTimeout: soon\n", "Fn: Timeout 'soon' is not a number of "
         "seconds; fix it in the template"),
        ("CodeUri: src\nHandler: app.handler\nMemorySize: 1.5\n", "Fn: MemorySize 1.5 is not a number of MB; "
         "fix it in the template"),
        ("CodeUri: src\nHandler: app.handler\nTimeout: -1\n", "Fn: Timeout -1 must be more than 0 seconds; "
         "fix it in the template"),
        ("CodeUri: src\nHandler: app.handler\nMemorySize: 0\n", "Fn: MemorySize 0 must be more than 0 MB; "
         "fix it in the template"),
        ("CodeUri: src\nHandler: app.handler\nEnvironment: {Variables: [A]}\n", "Fn: Environment.Variables must "
         "be a mapping of names to values"),
        ("CodeUri: src\nHandler: app.handler\nEvents:\n  Get: {Type: Api, Properties: {Path: /x}}\n", "Fn: Api "
         "event Get needs Properties.Path and Properties.Method (e.g. Path: /orders, Method: get)"),
        ("CodeUri: src\nHandler: app.handler\nEvents:\n  Get: {Type: HttpApi, Properties: {PayloadFormatVersion: "
         "'3.0'}}\n", "Fn: HttpApi event Get has PayloadFormatVersion '3.0'; use 1.0 or 2.0"),
    ],
)
def test_function_refusals(tmp_path: Path, properties: str, message: str) -> None:
    path = one_function(tmp_path, properties)
    with pytest.raises(ConfigurationError) as caught:
        function_spec(path, "Fn")
    assert str(caught.value) == f"SAM template {path}: {message}"


def test_handler_missing_even_after_globals(tmp_path: Path) -> None:
    path = one_function(tmp_path, "Timeout: 5\n", extra="Globals:\n  Function:\n    CodeUri: src\n")
    with pytest.raises(ConfigurationError) as caught:
        function_spec(path, "Fn")
    assert "Fn has no Handler (neither in its Properties nor in Globals.Function)" in str(caught.value)


@pytest.mark.parametrize("folder, state", [("missing", "does not exist"), ("template.yaml", "is not a folder")])
def test_code_uri_that_is_not_a_folder(tmp_path: Path, folder: str, state: str) -> None:
    path = one_function(tmp_path, f"CodeUri: {folder}\nHandler: app.handler\n", code=False)
    with pytest.raises(ConfigurationError) as caught:
        function_spec(path, "Fn")
    assert str(caught.value) == (
        f"SAM template {path}: Fn: CodeUri {folder!r} -> {tmp_path.resolve() / folder} {state}; fix the "
        "path (CodeUri is relative to the template's folder) or build the function first"
    )


def test_code_folder_override_that_does_not_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        function_spec(TEMPLATE, "OrdersFunction", code_uri="build-b")
    assert str(caught.value) == (
        f"SAM template {TEMPLATE}: OrdersFunction: code folder build-b -> {tmp_path.resolve() / 'build-b'} "
        "does not exist; fix the path (it is relative to the current directory)"
    )
