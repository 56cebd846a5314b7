"""hookkit's types hold for its users: a typed checks file from the README passes ``mypy --strict``,
and a decorated check keeps its own type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

README = Path(__file__).resolve().parent.parent / "README.md"


def typed_example() -> str:
    text = README.read_text()
    found = re.search(r"<!-- readme-typed-checks -->\n```python\n(.*?)```", text, re.S)
    assert found, "README.md lost its typed checks example (marker readme-typed-checks)"
    return found.group(1)


def test_the_readme_typed_checks_pass_mypy_strict(tmp_path: Path) -> None:
    checks = tmp_path / "typed_checks.py"
    checks.write_text(typed_example() + "\nreveal_type(creates_an_order)\nreveal_type(order_api_answers)\n")
    out, err, status = mypy_api.run(
        ["--strict", "--no-error-summary", "--cache-dir", str(tmp_path / ".mypy_cache"), str(checks)]
    )
    revealed = [line for line in out.splitlines() if "Revealed type" in line]
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert not errors, out + err
    assert 'def (target: hookkit.checks.target.Target)' in revealed[0], revealed
    assert 'def (api: hookkit.checks.smoke.Api)' in revealed[1], revealed
    assert status == 0, out + err


def test_mypy_strict_finds_a_mistyped_check(tmp_path: Path) -> None:
    """The check above could not pass vacuously: the same run finds a real mistake."""
    checks = tmp_path / "wrong.py"
    checks.write_text(
        "from hookkit import Target, pre_traffic\n\n\n"
        "@pre_traffic\ndef creates(target: Target) -> None:\n"
        "    target.invoke('e.json').expect(status='201')\n"
    )
    out, _, _ = mypy_api.run(["--strict", "--cache-dir", str(tmp_path / ".mypy_cache"), str(checks)])
    assert 'Argument "status" to "expect"' in out, out


def test_an_async_check_keeps_its_type_under_mypy_strict(tmp_path: Path) -> None:
    checks = tmp_path / "async_checks.py"
    checks.write_text(
        "from hookkit import Target, pre_traffic\n\n\n"
        "@pre_traffic(timeout=10)\nasync def creates(target: Target) -> None:\n"
        "    target.invoke('e.json').expect(status=201)\n\n\n"
        "@pre_traffic\nasync def answers(target: Target) -> bool:\n"
        "    return target.invoke({}).function_error is None\n\n\n"
        "reveal_type(creates)\nreveal_type(answers)\n"
    )
    out, err, status = mypy_api.run(
        ["--strict", "--no-error-summary", "--cache-dir", str(tmp_path / ".mypy_cache"), str(checks)]
    )
    revealed = [line for line in out.splitlines() if "Revealed type" in line]
    assert [line for line in out.splitlines() if ": error:" in line] == [], out + err
    assert "def (target: hookkit.checks.target.Target) -> typing.Coroutine[Any, Any, None]" in revealed[0], revealed
    assert "def (target: hookkit.checks.target.Target) -> typing.Coroutine[Any, Any, bool]" in revealed[1]
    assert status == 0, out + err
