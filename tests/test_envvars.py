"""A local target's environment: the template's values, the shell's, and an --env-vars file, as sam local does."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hookkit.core.errors import ConfigurationError
from hookkit.local.envvars import load_env_vars, sam_string
from hookkit.local.sam import function_spec

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  TableParam: {Type: "AWS::SSM::Parameter::Value<String>", Default: /orders/table}
Globals:
  Function:
    Environment:
      Variables:
        LOG_LEVEL: INFO
Resources:
  OrdersTable:
    Type: AWS::DynamoDB::Table
  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: orders-api
      CodeUri: src
      Handler: app.handler
      Environment:
        Variables:
          TABLE_NAME: !Ref OrdersTable
          QUEUE_URL: !GetAtt Queue.QueueUrl
          FROM_SSM: !Ref TableParam
          MODE: plain
  OtherFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Handler: app.handler
"""


@pytest.fixture
def template(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return path


def env_file(folder: Path, data: Any, name: str = "env.json") -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


# --- precedence, as sam local: template < shell < "Parameters" < the function's own ----------------


def test_file_over_shell_over_template_and_the_function_over_parameters(template: Path) -> None:
    overrides = env_file(template.parent, {
        "Parameters": {"LOG_LEVEL": "DEBUG", "TABLE_NAME": "from-parameters"},
        "OrdersFunction": {"TABLE_NAME": "orders-dev"},
    })
    shell = {"MODE": "from-shell", "TABLE_NAME": "shell-table", "LOG_LEVEL": "WARNING"}

    spec = function_spec(template, "OrdersFunction", env_vars=overrides, shell_env=shell)

    assert spec.environment == {
        "LOG_LEVEL": "DEBUG",  # Parameters beats the shell
        "TABLE_NAME": "orders-dev",  # the function's section beats Parameters
        "QUEUE_URL": "<GetAtt Queue.QueueUrl>",
        "FROM_SSM": "/orders/table",
        "MODE": "from-shell",  # the shell beats the template
    }


def test_only_declared_variables_are_set_from_the_file_or_the_shell(template: Path) -> None:
    overrides = env_file(template.parent, {"Parameters": {"EXTRA": "x"}})
    spec = function_spec(template, "OrdersFunction", env_vars=overrides, shell_env={"HOME": "/root", "PATH": "/bin"})
    assert set(spec.environment) == {"LOG_LEVEL", "TABLE_NAME", "QUEUE_URL", "FROM_SSM", "MODE"}


def test_no_shell_is_read_unless_one_is_given(template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODE", "from-shell")
    assert function_spec(template, "OrdersFunction").environment["MODE"] == "plain"
    assert function_spec(template, "OrdersFunction", shell_env={"MODE": "given"}).environment["MODE"] == "given"


def test_a_function_is_found_by_logical_id_first_then_by_function_name(template: Path) -> None:
    by_name = env_file(template.parent, {"orders-api": {"MODE": "by-name"}}, "a.json")
    both = env_file(template.parent, {"orders-api": {"MODE": "by-name"}, "OrdersFunction": {"MODE": "by-id"}}, "b.json")
    empty_id = env_file(template.parent, {"orders-api": {"MODE": "by-name"}, "OrdersFunction": {}}, "c.json")

    assert function_spec(template, "OrdersFunction", env_vars=by_name).environment["MODE"] == "by-name"
    assert function_spec(template, "OrdersFunction", env_vars=both).environment["MODE"] == "by-id"
    assert function_spec(template, "OrdersFunction", env_vars=empty_id).environment["MODE"] == "by-name"


@pytest.mark.parametrize(
    ("value", "text"),
    [("s", "s"), (True, "true"), (False, "false"), (3, "3"), (1.5, "1.5"), (None, ""), ([1], ""), ({"a": 1}, "")],
)
def test_values_are_strings_as_sam_cli_makes_them(value: Any, text: str) -> None:
    assert sam_string(value) == text


def test_a_list_or_object_value_is_empty_with_a_warning(template: Path) -> None:
    overrides = env_file(template.parent, {"OrdersFunction": {"MODE": ["a"], "TABLE_NAME": 7}})
    spec = function_spec(template, "OrdersFunction", env_vars=overrides)
    assert (spec.environment["MODE"], spec.environment["TABLE_NAME"]) == ("", "7")
    assert (
        f"--env-vars {overrides}: OrdersFunction.MODE is an array; like sam local, hookkit sets it to an empty "
        "string: write the value as a string"
    ) in spec.warnings


# --- warnings: once per variable, naming the key that sets it; none once it is set ---------------


def test_each_unresolved_variable_is_named_once_with_the_key_that_sets_it(template: Path) -> None:
    spec = function_spec(template, "OrdersFunction")
    assert spec.warnings == (
        "OrdersFunction.TABLE_NAME is <Ref OrdersTable> locally (OrdersTable is a resource; its physical id exists "
        'only after deployment): set it with --env-vars ({"OrdersFunction": {"TABLE_NAME": ...}}) or in the shell',
        "OrdersFunction.QUEUE_URL is <GetAtt Queue.QueueUrl> locally (Queue is not a resource of this template): "
        'set it with --env-vars ({"OrdersFunction": {"QUEUE_URL": ...}}) or in the shell',
        "OrdersFunction.FROM_SSM is /orders/table locally (parameter TableParam is of type "
        "AWS::SSM::Parameter::Value<String>: locally its value is the SSM parameter's name, not its value; pass the "
        'value as parameter TableParam=VALUE): set it with --env-vars ({"OrdersFunction": {"FROM_SSM": ...}}) or '
        "in the shell",
    )


def test_a_variable_set_by_the_file_or_the_shell_is_not_warned_about(template: Path) -> None:
    overrides = env_file(template.parent, {"OrdersFunction": {"TABLE_NAME": "orders-dev"}})
    spec = function_spec(template, "OrdersFunction", env_vars=overrides,
                         shell_env={"QUEUE_URL": "http://q", "FROM_SSM": "t"})
    assert spec.warnings == ()
    assert spec.notes[0].endswith("; from the shell: QUEUE_URL, FROM_SSM; from --env-vars: TABLE_NAME")


def test_typos_in_the_file_are_pointed_out(template: Path) -> None:
    overrides = env_file(template.parent, {"OrderFunction": {"TABLE_NAME": "x"}, "OrdersFunction": {"TABEL": "y"}})
    spec = function_spec(template, "OrdersFunction", env_vars=overrides)
    assert (
        f"--env-vars {overrides}: OrdersFunction.TABEL is not set: OrdersFunction does not declare TABEL in "
        "Environment.Variables (sam local sets declared variables only); declare it in the template"
    ) in spec.warnings
    assert (
        f"--env-vars {overrides}: 'OrderFunction' is not a function of the template (nor \"Parameters\"); its values "
        "are not used: key them by the function's logical id"
    ) in spec.warnings
    # keys naming other functions, by logical id or FunctionName, are fine
    fine = env_file(template.parent, {"OtherFunction": {}, "orders-api": {"MODE": "m"}}, "fine.json")
    assert not [w for w in function_spec(template, "OtherFunction", env_vars=fine).warnings if "--env-vars" in w]


# --- a bad file is a configuration error naming the file and the fix -------------------------------


SHAPE = '{"OrdersFunction": {"TABLE_NAME": "orders-dev"}, "Parameters": {"LOG_LEVEL": "DEBUG"}}'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"OrdersFunction": {"A": 1},\n}', "{path}, line 2, column 1: invalid JSON (Expecting property name "
         "enclosed in double quotes); fix the file (the format is SAM CLI's: " + SHAPE + ")"),
        ("[1, 2]", "{path} holds a JSON array, not an object of functions to variables; the format is SAM CLI's: "
         + SHAPE),
        ('{"OrdersFunction": "TABLE_NAME=x"}', "{path}: 'OrdersFunction' holds a JSON string; each key (a "
         "function's logical id or FunctionName, or \"Parameters\" for every function) holds an object of variable "
         "names to values: the format is SAM CLI's: " + SHAPE),
        ('{"Parameters": null}', "{path}: 'Parameters' holds a JSON null; each key"),
        ("[" * 100_000, "{path}: invalid JSON ("),
    ],
)
def test_a_bad_file_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = env_file(tmp_path, content)
    with pytest.raises(ConfigurationError) as caught:
        load_env_vars(path)
    assert str(caught.value).startswith("--env-vars " + message.replace("{path}", str(path)))


