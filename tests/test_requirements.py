"""Is a function's requirements.txt satisfied where it runs? If not, say what is missing and the fixes."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from hookkit.local import requirements
from hookkit.local.requirements import explain_missing_module, requirements_warning
from hookkit.local.runtime import OWN_VERSION
from hookkit.local.sam import FunctionSpec

ABSENT = "hookkit-test-no-such-distribution"
OWN = f"Python {sys.version_info.major}.{sys.version_info.minor} ({sys.executable})"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    requirements._inventory.cache_clear()
    requirements._requirements.cache_clear()


def spec_for(code: Path, **changes: object) -> FunctionSpec:
    """A function declaring the Python running the tests, unless ``runtime`` says otherwise."""
    fields: dict[str, object] = {
        "logical_id": "Fn", "code_uri": code, "handler": "app.handler", "runtime": f"python{OWN_VERSION}",
        "timeout": 3.0, "memory_size": 128, "environment": {}, "function_name": "local-Fn", "routes": (),
        "warnings": (), "template": code.parent / "template.yaml",
    }
    return FunctionSpec(**{**fields, **changes})  # type: ignore[arg-type]


def code_with(folder: Path, requirements_txt: str, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text(textwrap.dedent(requirements_txt))
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def dist_info(folder: Path, name: str, version: str) -> None:
    """An installed distribution, as pip (or sam build) leaves it next to the code."""
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_what_is_missing_or_the_wrong_version_is_listed(tmp_path: Path) -> None:
    code = code_with(tmp_path / "src", f"""\
        # the function's packages
        PyYAML>=5            # installed (a hookkit dependency): fine
        {ABSENT}>=1.0 --hash=sha256:abc
        pytest<1.0           # installed, another version
        old-thing==1.0; python_version < "3.0"
        -e ./local-package
        --index-url https://example.invalid/simple
        git+https://example.invalid/repo.git#egg=thing
        """)
    warning = requirements_warning(spec_for(code))
    assert warning is not None
    assert f": {ABSENT}>=1.0 (not installed), pytest<1.0 ({pytest.__version__} installed); run" in warning


def test_packages_in_the_code_folder_and_layers_count(tmp_path: Path) -> None:
    code = code_with(tmp_path / "src", "vendored-thing==2.1\nlayer-thing>=1\n")
    dist_info(code, "vendored-thing", "2.1")
    layer = tmp_path / "layer"
    dist_info(layer / "python" / "lib" / f"python{OWN_VERSION}" / "site-packages", "layer-thing", "1.5")
    assert requirements_warning(spec_for(code, layers=(layer,))) is None
    assert f"for what {OWN} does not have: layer-thing>=1 (not installed);" in str(requirements_warning(spec_for(code)))


def test_a_layers_packages_for_another_python_do_not_count(tmp_path: Path) -> None:
    """The function's Python looks in its own version's site-packages only, as in Lambda."""
    code = code_with(tmp_path / "src", "layer-thing>=1\n")
    layer = tmp_path / "layer"
    dist_info(layer / "python" / "lib" / "python3.7" / "site-packages", "layer-thing", "1.5")
    assert "layer-thing>=1 (not installed)" in str(requirements_warning(spec_for(code, layers=(layer,))))


def test_included_files_are_followed_and_a_layers_requirements_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = code_with(tmp_path / "src", "-r base.txt\n", **{"base.txt": f"{ABSENT}-a\n"})
    layer = tmp_path / "layer"
    code_with(layer / "python", f"{ABSENT}-b \\\n  >=2\n")
    warning = requirements_warning(spec_for(code, layers=(layer,)))
    assert warning is not None
    assert f"layer/python/requirements.txt and src/base.txt ask for what {OWN} does not have: " in warning
    assert f": {ABSENT}-a (not installed), {ABSENT}-b    >=2 (not installed); run" in warning


def test_the_warning_names_the_files_what_is_missing_and_both_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = code_with(tmp_path / "src", f"{ABSENT}>=1\n")
    assert requirements_warning(spec_for(code)) == (
        f"Fn: src/requirements.txt asks for what {OWN} does not have: {ABSENT}>=1 (not installed); run "
        "`sam build` in this folder (hookkit then runs its output, as sam local does), or install them for that "
        f"interpreter: {sys.executable} -m pip install -r src/requirements.txt"
    )


def test_nothing_to_say_when_all_is_there_or_there_is_no_requirements_file(tmp_path: Path) -> None:
    assert requirements_warning(spec_for(code_with(tmp_path / "a", "PyYAML\n"))) is None
    (tmp_path / "b").mkdir()
    assert requirements_warning(spec_for(tmp_path / "b")) is None


def test_a_missing_module_is_explained_by_the_requirements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = code_with(tmp_path / "src", f"{ABSENT}\n", **{"helpers/__init__.py": ""})
    spec = spec_for(code)
    hint = explain_missing_module(spec, "absent_module")
    assert hint is not None and hint.startswith("src/requirements.txt asks for what Python")
    assert requirements_warning(spec) == f"Fn: {hint}"
    # the function's own module missing is the code's problem, not a package's
    assert explain_missing_module(spec, "helpers.missing") is None


def test_a_missing_module_may_come_from_a_layer_that_is_not_available(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    spec = spec_for(tmp_path / "src", remote_layers=("arn:aws:lambda:us-east-1:1:layer:tools:3",))
    assert explain_missing_module(spec, "tools.client") == (
        "'tools' may be provided by a layer that is not available locally (arn:aws:lambda:us-east-1:1:layer:tools:3): "
        "install what the layer provides where the function runs locally (pip install ...), or add it to the "
        "function's requirements.txt"
    )
    assert explain_missing_module(spec_for(tmp_path / "src"), "tools") is None


def test_another_interpreter_is_asked_in_a_subprocess(tmp_path: Path) -> None:
    other = tmp_path / "bin" / "python-other"
    other.parent.mkdir()
    os.symlink(sys.executable, other)  # another path: asked as another interpreter would be
    code = code_with(tmp_path / "src", f"vendored-thing>=2\n{ABSENT}\nonly-old==1; python_version < '3.0'\n")
    dist_info(code, "vendored-thing", "2.0")

    warning = requirements_warning(spec_for(code), python=str(other))

    assert warning is not None and f"what {other} (" in warning
    assert f"does not have: {ABSENT} (not installed); run" in warning  # vendored-thing is there, only-old not for it


def test_an_interpreter_that_cannot_be_asked_says_nothing(tmp_path: Path) -> None:
    code = code_with(tmp_path / "src", f"{ABSENT}\n")
    assert requirements_warning(spec_for(code), python=str(tmp_path / "no-such-python")) is None


def test_without_python_the_functions_runtime_is_asked_as_a_local_target_would_run_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    os.symlink(sys.executable, bin_ / "python3.97")  # the Runtime's python3.97, as the invoker finds it
    (bin_ / "python3.98").write_text("#!/bin/sh\nexit 1\n")  # one that cannot start (a stale pyenv shim)
    (bin_ / "python3.98").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_}{os.pathsep}{os.environ['PATH']}")
    code = code_with(tmp_path / "src", f"{ABSENT}\n")

    assert f"asks for what {bin_ / 'python3.97'} (" in str(requirements_warning(spec_for(code, runtime="python3.97")))
    # the invoker runs it under hookkit's own Python then, and so that is the one checked
    assert f"asks for what {OWN} does not have" in str(requirements_warning(spec_for(code, runtime="python3.98")))


# --- hookkit run: the warning up front, the explanation when the handler cannot import ------------


@pytest.mark.usefixtures("fresh_default_registry")
def test_hookkit_run_explains_a_handler_that_needs_a_missing_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hookkit.ci.cli import main

    monkeypatch.chdir(tmp_path)
    code_with(tmp_path / "src", "hookkit_test_absent_pkg>=1\n", **{"app.py": "import hookkit_test_absent_pkg\n"})
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: src, Handler: app.h}\n"
    )
    (tmp_path / "checks.py").write_text("from hookkit import pre_traffic\n\n@pre_traffic\ndef a(target):\n    pass\n")

    code = main(["run", "checks.py", "--target", "local:template.yaml#Fn"])

    err = capsys.readouterr().err
    assert code == 2
    assert "No module named 'hookkit_test_absent_pkg'" in err
    assert "src/requirements.txt asks for what Python" in err and "hookkit_test_absent_pkg>=1 (not installed)" in err
    assert "run `sam build` in this folder" in err and "fix the function's code" not in err
