"""sam build's output, used when it is there (as sam local does), and the template's folder as default CodeUri."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from hookkit.core.errors import ConfigurationError
from hookkit.local.sam import function_spec

SOURCE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layers/shared
    Metadata:
      BuildMethod: python3.12
  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/orders
      Handler: app.handler
      Layers: [!Ref SharedLayer]
"""
# What `sam build` writes: the same template, CodeUri/ContentUri pointing at the built folders.
BUILT = SOURCE.replace("ContentUri: layers/shared", "ContentUri: SharedLayer").replace(
    "CodeUri: src/orders", "CodeUri: OrdersFunction"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A project as `sam build` leaves it: sources, and .aws-sam/build/ with the function and layer built."""
    write(tmp_path / "template.yaml", SOURCE)
    write(tmp_path / "src" / "orders" / "app.py", "def handler(event, context):\n    return 'source'\n")
    write(tmp_path / "layers" / "shared" / "shared.py", "WHERE = 'source'\n")
    build = tmp_path / ".aws-sam" / "build"
    write(build / "OrdersFunction" / "app.py", "def handler(event, context):\n    return 'built'\n")
    write(build / "SharedLayer" / "python" / "shared.py", "WHERE = 'built'\n")
    built = write(build / "template.yaml", BUILT)
    past = time.time() - 60  # sources older than the build
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != built:
            os.utime(path, (past, past))
    return tmp_path


def test_the_build_is_used_when_it_is_there(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(app)
    spec = function_spec(app / "template.yaml", "OrdersFunction")
    build = (app / ".aws-sam" / "build").resolve()
    assert spec.code_uri == build / "OrdersFunction"
    assert spec.layers == (build / "SharedLayer",)
    assert spec.template == (app / "template.yaml").resolve()
    assert spec.notes == (
        "OrdersFunction: Runtime python3.12; code .aws-sam/build/OrdersFunction (sam build output, "
        ".aws-sam/build/template.yaml); layers SharedLayer",
    )
    assert spec.warnings == ()


def test_without_the_build_the_sources_run(app: Path) -> None:
    spec = function_spec(app / "template.yaml", "OrdersFunction", use_build=False)
    assert spec.code_uri == (app / "src" / "orders").resolve()
    assert "no sam build output" in spec.notes[0]
    (layer,) = spec.layers  # unbuilt: its folder plays /opt/python
    assert (layer / "python" / "shared.py").read_text() == "WHERE = 'source'\n"


def test_the_built_template_can_be_named_directly(app: Path) -> None:
    spec = function_spec(app / ".aws-sam" / "build" / "template.yaml", "OrdersFunction")
    assert spec.code_uri == (app / ".aws-sam" / "build" / "OrdersFunction").resolve()


def test_a_code_folder_named_after_at_wins_over_the_build(app: Path) -> None:
    spec = function_spec(app / "template.yaml", "OrdersFunction", code_uri=app / "src" / "orders")
    assert spec.code_uri == (app / "src" / "orders").resolve()
    assert spec.layers == ((app / ".aws-sam" / "build" / "SharedLayer").resolve(),)


def test_a_source_changed_after_the_build_is_warned_about(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(app)
    changed = app / "src" / "orders" / "app.py"
    os.utime(changed, (time.time() + 60, time.time() + 60))
    assert function_spec(app / "template.yaml", "OrdersFunction").warnings == (
        "OrdersFunction: src/orders/app.py changed after sam build wrote .aws-sam/build/template.yaml: the run uses "
        "the built code, as sam local does; run sam build again (or delete .aws-sam/build to run the sources)",
    )


def test_a_build_of_another_template_is_not_used(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(app)
    write(app / "template.yaml", SOURCE.replace("OrdersFunction:", "PaymentsFunction:"))
    spec = function_spec(app / "template.yaml", "PaymentsFunction")
    assert spec.code_uri == (app / "src" / "orders").resolve()
    assert spec.warnings[0] == (
        ".aws-sam/build/template.yaml (sam build output) has no PaymentsFunction, so it was built from another "
        "template; using template.yaml: run sam build again"
    )


# --- CodeUri defaults to the template's folder (a stock `sam init` layout) ----------------------


def test_no_code_uri_means_the_templates_folder(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "def handler(event, context):\n    return 1\n")
    path = write(tmp_path / "template.yaml", """\
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.13
        """)
    spec = function_spec(path, "Fn")
    assert (spec.code_uri, spec.runtime) == (tmp_path.resolve(), "python3.13")


def test_inline_code_is_still_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "template.yaml", """\
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {Handler: index.handler, InlineCode: "def handler(e, c): pass"}
        """)
    with pytest.raises(ConfigurationError, match="Fn uses InlineCode, which is not supported locally"):
        function_spec(path, "Fn")


@pytest.mark.parametrize(
    ("runtime", "message"),
    [
        ("python", "Fn: Runtime 'python' is not a Lambda Python runtime; use one such as python3.12"),
        ("python2.7", "Fn: Runtime 'python2.7' is not a Lambda Python runtime; use one such as python3.12"),
        ("java21", "Fn runs on java21: local targets run Python functions only (in worker processes of a "
                   "Lambda Python runtime); check a deployed version instead with --target NAME:VERSION "
                   "(e.g. orders:7)"),
    ],
)
def test_runtimes_that_cannot_run_are_refused(tmp_path: Path, runtime: str, message: str) -> None:
    path = write(tmp_path / "template.yaml", f"""\
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {{Handler: app.handler, Runtime: {runtime}}}
        """)
    with pytest.raises(ConfigurationError) as caught:
        function_spec(path, "Fn")
    assert str(caught.value) == f"SAM template {path}: {message}"


def test_the_runtime_comes_from_globals_unless_the_function_says(tmp_path: Path) -> None:
    path = write(tmp_path / "template.yaml", """\
        Globals:
          Function: {Runtime: python3.11, Handler: app.handler}
        Resources:
          A: {Type: AWS::Serverless::Function}
          B: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.13}}
        """)
    assert (function_spec(path, "A").runtime, function_spec(path, "B").runtime) == ("python3.11", "python3.13")
