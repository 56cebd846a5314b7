"""5. Scale: 1,000 checks registered in one phase.

Registration: the 1,000 functions (made beforehand) registered with ``registry.pre_traffic``,
timed, and measured with tracemalloc for the memory they keep; baseline, appending them to a
list, which is what a hand-written hook keeps. Runner: ``run_phase`` over 1,000 trivial checks
(each returns ``None``), time per check; baseline, a bare loop calling the same functions.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from harness import Row, alternate, median, ratio, us

from hookkit import HookRegistry, Phase
from hookkit.core.runner import run_phase

CHECKS = 1000
TARGET = 0.001  # seconds of hookkit time per check


def _functions() -> list[Callable[[], None]]:
    def make(n: int) -> Callable[[], None]:
        def check() -> None:
            return None

        check.__name__ = check.__qualname__ = f"check_{n:04d}"
        return check

    return [make(n) for n in range(CHECKS)]


def _register(functions: list[Callable[[], None]]) -> HookRegistry:
    registry = HookRegistry()
    for function in functions:
        registry.pre_traffic(function)
    return registry


def _kept(build: Callable[[], Any]) -> tuple[Any, int]:
    """What ``build`` returns, and the bytes allocated by it that are still held afterwards."""
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        built = build()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    return built, sum(stat.size_diff for stat in after.compare_to(before, "filename"))


def run(progress: Callable[[str], None], *, rounds: int = 5) -> list[Row]:
    functions = _functions()

    def timed(work: Callable[[], Any]) -> float:
        started = time.perf_counter()
        work()
        return time.perf_counter() - started

    registration = alternate(rounds, {
        "hookkit": lambda: timed(lambda: _register(functions)),
        "baseline": lambda: timed(lambda: list(functions)),
    }, progress, "scale: registration")
    memory = {"hookkit": _kept(lambda: _register(functions))[1], "baseline": _kept(lambda: list(functions))[1]}

    checks = _register(functions).checks(Phase.BEFORE_ALLOW_TRAFFIC)

    def hookkit_run() -> float:
        started = time.perf_counter()
        result = run_phase(checks, Phase.BEFORE_ALLOW_TRAFFIC, provide=_nothing, deadline=time.monotonic() + 60)
        elapsed = time.perf_counter() - started
        if result.verdict.value != "Succeeded" or len(result.outcomes) != CHECKS:
            raise RuntimeError(f"the 1,000 trivial checks did not all pass: {result.reason}")
        return elapsed

    def bare_loop() -> float:
        started = time.perf_counter()
        for function in functions:
            function()
        return time.perf_counter() - started

    running = alternate(rounds, {"hookkit": hookkit_run, "baseline": bare_loop}, progress, "scale: runner")
    reg_h, reg_b = median(registration["hookkit"]), median(registration["baseline"])
    run_h, run_b = median(running["hookkit"]) / CHECKS, median(running["baseline"]) / CHECKS
    return [
        Row(f"scale: register {CHECKS:,} checks in one phase (time)", f"{reg_h * 1000:.1f} ms",
            f"{reg_b * 1000:.2f} ms",
            ratio(reg_h, reg_b)),
        Row(f"  memory kept by {CHECKS:,} registrations (tracemalloc)", f"{memory['hookkit'] / 1024:,.0f} KiB",
            f"{memory['baseline'] / 1024:,.1f} KiB", ratio(memory["hookkit"], memory["baseline"])),
        Row(f"  runner time per check ({CHECKS:,} trivial checks)", us(run_h), us(run_b), "",
            f"< {TARGET * 1000:.0f} ms", run_h < TARGET),
    ]


def _nothing(name: str, check: Any, timeout: float) -> Any:
    raise AssertionError(f"a trivial check asked for {name}")
