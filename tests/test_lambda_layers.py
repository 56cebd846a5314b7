"""A function's Layers, read as sam local does: local layers become /opt roots, the rest are named."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hookkit.core.errors import ConfigurationError
from hookkit.local.sam import function_spec


def project(folder: Path, layers_yaml: str, resources: str = "", globals_layers: str = "") -> Path:
    """A template whose function Fn has ``Layers: layers_yaml`` next to ``resources``."""
    (folder / "src").mkdir(exist_ok=True)
    (folder / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    globals_ = f"Globals:\n  Function:\n    Layers: {globals_layers}\n" if globals_layers else ""
    text = (
        "Transform: AWS::Serverless-2016-10-31\n"
        "Parameters:\n  Stage: {Type: String, Default: dev}\n  PowertoolsArn: {Type: String, Default: "
        "'arn:aws:lambda:us-east-1:017000801446:layer:Powertools:7'}\n"
        "Conditions:\n  IsDev: !Equals [!Ref Stage, dev]\n"
        f"{globals_}Resources:\n"
        "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        f"      CodeUri: src\n      Handler: app.handler\n      Runtime: python3.12\n      Layers: {layers_yaml}\n"
        + textwrap.indent(textwrap.dedent(resources), "  ")
    )
    path = folder / "template.yaml"
    path.write_text(text)
    return path


def layer_folder(folder: Path, name: str, *, python: bool = True) -> Path:
    """A layer's content: ``python/<name>.py`` (prebuilt) or ``<name>.py`` at the root (to be built)."""
    root = folder / "layers" / name
    code = root / "python" if python else root
    code.mkdir(parents=True)
    (code / f"{name}.py").write_text("VALUE = 1\n")
    return root


SHARED = """\
SharedLayer:
  Type: AWS::Serverless::LayerVersion
  Properties:
    ContentUri: layers/shared
"""
UTILS = """\
UtilsLayer:
  Type: AWS::Lambda::LayerVersion
  Properties:
    Content: layers/utils
"""


def test_local_layers_are_opt_roots_in_order(tmp_path: Path) -> None:
    shared, utils = layer_folder(tmp_path, "shared"), layer_folder(tmp_path, "utils")
    path = project(tmp_path, "[!Ref UtilsLayer, !Ref SharedLayer]", SHARED + UTILS)
    spec = function_spec(path, "Fn")
    assert spec.layers == (utils.resolve(), shared.resolve())
    assert (spec.remote_layers, spec.warnings) == ((), ())
    assert "; layers UtilsLayer, SharedLayer" in spec.notes[0]


def test_globals_layers_come_first_as_sam_merges_them(tmp_path: Path) -> None:
    shared, utils = layer_folder(tmp_path, "shared"), layer_folder(tmp_path, "utils")
    path = project(tmp_path, "[!Ref SharedLayer]", SHARED + UTILS, globals_layers="[!Ref UtilsLayer]")
    assert function_spec(path, "Fn").layers == (utils.resolve(), shared.resolve())


def test_layer_arns_are_not_available_locally_and_say_so(tmp_path: Path) -> None:
    path = project(tmp_path, "[!Ref PowertoolsArn, !Sub 'arn:aws:lambda:${AWS::Region}:1:layer:x:2', "
                             "!GetAtt App.Outputs.LayerArn]", "App:\n  Type: AWS::Serverless::Application\n")
    spec = function_spec(path, "Fn")
    assert spec.layers == ()
    assert spec.remote_layers == (
        "arn:aws:lambda:us-east-1:017000801446:layer:Powertools:7", "arn:aws:lambda:us-east-1:1:layer:x:2",
        "<GetAtt App.Outputs.LayerArn>",
    )
    assert spec.warnings[0] == (
        "Fn.Properties.Layers[0]: layer arn:aws:lambda:us-east-1:017000801446:layer:Powertools:7 is not available "
        "locally (hookkit does not download layers); the function runs without it: install what it provides where "
        "the function runs locally, or declare the layer in this template"
    )
    assert spec.warnings[2].startswith(
        "Fn.Properties.Layers[2]: layer <GetAtt App.Outputs.LayerArn> is not available locally (attributes of App "
        "exist only after deployment; hookkit does not download layers)"
    )
    assert len(spec.warnings) == 3  # one per layer, not one more for the intrinsic


