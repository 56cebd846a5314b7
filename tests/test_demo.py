"""`make demo` is part of the product: three rehearsed releases, each ending as the README says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_deploys_the_good_release_and_rolls_back_the_two_broken_ones() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "example_hooks" / "demo.py")], capture_output=True, text=True,
                          timeout=180, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    _, release_1, release_2, release_3 = out.split("=== Release ")
    assert "The deployment would SUCCEED" in release_1
    assert release_1.count("reported Succeeded") == 2  # both hooks
    assert "live: version 1 90%, version 2 10%" in release_1 and "live: version 2 100%" in release_1

    assert "Cause: the BeforeAllowTraffic hook CodeDeployHook_orders-PreTraffic-00000000 reported Failed" in release_2
    assert "rejects_an_order_without_customer (failed)" in release_2
    assert "status: expected 400, got 201" in release_2
    assert "AfterAllowTraffic does not run" in release_2 and "AfterAllowTraffic  CodeDeploy invokes" not in release_2

    assert "Cause: alarm OrdersAliasErrorsAlarm went to ALARM" in release_3
    assert "KeyError: 'POSTER-KOI'" in release_3
    assert release_3.count("reported Succeeded") == 1  # it passed the PreTraffic hook
    assert "Demo OK" in out
