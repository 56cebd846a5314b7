"""4. CI replay throughput: ``hookkit run`` over 10,000 recorded events against a bare loop.

hookkit side: ``hookkit run checks.py --target local:template.yaml#OrdersFunction --phase pre``, one
command as a CI job runs it, a checks file holding one ``recorded_events("events")`` line, each
event with an expect file naming a status and the order schema. The function runs in local
execution environments (worker processes, one per CPU by default). Baseline: ``replay_baseline.py``,
a loop calling the same handler in its own process and validating with a jsonschema validator
built once. Both are fresh processes timed from spawn to exit, so each pays its own imports; the
CPU time per event counts every process of a side (hookkit's environments included).

Then the environments themselves, measured in this process: the cold start of one (a process
started, the handler imported, the first call answered) next to a fresh Python process importing
the handler and calling it once; and a warm call, one after another, next to calling the handler
directly in-process (its overhead is the pipe round trip, the log capture and Lambda's context).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import workload
from harness import ROOT, Row, alternate, child_environment, median, medians, ms, ratio, run_child, us

TARGET = 1.0
WARM_CALLS = 500


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every waited-for descendant, environments included
    return usage.ru_utime + usage.ru_stime


def run(progress: Callable[[str], None], *, events: int = 10_000, rounds: int = 5) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="hookkit-bench-replay-") as tmp:
        progress(f"CI replay: writing {events:,} recorded events")
        folder = workload.build(Path(tmp) / "workload", events)
        if hasattr(os, "sync"):  # its 30 MB written out now, not by the kernel during the rounds
            os.sync()
        rows = _replay(progress, folder, events, rounds)
        return rows + _environments(progress, folder, rounds)


def _replay(progress: Callable[[str], None], folder: Path, events: int, rounds: int) -> list[Row]:
    env = child_environment()
    hookkit_args = ["-m", "hookkit", "run", "checks.py", "--target", "local:template.yaml#OrdersFunction",
                    "--phase", "pre"]
    baseline_args = [str(ROOT / "bench" / "replay_baseline.py"), str(folder)]

    def measured(args: list[str], check: Callable[[str], None]) -> dict[str, float]:
        cpu = _cpu_of_children()
        elapsed, out = run_child(args, env=env, cwd=folder, timeout=600)
        check(out)
        return {"wall": elapsed, "cpu": _cpu_of_children() - cpu}

    def passed_all(out: str) -> None:
        if f"all {events} blocking check(s) passed" not in out:
            raise RuntimeError(f"hookkit run did not pass all {events} events:\n{out[-2000:]}")

    def baseline_passed_all(out: str) -> None:
        if out.split() != [str(events), "0"]:
            raise RuntimeError(f"the baseline loop did not pass all {events} events: {out}")

    times = alternate(rounds, {
        "hookkit": lambda: measured(hookkit_args, passed_all),
        "baseline": lambda: measured(baseline_args, baseline_passed_all),
    }, progress, "CI replay")
    h, b = (medians(times[side]) for side in ("hookkit", "baseline"))
    return [
        Row(f"CI replay: {events:,} events, hookkit run (one command) vs bare loop (wall)", f"{h['wall']:.2f} s",
            f"{b['wall']:.2f} s", ratio(h["wall"], b["wall"]), f"<= {TARGET}", h["wall"] / b["wall"] <= TARGET),
        Row("CI replay throughput", f"{events / h['wall']:,.0f} events/s", f"{events / b['wall']:,.0f} events/s"),
        Row("CI replay CPU time per event, every process", us(h["cpu"] / events), us(b["cpu"] / events),
            ratio(h["cpu"], b["cpu"])),
    ]


def _environments(progress: Callable[[str], None], folder: Path, rounds: int) -> list[Row]:
    from hookkit.local.invoker import LocalInvoker
    from hookkit.local.sam import function_spec

    spec = function_spec(folder / "template.yaml", "OrdersFunction")
    payload = next(p for p in sorted((folder / "events").iterdir()) if not p.name.endswith(".expect.json"))
    event = payload.read_bytes()
    env = child_environment(**workload.ENVIRONMENT)
    fresh_process = [
        "-c",
        "import json, sys, types; sys.path.insert(0, 'function'); import app; "
        f"app.handler(json.loads(open({str(payload)!r}).read()), types.SimpleNamespace(aws_request_id='r', "
        "function_name='OrdersFunction', function_version='1', memory_limit_in_mb='256'))",
    ]

    def cold_start() -> float:
        started = time.perf_counter()
        with LocalInvoker(spec, version="1") as invoker:
            invoker.invoke(event, qualifier="1", timeout=60)
            return time.perf_counter() - started

    cold = alternate(rounds, {
        "environment": cold_start,
        "fresh process": lambda: run_child(fresh_process, env=env, cwd=folder)[0],
    }, progress, "environment cold start")

    handler = _direct_handler(folder)
    context = type("Context", (), {"aws_request_id": "r", "function_name": "OrdersFunction",
                                   "function_version": "1", "memory_limit_in_mb": "256"})()
    with LocalInvoker(spec, version="1", concurrency=1) as invoker:
        invoker.load()

        def warm() -> float:
            started = time.perf_counter()
            for _ in range(WARM_CALLS):
                invoker.invoke(event, qualifier="1", timeout=60)
            return (time.perf_counter() - started) / WARM_CALLS

        def direct() -> float:
            started = time.perf_counter()
            for _ in range(WARM_CALLS):
                json.dumps(handler(json.loads(event), context)).encode()
            return (time.perf_counter() - started) / WARM_CALLS

        calls = alternate(rounds, {"warm call": warm, "direct": direct}, progress, "environment warm call")
    c_env, c_fresh = (median(cold[side]) for side in ("environment", "fresh process"))
    w_env, w_direct = (median(calls[side]) for side in ("warm call", "direct"))
    return [
        Row("local environment: cold start, first call answered (wall)", ms(c_env), ms(c_fresh), ratio(c_env, c_fresh)),
        Row("local environment: a warm call vs the handler called in-process", us(w_env), us(w_direct),
            ratio(w_env, w_direct)),
        Row("  overhead of a warm call (pipe round trip, log, context)", us(w_env - w_direct), ""),
    ]


def _direct_handler(folder: Path) -> Callable[[Any, Any], Any]:
    """The workload's handler imported here, with the function's environment, as the bare loop calls it."""
    sys.path.insert(0, str(folder / "function"))
    for name, value in workload.ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    module = __import__(workload.HANDLER_MODULE)
    return getattr(module, workload.HANDLER_FUNCTION)  # type: ignore[no-any-return]

