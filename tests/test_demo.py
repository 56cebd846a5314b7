"""`make demo` is part of the product: it must keep showing a good release and a caught one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_passes_the_good_release_and_catches_the_broken_one() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "example_hooks" / "demo.py")], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    release_1, release_2 = out.split("Release 2:")
    assert release_1.count("reported to CodeDeploy: Succeeded") == 2
    assert "reported to CodeDeploy: Failed" in release_2 and "AfterAllowTraffic hook" not in release_2
    assert "FAIL rejects_an_order_without_customer" in release_2
    assert "status: expected 400, got 201" in release_2
    assert "Demo OK" in out