def test_a_missing_or_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"^--env-vars .*nope\.json does not exist; pass the path of a JSON"):
        load_env_vars(tmp_path / "nope.json")
    (tmp_path / "latin.json").write_bytes(b'{"\xff": {}}')
    with pytest.raises(ConfigurationError, match=r"latin\.json cannot be read \(.*\); pass a UTF-8 JSON file$"):
        load_env_vars(tmp_path / "latin.json")


def test_a_value_no_environment_can_hold_is_refused_naming_the_file(template: Path) -> None:
    overrides = env_file(template.parent, {"OrdersFunction": {"MODE": "a\u0000b"}})
    with pytest.raises(ConfigurationError) as caught:
        function_spec(template, "OrdersFunction", env_vars=overrides)
    assert str(caught.value) == (
        f"SAM template {template}: OrdersFunction: environment variable 'MODE' (from --env-vars {overrides}) cannot "
        "be set: a name must be non-empty without '=' and neither name nor value may hold a NUL character; fix it"
    )


def test_the_file_is_read_by_function_spec_too(template: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"^--env-vars .*missing\.json does not exist"):
        function_spec(template, "OrdersFunction", env_vars=template.parent / "missing.json")


# --- hookkit run --env-vars, and the shell, end to end --------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(textwrap.dedent("""\
        import os

        def handler(event, context):
            return {name: os.environ.get(name) for name in ("TABLE_NAME", "MODE", "UNDECLARED")}
        """))
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "checks.py").write_text(textwrap.dedent("""\
        from hookkit import pre_traffic

        @pre_traffic
        def reads_its_table(target):
            target.invoke({}).expect(fields={"/TABLE_NAME": "orders-dev", "/MODE": "ci", "/UNDECLARED": None})
        """))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    from hookkit.ci.cli import main

    code = main(["run", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("fresh_default_registry")
def test_hookkit_run_with_env_vars_and_the_shell(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_file(project, {"OrdersFunction": {"TABLE_NAME": "orders-dev"}, "Parameters": {"UNDECLARED": "x"}})
    monkeypatch.setenv("MODE", "ci")
    target = f"local:{project / 'template.yaml'}#OrdersFunction"

    code, out, err = run(capsys, project / "checks.py", "--phase", "pre", "--target", target, "--env-vars", env)

    assert code == 0, out + err
    assert "hookkit: OrdersFunction: no Runtime (runs on this Python); code " in err
    assert "from the shell: MODE; from --env-vars: TABLE_NAME" in err
    assert "TABLE_NAME is <Ref OrdersTable>" not in err
    assert "QUEUE_URL is <GetAtt Queue.QueueUrl> locally" in err  # still unset: still warned about


@pytest.mark.usefixtures("fresh_default_registry")
def test_hookkit_run_refuses_a_bad_env_vars_file_with_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = env_file(project, "[]")
    code, _, err = run(capsys, project / "checks.py", "--target", f"local:{project / 'template.yaml'}#OrdersFunction",
                       "--env-vars", bad)
    assert code == 2
    assert err.startswith(f"hookkit: error: --env-vars {bad} holds a JSON array")