def test_a_condition_picks_the_layer(tmp_path: Path) -> None:
    shared = layer_folder(tmp_path, "shared")
    path = project(tmp_path, "[!If [IsDev, !Ref SharedLayer, !Ref AWS::NoValue]]", SHARED)
    assert function_spec(path, "Fn").layers == (shared.resolve(),)
    assert function_spec(path, "Fn", parameters={"Stage": "prod"}).layers == ()


def test_an_unbuilt_python_layer_plays_opt_python_as_sam_build_would_make_it(tmp_path: Path) -> None:
    source = layer_folder(tmp_path, "shared", python=False)
    path = project(tmp_path, "[!Ref SharedLayer]", SHARED + "  Metadata:\n    BuildMethod: python3.12\n")
    (root,) = function_spec(path, "Fn").layers
    assert root != source.resolve()
    assert (root / "python").resolve() == source.resolve()
    assert (root / "python" / "shared.py").read_text() == "VALUE = 1\n"


def test_a_prebuilt_layer_with_a_build_method_is_used_as_it_is(tmp_path: Path) -> None:
    built = layer_folder(tmp_path, "shared")  # python/ already there: built (or laid out by hand)
    path = project(tmp_path, "[!Ref SharedLayer]", SHARED + "  Metadata:\n    BuildMethod: python3.12\n")
    assert function_spec(path, "Fn").layers == (built.resolve(),)


def test_a_layer_in_s3_is_named_as_not_available(tmp_path: Path) -> None:
    path = project(tmp_path, "[!Ref SharedLayer]", """\
        SharedLayer:
          Type: AWS::Serverless::LayerVersion
          Properties:
            ContentUri: s3://bucket/layer.zip
        """)
    spec = function_spec(path, "Fn")
    assert (spec.layers, spec.remote_layers) == ((), ("SharedLayer",))
    assert spec.warnings == (
        f"SAM template {path}: Fn: layer SharedLayer's ContentUri 's3://bucket/layer.zip' is in S3, which is not "
        "available locally; point ContentUri at the layer's folder",
    )


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (SHARED, "layer SharedLayer: ContentUri 'layers/shared' -> {folder} does not exist; fix the path (ContentUri "
                 "is relative to the template's folder) or build the layer first"),
        ("SharedLayer:\n  Type: AWS::Serverless::LayerVersion\n  Properties: {}\n",
         "layer SharedLayer has no ContentUri; point it at the layer's folder"),
        ('SharedLayer:\n  Type: AWS::Serverless::LayerVersion\n  Properties: {ContentUri: "a\\0b"}\n',
         "layer SharedLayer: ContentUri 'a\\x00b' is not a usable path (embedded null byte); fix it"),
    ],
)
def test_a_local_layer_that_is_not_there_is_a_configuration_error(tmp_path: Path, resources: str, message: str) -> None:
    path = project(tmp_path, "[!Ref SharedLayer]", resources)
    with pytest.raises(ConfigurationError) as caught:
        function_spec(path, "Fn")
    folder = (tmp_path / "layers" / "shared").resolve()
    assert str(caught.value) == f"SAM template {path}: Fn: " + message.replace("{folder}", str(folder))


def test_layers_that_are_not_a_list_are_refused(tmp_path: Path) -> None:
    path = project(tmp_path, "arn:aws:lambda:us-east-1:1:layer:x:2")
    with pytest.raises(ConfigurationError, match=r"Fn: Layers must be a list of layer ARNs or !Ref to layers$"):
        function_spec(path, "Fn")
