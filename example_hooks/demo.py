"""`make demo`: three releases of the example orders function, rehearsed with `hookkit simulate`.

Each release is a whole CodeDeploy deployment played on this machine: the PreTraffic hook (the
real `hookkit.handler`, in a process of its own, calling stand-ins for CodeDeploy and Lambda on
127.0.0.1), a Canary10Percent5Minutes traffic shift with recorded traffic replayed through the
alias, the alias's Errors alarm, the PostTraffic hook, and the rollback CodeDeploy would make. The
clock is virtual: the five-minute canary takes seconds. Nothing reaches AWS; no Docker.

Release 1 moves traffic from v1 to v2 (the build template.yaml deploys): it deploys.
Release 2 ships a build that lost its input validation: the PreTraffic hook reports Failed.
Release 3 ships a build that passes the hooks but crashes on some orders: the alarm rolls it back.
Exits 0 when all three end as expected.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hookkit.ci.cli import main as hookkit

ROOT = Path(__file__).resolve().parent.parent
ORDERS = Path("example_hooks") / "orders"
RELEASES = [
    ("v1 -> v2, adds input validation (the build template.yaml deploys)", "v1", "v2", "success"),
    ("v2 -> v1, a build that lost its input validation", "v2", "v1", "rollback"),
    ("v2 -> v3, a build that crashes on orders for items it keeps no stock of", "v2", "v3", "rollback"),
]
GREEN, RED, RESET = ("\033[32m", "\033[31m", "\033[0m") if sys.stdout.isatty() else ("",) * 3


def main() -> int:
    os.chdir(ROOT)
    print("hookkit demo: three releases of the example orders API, each rehearsed as CodeDeploy would run it")
    print("(hookkit simulate: hooks, canary traffic shifting, alarms, rollback; no AWS, no Docker)")
    as_expected = []
    for number, (title, current, new, expect) in enumerate(RELEASES, start=1):
        print(f"\n=== Release {number}: {title}\n", flush=True)
        code = hookkit([
            "simulate", "template.yaml#OrdersFunction", "--from", str(ORDERS / current), "--to", str(ORDERS / new),
            "--traffic", str(ORDERS / "traffic"), "--expect", expect,
        ])
        as_expected.append(code == 0)
    print()
    if all(as_expected):
        print(f"{GREEN}Demo OK{RESET}: the good release deployed, the broken one was stopped by its PreTraffic hook, "
              "and the one that failed under traffic was rolled back by its alarm.")
        return 0
    print(f"{RED}Demo FAILED{RESET}: releases ending as expected: {as_expected}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
