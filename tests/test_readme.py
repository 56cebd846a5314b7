"""The README's first example is the product's promise: it must run, unchanged, on the example.

Its code block is written next to the example's recorded events and schemas (the paths it names)
and run with ``hookkit run`` against the example function's own code and the in-process API.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / "example_hooks" / "orders" / "hooks"


def first_python_block() -> str:
    text = (ROOT / "README.md").read_text()
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_the_readme_example_runs_unchanged_against_the_example_function(tmp_path: Path) -> None:
    code = first_python_block()
    assert "@pre_traffic" in code and "@post_traffic" in code
    (tmp_path / "readme_checks.py").write_text(code)
    (tmp_path / "events").mkdir()
    shutil.copy(HOOKS / "events" / "api" / "create_order.json", tmp_path / "events" / "create_order.json")
    shutil.copytree(HOOKS / "schemas", tmp_path / "schemas")
    done = subprocess.run(
        [sys.executable, "-m", "hookkit", "run", str(tmp_path / "readme_checks.py"),
         "--target", f"local:{ROOT / 'template.yaml'}#OrdersFunction", "--api", "local"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BeforeAllowTraffic: Succeeded - all 1 blocking check(s) passed" in done.stdout
    assert "AfterAllowTraffic: Succeeded - all 1 blocking check(s) passed" in done.stdout
