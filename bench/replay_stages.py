"""Where a CI replay's time goes, per event: each stage of ``hookkit run`` timed on its own.

    python bench/replay_stages.py [EVENTS]

Builds the CI replay workload (``workload.py``) in a temporary folder and times, with ``timeit``
(best of 5), every stage a recorded event goes through in hookkit next to the stages of the bare
loop (``replay_baseline.py``), in µs per event, in this one thread. Pinned to one CPU where the
system allows, so that the thread hand-offs are measured as a split run's processes pay them.
Not part of ``make bench`` (which compares whole runs): this is the profile behind its CI rows.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import timeit
from pathlib import Path
from types import SimpleNamespace

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

import workload  # noqa: E402


def per_event(fn, events: int) -> float:
    """µs per event: ``fn`` handles every event once per call."""
    return min(timeit.repeat(fn, number=1, repeat=5)) / events * 1e6


def main(events: int = 1000) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
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
    from hookkit.ci.wiring import parse_target
    from hookkit.core import runner
    from hookkit.hook.clients import Clients

    target = parse_target("local:template.yaml#OrdersFunction", parameters={}, clients=Clients())
    invoker = target.invoker
    paths = [(event, expect) for _, event, expect in eventfiles.discover_events(folder / "events")]
    payloads = [p.read_bytes() for p, _ in paths]
    specs = [eventfiles.load_expect(e) for _, e in paths]
    schema = json.loads((folder / "schemas" / "order.json").read_text())
    cls = validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    context = SimpleNamespace(function_name="OrdersFunction", function_version="$LATEST", aws_request_id="r",
                              memory_limit_in_mb=256)
    os.environ.update(workload.ENVIRONMENT)
    handler = invoker._handler
    t = Target(invoker, "1", function_name="OrdersFunction", base_dir=folder, timeout=10)
    results = [t.invoke_payload(p, "e") for p in payloads]
    bodies = [json.loads(json.loads(r.invocation.payload)["body"]) for r in results]

    def bare_reads() -> None:
        for event, expect in paths:
            with open(event, "rb") as f:
                json.load(f)
            with open(expect, "rb") as f:
                json.load(f)

    def registration() -> None:
        recorded.recorded_events(folder / "events", registry=HookRegistry())

    def handler_alone() -> None:
        for p in payloads:
            json.dumps(handler(json.loads(p), context))

    from hookkit.local.invoker import _HandlerThread as local_thread

    def invoke_inline() -> None:  # the local call without its hand-off to the handler thread
        submit = local_thread.submit
        local_thread.submit = classmethod(lambda cls, work, *args, name: work(*args))
        try:
            for p in payloads:
                invoker.invoke(p, qualifier="1", timeout=10)
        finally:
            local_thread.submit = submit

    def provide(name, check, timeout):
        return Target(invoker, "1", function_name="OrdersFunction", base_dir=folder, timeout=timeout)

    registered = recorded.recorded_events(folder / "events", registry=HookRegistry())
    stages = [
        ("bare loop: read the event and its expect file (json.load)", per_event(bare_reads, events)),
        ("bare loop: the handler, event parsed and answer serialised", per_event(handler_alone, events)),
        ("bare loop: jsonschema on the body",
         per_event(lambda: [list(validator.iter_errors(b)) for b in bodies], events)),
        ("hookkit: registration (list, read strictly, expect checked, check made)", per_event(registration, events)),
        ("hookkit: the in-process Lambda call, inline (handler included)",
         per_event(invoke_inline, events)),
        ("hookkit: the same call through the handler thread",
         per_event(lambda: [invoker.invoke(p, qualifier="1", timeout=10) for p in payloads], events)),
        ("hookkit: answer decoded, expectation applied (jsonschema included)",
         per_event(lambda: [spec_differences(InvokeResult(r.invocation, subject="e", base_dir=folder).observed, s,
                                             base_dir=folder) for r, s in zip(results, specs, strict=False)], events)),
        ("hookkit: one whole check through call_check (invoke + expectation)",
         per_event(lambda: [runner.call_check(c, provide, 10.0) for c in registered], events)),
    ]
    width = max(len(name) for name, _ in stages)
    print(f"{events} events, µs per event, best of 5, one thread"
          f"{' on one CPU' if hasattr(os, 'sched_setaffinity') else ''}:")
    for name, value in stages:
        print(f"  {name:<{width}}  {value:7.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
