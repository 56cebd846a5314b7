"""Where a CI replay's time goes, per event: each stage of ``hookkit run`` on its own, in CPU time.

    python bench/replay_stages.py [EVENTS]

Builds the CI replay workload (``workload.py``) in a temporary folder and measures, in µs of CPU
time per event (best of 3), every stage a recorded event goes through in hookkit's process next
to the stages of the bare loop (``replay_baseline.py``). CPU time rather than wall time: the
machines these run on are shared, and hookkit's process is what a replay waits on, while the
function runs in its environments' processes (their CPU is not counted here; the last rows show
what one request costs an environment, and a round trip's wall time). Not part of ``make bench``
(which compares whole runs): this is the profile behind its CI rows.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

import workload  # noqa: E402


def cpu_per_event(fn: Callable[[], Any], events: int, clock: Callable[[], float] = time.process_time) -> float:
    """µs per event, best of 3: ``fn`` handles every event once per call."""
    best = float("inf")
    for _ in range(3):
        started = clock()
        fn()
        best = min(best, clock() - started)
    return best / events * 1e6


def main(events: int = 1000) -> None:
    with tempfile.TemporaryDirectory(prefix="hookkit-stages-") as tmp:
        folder = workload.build(Path(tmp) / "w", events)
        os.chdir(folder)
        try:
            _profile(folder, events)
        finally:
            os.chdir(tmp)  # out of the folder before it is removed


def _profile(folder: Path, events: int) -> None:
    from jsonschema import validators

    from hookkit import HookRegistry
    from hookkit.checks import eventfiles, recorded
    from hookkit.checks.expect import spec_differences
    from hookkit.checks.target import InvokeResult, Target
    from hookkit.core import runner
    from hookkit.core.registry import Check
    from hookkit.local.invoker import LocalInvoker
    from hookkit.local.sam import function_spec

    spec = function_spec(folder / "template.yaml", "OrdersFunction")
    invoker = LocalInvoker(spec, version="1")
    invoker.load()
    paths = [(event, expect) for _, event, expect in eventfiles.discover_events(folder / "events")]
    payloads = [event.read_bytes() for event, _ in paths]
    specs = [eventfiles.load_expect(expect) for _, expect in paths if expect is not None]
    schema = json.loads((folder / "schemas" / "order.json").read_text())
    cls = validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    sys.path.insert(0, str(folder / "function"))
    os.environ.update(workload.ENVIRONMENT)
    handler = getattr(__import__(workload.HANDLER_MODULE), workload.HANDLER_FUNCTION)
    context = type("Context", (), {"function_name": "OrdersFunction", "aws_request_id": "r",
                                   "memory_limit_in_mb": "256", "function_version": "1"})()
    target = Target(invoker, "1", function_name="OrdersFunction", base_dir=folder, timeout=10)
    results = [target.invoke_payload(p, "e") for p in payloads]
    bodies = [json.loads(json.loads(r.invocation.payload)["body"]) for r in results]
    registered = recorded.recorded_events(folder / "events", registry=HookRegistry())

    def bare_reads() -> None:
        for event, expect in paths:
            with open(event, "rb") as f:
                json.load(f)
            with open(expect, "rb") as f:  # type: ignore[arg-type]
                json.load(f)

    def provide(name: str, check: Check, timeout: float) -> Target:
        return Target(invoker, "1", function_name="OrdersFunction", base_dir=folder, timeout=timeout)

    def replay(workers: int) -> None:
        runner.run_checks(registered, provide=provide, deadline=time.monotonic() + 600, max_workers=workers)

    def observe() -> None:
        for r, s in zip(results, specs, strict=False):
            spec_differences(InvokeResult(r.invocation, subject="e", base_dir=folder).observed, s, base_dir=folder)

    stages = [
        ("bare loop: read the event and its expect file (json.load)", cpu_per_event(bare_reads, events)),
        ("bare loop: the handler, event parsed and answer serialised",
         cpu_per_event(lambda: [json.dumps(handler(json.loads(p), context)) for p in payloads], events)),
        ("bare loop: jsonschema on the body",
         cpu_per_event(lambda: [list(validator.iter_errors(b)) for b in bodies], events)),
        ("hookkit: registration (list, read strictly, expect checked, check made)",
         cpu_per_event(lambda: recorded.recorded_events(folder / "events", registry=HookRegistry()), events)),
        ("hookkit: a local invoke, this process's side (request out, answer and log in)",
         cpu_per_event(lambda: [invoker.invoke(p, qualifier="1", timeout=10) for p in payloads], events)),
        ("hookkit: answer decoded, expectation applied (jsonschema included)", cpu_per_event(observe, events)),
        ("hookkit: one whole check through call_check, one after another",
         cpu_per_event(lambda: [runner.call_check(c, provide, 10.0) for c in registered], events)),
        (f"hookkit: every check through the runner ({invoker.concurrency} environments, 32 workers)",
         cpu_per_event(lambda: replay(32), events)),
        ("environment: a local invoke's round trip, one after another (wall)",
         cpu_per_event(lambda: [invoker.invoke(p, qualifier="1", timeout=10) for p in payloads], events,
                       clock=time.perf_counter)),
    ]
    invoker.close()
    width = max(len(name) for name, _ in stages)
    print(f"{events} events, µs of CPU time per event in this process, best of 3:")
    for name, value in stages:
        print(f"  {name:<{width}}  {value:7.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
