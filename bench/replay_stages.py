"""Where a CI replay's time goes, per event: each stage of ``hookkit run`` on its own, in CPU time.

    python bench/replay_stages.py [EVENTS]

Builds the CI replay workload (``workload.py``) in a temporary folder and measures, in µs of CPU
time per event (best of 3), every stage a recorded event goes through in hookkit's process next
to the stages of the bare loop (``replay_baseline.py``). CPU time rather than wall time: the
machines these run on are shared, and hookkit's process is what a replay waits on, while the
function runs in its environments' processes (their CPU is not counted here; the last rows show
what one request costs an environment, and a round trip's wall time). Not part of ``make bench``
(which compares whole runs): this is the profile behind its CI rows.

hookkit's stages are those of ``hookkit run``: the checks are declared with their events listed
(``deferred_reading``), the events and expect files read strictly, then the runner's own thread
sends each replay's request to an environment, waits on every environment's pipe at once, and
judges each answer as it comes (``hookkit.core.stages``); a run through worker threads instead
(the runner's way for any other check) is shown for comparison.
"""

from __future__ import annotations

import json
import os
import select
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


def _environment_cpu(pid: int) -> float:
    """Seconds of CPU an environment's process has used (Linux), or 0 where /proc cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _profile(folder: Path, events: int) -> None:
    from jsonschema import validators

    from hookkit import HookRegistry
    from hookkit.checks import recorded
    from hookkit.checks.eventfiles import event_payload, list_events, load_expect
    from hookkit.checks.expect import spec_differences
    from hookkit.checks.target import InvokeResult, Target
    from hookkit.core import runner
    from hookkit.core.registry import Check
    from hookkit.local.invoker import LocalInvoker
    from hookkit.local.sam import function_spec

    spec = function_spec(folder / "template.yaml", "OrdersFunction")
    invoker = LocalInvoker(spec, version="1")
    invoker.load()
    root = folder / "events"
    paths = [(str(root / f"{name}.json"), str(root / f"{name}.expect.json")) for name, _ in list_events(root)]
    payloads = [event_payload(event) for event, _ in paths]
    specs = [load_expect(expect) for _, expect in paths]
    schema = json.loads((folder / "schemas" / "order.json").read_text())
    cls = validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    sys.path.insert(0, str(folder / "function"))
    os.environ.update(workload.ENVIRONMENT)
    handler = getattr(__import__(workload.HANDLER_MODULE), workload.HANDLER_FUNCTION)
    context = type("Context", (), {"function_name": "OrdersFunction", "aws_request_id": "r",
                                   "memory_limit_in_mb": "256", "function_version": "1"})()
    target = Target(invoker, "1", function_name="OrdersFunction", base_dir=root, timeout=10)
    results = [target.invoke_payload(p, "e") for p in payloads]
    bodies = [json.loads(json.loads(r.invocation.payload)["body"]) for r in results]

    def listed() -> list[Check]:
        with recorded.deferred_reading():
            return recorded.recorded_events(root, registry=HookRegistry())

    registered = listed()
    recorded.read_events(registered)

    def bare_reads() -> None:
        for event, expect in paths:
            with open(event, "rb") as f:
                json.load(f)
            with open(expect, "rb") as f:
                json.load(f)

    def strict_reads() -> None:
        for check in listed():  # unread replays, each read as hookkit run reads them
            check.func.load()

    def begun() -> None:
        """Each request begun in this thread and its answer read when its pipe says so, one after another."""
        for payload in payloads:
            pending = target.begin_payload(payload, "e", lambda: None)
            if pending is None:
                raise RuntimeError("no warm environment to begin an invoke with")
            answer = None
            while answer is None:
                fd = pending.fileno()
                readable = fd is not None and bool(select.select([fd], [], [], 10)[0])
                answer = pending.step(readable)

    def provide(name: str, check: Check, timeout: float) -> Target:
        return Target(invoker, "1", function_name="OrdersFunction", base_dir=check.base_dir, timeout=timeout)

    def replay(staged: bool) -> None:
        outcomes = runner.run_checks(registered, provide=provide, deadline=time.monotonic() + 600, staged=staged)
        failed = [o.message for o in outcomes if not o.passed]
        if failed:
            raise RuntimeError(f"{len(failed)} replay(s) did not pass: {failed[0]}")

    def observe() -> None:
        for r, s in zip(results, specs, strict=False):
            spec_differences(InvokeResult(r.invocation, subject="e", base_dir=root).observed, s, base_dir=root)

    pid = next(iter(invoker._pool._idle)).process.pid  # the one warm environment, for its CPU
    environment_cpu = _environment_cpu(pid)
    round_trips = cpu_per_event(begun, events, clock=time.perf_counter)
    environment_cpu = (_environment_cpu(pid) - environment_cpu) / (3 * events) * 1e6
    stages = [
        ("bare loop: read the event and its expect file (json.load)", cpu_per_event(bare_reads, events)),
        ("bare loop: the handler, event parsed and answer serialised",
         cpu_per_event(lambda: [json.dumps(handler(json.loads(p), context)) for p in payloads], events)),
        ("bare loop: jsonschema on the body",
         cpu_per_event(lambda: [list(validator.iter_errors(b)) for b in bodies], events)),
        ("hookkit: registration (folder listed, a check made per event)", cpu_per_event(listed, events)),
        ("hookkit: the event and its expect file read strictly", cpu_per_event(strict_reads, events)),
        ("hookkit: the same, with the helper process reading from the last event (read_events)",
         cpu_per_event(lambda: recorded.read_events(listed()), events)),
        ("hookkit: a local invoke begun in this thread (request out, answer and log in)",
         cpu_per_event(begun, events)),
        ("hookkit: answer decoded, expectation applied (jsonschema included)", cpu_per_event(observe, events)),
        (f"hookkit: every replay through the runner's thread ({invoker.concurrency} environments)",
         cpu_per_event(lambda: replay(True), events)),
        ("hookkit: every replay through worker threads instead, for comparison",
         cpu_per_event(lambda: replay(False), events)),
        ("environment: a request's CPU in its process, one after another", environment_cpu),
        ("environment: a local invoke's round trip, one after another (wall)", round_trips),
    ]
    invoker.close()
    width = max(len(name) for name, _ in stages)
    print(f"{events} events, µs of CPU time per event in this process, best of 3:")
    for name, value in stages:
        print(f"  {name:<{width}}  {value:7.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
