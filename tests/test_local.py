"""Local execution environments: Lambda-shaped answers, a Lambda-like process per environment, timeouts.

The function's code runs in worker processes (``hookkit.local.environment``), so these tests use
real processes and small functions of their own; nothing here asserts on timing.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import types
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hookkit.checks.invocation import Invocation
from hookkit.core.errors import ConfigurationError, InvokeError, TargetError
from hookkit.core.stages import Unstaged
from hookkit.local import bootstrap
from hookkit.local.context import LocalContext
from hookkit.local.environment import BOOTSTRAP
from hookkit.local.invoker import LOG_TAIL_BYTES, FunctionError, LocalInvoker
from hookkit.local.sam import FunctionSpec, function_spec

FIXTURES = Path(__file__).parent / "fixtures" / "sam"
TEMPLATE = FIXTURES / "template.yaml"
BUILDS = FIXTURES / "builds"
ROOT = Path(__file__).resolve().parent.parent
OWN_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"

Local = Callable[..., LocalInvoker]


@pytest.fixture
def local() -> Iterator[Local]:
    """``local(spec, **options)``: a LocalInvoker whose environments stop when the test ends."""
    made: list[LocalInvoker] = []

    def make(spec: FunctionSpec, **options: Any) -> LocalInvoker:
        made.append(LocalInvoker(spec, **options))
        return made[-1]

    yield make
    for invoker in made:
        invoker.close()


@pytest.fixture
def orders() -> FunctionSpec:
    return function_spec(TEMPLATE, "OrdersFunction")


def invoke(invoker: LocalInvoker, event: object, *, timeout: float = 10.0, qualifier: str = "7") -> Invocation:
    return invoker.invoke(json.dumps(event).encode(), qualifier=qualifier, timeout=timeout)


def body(invocation: Invocation) -> Any:
    return json.loads(invocation.payload)


def spec_in(folder: Path, handler: str = "app.handler", **changes: object) -> FunctionSpec:
    """A function in ``folder``, declaring the Python running the tests (so no other one is looked for)."""
    fields = {
        "logical_id": "Fn", "code_uri": folder.resolve(), "handler": handler, "runtime": OWN_RUNTIME, "timeout": 10.0,
        "memory_size": 128, "environment": {}, "function_name": "local-Fn", "routes": (), "warnings": (),
    }
    return FunctionSpec(**{**fields, **changes})  # type: ignore[arg-type]


def code(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(text))
    return folder


def request_id(invocation: Invocation) -> str:
    return invocation.log_tail.split()[2]


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie nobody reaped yet counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def wait_until(condition: Callable[[], bool], seconds: float = 15.0) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass (a bound, not a measurement)."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


# --- answers --------------------------------------------------------------------------------

def test_return_value_is_the_json_payload(orders: FunctionSpec, local: Local) -> None:
    result = invoke(local(orders, version="7"), {"action": "echo", "orderId": "ORD-1"})

    assert (result.status_code, result.function_error, result.executed_version) == (200, None, "7")
    assert body(result) == {
        "event": {"action": "echo", "orderId": "ORD-1"},
        "calls": 1,
        "table_at_import": "<Ref OrdersTable>",  # module-level code saw the function's environment
    }
    assert result.duration_ms > 0


def test_module_state_persists_between_calls_in_a_warm_environment(orders: FunctionSpec, local: Local) -> None:
    invoker = local(orders)
    assert [body(invoke(invoker, {}))["calls"] for _ in range(3)] == [1, 2, 3]


def test_empty_payload_is_an_empty_event(orders: FunctionSpec, local: Local) -> None:
    result = local(orders).invoke(b"", qualifier="1", timeout=10)
    assert body(result)["event"] == {}


def test_the_context_has_every_field_of_lambdas(orders: FunctionSpec, local: Local) -> None:
    result = invoke(local(orders, version="12"), {"action": "context"}, qualifier="12")
    seen = body(result)
    remaining, stream = seen.pop("remaining_ms"), seen.pop("log_stream_name")
    assert seen == {
        "function_name": "local-OrdersFunction",
        "function_version": "12",
        "memory_limit_in_mb": "256",  # a string, as Lambda's Python runtime reads it from the environment
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:local-OrdersFunction:12",
        "aws_request_id": request_id(result),
        "log_group_name": "/aws/lambda/local-OrdersFunction",
        "identity": [None, None],
        "client_context": None,
    }
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[12\][0-9a-f]{32}", stream)
    assert 4000 < remaining <= 5000  # counts down from the function's Timeout: 5


def test_request_ids_are_random_uuids_as_lambdas_are() -> None:
    """Version 4 UUIDs, none repeated (whoever seeds ``random``), and a forked process does not repeat
    its parent's."""
    import random
    import uuid

    from hookkit.local.invoker import _request_id

    ids = [_request_id() for _ in range(5000)]
    random.seed(7)  # as a check, or pytest-randomly before each test, may seed random
    ids.append(_request_id())
    random.seed(7)
    ids.append(_request_id())
    assert len(set(ids)) == len(ids)
    for text in ids[:500]:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns of a fork with threads running (pytest's)
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if not pid:  # the child: its next id, to the parent
        os.write(write, _request_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 100).decode() != _request_id()
    os.close(read)


def test_an_unqualified_call_has_an_unqualified_arn(orders: FunctionSpec, local: Local) -> None:
    result = invoke(local(orders), {"action": "context"}, qualifier="local")
    assert body(result)["invoked_function_arn"].endswith(":function:local-OrdersFunction")


def test_the_hooks_own_local_context_reads_like_a_functions() -> None:
    """Whatever a function's context offers (bootstrap.LambdaContext, Lambda's runtime), a hook's has too."""
    context = LocalContext(function_name="CodeDeployHook_pre", timeout_s=20)
    lambdas = bootstrap.LambdaContext("request", "arn", 0)
    offered = {name for name in (*vars(lambdas), *vars(type(lambdas))) if not name.startswith("_")}
    assert {name for name in offered if not hasattr(context, name)} == set()
    cognito = type(lambdas.identity).__slots__  # empty, as for any call Amazon Cognito did not authorise
    assert {n: getattr(context.identity, n) for n in cognito} == {n: getattr(lambdas.identity, n) for n in cognito}
    assert (context.client_context, context.tenant_id) == (None, None)  # a direct invoke, as the hook's
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:CodeDeployHook_pre"
    assert context.log_group_name == "/aws/lambda/CodeDeployHook_pre"


def test_handler_in_a_sub_folder(local: Local) -> None:
    spec = function_spec(TEMPLATE, "NamedFunction")
    assert body(invoke(local(spec), {})) == {"nested": True, "level": "ERROR"}


def test_raising_handler_is_an_unhandled_function_error(orders: FunctionSpec, local: Local) -> None:
    result = invoke(local(orders), {"action": "raise", "orderId": "ORD-9"})

    assert (result.status_code, result.function_error) == (200, "Unhandled")
    error = body(result)
    assert set(error) == {"errorType", "errorMessage", "requestId", "stackTrace"}
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "order ORD-9 is invalid")
    assert len(error["stackTrace"]) == 1  # only the function's own frames, as Lambda shows them
    assert error["stackTrace"][0].startswith(f'  File "{FIXTURES.resolve() / "orders" / "app.py"}", line ')
    assert error["stackTrace"][0].endswith(
        'in handler\n    raise ValueError(f"order {event[\'orderId\']} is invalid")\n'
    )
    assert "[ERROR] ValueError: order ORD-9 is invalid\nTraceback (most recent call last):\n" in result.log_tail
    assert f"START RequestId: {error['requestId']} Version: local\n" in result.log_tail


def test_unserialisable_result_is_a_marshal_error(orders: FunctionSpec, local: Local) -> None:
    result = invoke(local(orders), {"action": "set"})
    assert result.function_error == "Unhandled"
    error = body(result)
    assert (error["errorType"], error["errorMessage"], error["stackTrace"]) == (
        "Runtime.MarshalError", "Unable to marshal response: Object of type set is not JSON serializable", [],
    )


def test_decimals_are_numbers_as_in_lambda(orders: FunctionSpec, local: Local) -> None:
    result = invoke(local(orders), {"action": "decimal"})
    assert (result.payload, result.function_error) == (b'{"price": 12.5, "count": 3}', None)


def test_bytes_are_answered_as_they_are(tmp_path: Path, local: Local) -> None:
    folder = code(tmp_path / "fn", app="def handler(event, context):\n    return b'\\x00raw'\n")
    assert invoke(local(spec_in(folder)), {}).payload == b"\x00raw"


def test_latest_is_refused(orders: FunctionSpec, local: Local) -> None:
    with pytest.raises(TargetError) as caught:
        local(orders).invoke(b"{}", qualifier="$LATEST", timeout=1)
    assert str(caught.value).startswith("local-OrdersFunction: qualifier '$LATEST' does not name the code under test")


def test_payload_that_is_not_json(orders: FunctionSpec, local: Local) -> None:
    with pytest.raises(InvokeError) as caught:
        local(orders).invoke(b"{oops", qualifier="1", timeout=10)
    assert str(caught.value).startswith("local-OrdersFunction: the payload is not JSON (")
    assert str(caught.value).endswith("(InvalidRequestContentException): fix the event file")


# --- timeouts, crashes and fresh environments ------------------------------------------------

COUNTED = """\
    import os, time

    INITS = int(open("inits").read()) + 1 if os.path.exists("inits") else 1
    open("inits", "w").write(str(INITS))  # one more cold start
    calls = 0

    def handler(event, context):
        global calls
        calls += 1
        if event.get("sleep"):
            time.sleep(event["sleep"])
        if event.get("exit") is not None:
            os._exit(event["exit"])
        if event.get("segfault"):
            import ctypes
            ctypes.string_at(0)
        if event.get("sys_exit") is not None:
            raise SystemExit(event["sys_exit"])
        return {"pid": os.getpid(), "inits": INITS, "calls": calls}
    """


def test_a_call_past_the_timeout_argument_times_out(orders: FunctionSpec, local: Local) -> None:
    invoker = local(orders)
    invoker.load()  # warm: the whole budget goes to the call
    result = invoke(invoker, {"action": "sleep", "seconds": 5}, timeout=0.5)

    assert (result.status_code, result.function_error) == (200, "Unhandled")
    rid = request_id(result)
    assert body(result) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {rid} Error: Task timed out after 0.50 seconds",
    }
    assert result.duration_ms == pytest.approx(500.0, abs=1.0)
    assert f" {rid} Task timed out after 0.50 seconds\nEND RequestId: " in result.log_tail


def test_a_call_past_the_functions_timeout_times_out(orders: FunctionSpec, local: Local) -> None:
    result = invoke(local(dataclasses.replace(orders, timeout=0.5)), {"action": "sleep", "seconds": 5})
    assert body(result)["errorMessage"].endswith(" Error: Task timed out after 0.50 seconds")


def test_a_timeout_kills_the_environment_and_the_next_call_starts_a_fresh_one(tmp_path: Path, local: Local) -> None:
    invoker = local(spec_in(code(tmp_path / "fn", app=COUNTED), timeout=1.0))
    first, warm = body(invoke(invoker, {})), body(invoke(invoker, {}))
    assert (warm["pid"], warm["inits"], warm["calls"]) == (first["pid"], 1, 2)  # warm: no second init

    assert body(invoke(invoker, {"sleep": 30}))["errorType"] == "Sandbox.Timedout"

    fresh = body(invoke(invoker, {}))
    assert (fresh["inits"], fresh["calls"]) == (2, 1)  # the module's init ran again
    assert fresh["pid"] != first["pid"] and gone(first["pid"])


@pytest.mark.parametrize("event, reason", [
    ({"exit": 3}, "Runtime exited with error: exit status 3"),
    ({"segfault": True}, "Runtime exited with error: signal: segmentation fault"),
    ({"sys_exit": 0}, "Runtime exited without providing a reason"),
])
def test_a_function_that_ends_its_process_is_a_runtime_exit_error(
    tmp_path: Path, local: Local, event: dict[str, Any], reason: str
) -> None:
    invoker = local(spec_in(code(tmp_path / "fn", app=COUNTED)))
    before = body(invoke(invoker, {}))

    result = invoke(invoker, event)

    rid = request_id(result)
    assert result.function_error == "Unhandled"
    assert body(result) == {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {rid} Error: {reason}"}
    assert f"RequestId: {rid} Error: {reason}\nRuntime.ExitError\nEND RequestId: {rid}\n" in result.log_tail
    after = body(invoke(invoker, {}))
    assert (after["inits"], after["calls"]) == (2, 1) and after["pid"] != before["pid"]


# --- concurrency -------------------------------------------------------------------------------

SLOW = """\
    import os, time

    def handler(event, context):
        started = time.time()
        time.sleep(event["sleep"])
        return {"pid": os.getpid(), "started": started, "ended": time.time()}
    """


def overlapping(invoker: LocalInvoker, calls: int, seconds: float) -> list[dict[str, Any]]:
    ready = threading.Barrier(calls)

    def one(_: int) -> dict[str, Any]:
        ready.wait()
        return dict(body(invoke(invoker, {"sleep": seconds}, timeout=60)))

    with ThreadPoolExecutor(max_workers=calls) as pool:
        return list(pool.map(one, range(calls)))


def test_overlapping_calls_start_environments_up_to_the_limit_each_serving_one_at_a_time(
    tmp_path: Path, local: Local
) -> None:
    invoker = local(spec_in(code(tmp_path / "fn", app=SLOW)), concurrency=2)
    answers = overlapping(invoker, 6, 0.3)

    pids = {answer["pid"] for answer in answers}
    assert len(pids) == 2
    for pid in pids:
        runs = sorted((a["started"], a["ended"]) for a in answers if a["pid"] == pid)
        assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(runs))


def test_as_many_environments_as_calls_below_the_limit(tmp_path: Path, local: Local) -> None:
    invoker = local(spec_in(code(tmp_path / "fn", app=SLOW)), concurrency=8)
    assert len({answer["pid"] for answer in overlapping(invoker, 3, 0.5)}) == 3


def test_local_targets_need_a_posix_system(orders: FunctionSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "name", "nt")
    with pytest.raises(ConfigurationError, match=r"^OrdersFunction: local targets run the function in worker"):
        LocalInvoker(orders)


def test_concurrency_defaults_to_the_cpus_this_process_may_use(orders: FunctionSpec, local: Local) -> None:
    from hookkit.core.cpus import usable_cpus

    assert local(orders).concurrency == usable_cpus()
    with pytest.raises(ConfigurationError, match="at least 1 environment"):
        LocalInvoker(orders, concurrency=0)


def test_a_call_that_waits_its_whole_budget_for_an_environment_says_so(tmp_path: Path, local: Local) -> None:
    folder = code(tmp_path / "fn", app="""\
        import os, time

        def handler(event, context):
            open("running", "w").close()
            while event.get("hold") and not os.path.exists("release"):
                time.sleep(0.01)
            return "done"
        """)
    invoker = local(spec_in(folder), concurrency=1)
    with ThreadPoolExecutor(max_workers=1) as pool:
        busy = pool.submit(invoke, invoker, {"hold": True})
        assert wait_until(lambda: (folder / "running").exists())
        with pytest.raises(InvokeError, match=r"^local-Fn: all 1 of its local environments stayed busy"):
            invoke(invoker, {}, timeout=0.2)
        (folder / "release").touch()
        assert body(busy.result()) == "done"


# --- invokes begun without a thread (hookkit run's replays) ------------------------------------

def finish(pending: Any, seconds: float = 30.0) -> Invocation:
    """Step a begun invoke as the runner does: wait on its pipe (or until its wake_at), then step it."""
    import select

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        fd = pending.fileno()
        readable = False
        if fd is not None:
            wait = max(0.0, min(pending.wake_at, end) - time.monotonic())
            readable = bool(select.select([fd], [], [], wait)[0])
        elif pending.wake_at > time.monotonic():
            time.sleep(0.01)
        answer = pending.step(readable)
        if answer is not None:
            return answer  # type: ignore[no-any-return]
    raise AssertionError("the begun invoke never answered")


def begin(invoker: LocalInvoker, event: object, *, timeout: float = 10.0, notify: Callable[[], None] = lambda: None):
    return invoker.begin(json.dumps(event).encode(), qualifier="7", timeout=timeout, notify=notify)


def test_a_begun_invoke_answers_as_invoke_does(orders: FunctionSpec, local: Local) -> None:
    invoker = local(orders, version="7")
    invoker.load()
    pending = begin(invoker, {"action": "echo", "orderId": "ORD-1"})
    assert pending is not None and pending.fileno() is not None  # a warm environment has its request already

    result = finish(pending)

    assert (result.status_code, result.function_error, result.executed_version) == (200, None, "7")
    assert body(result)["event"] == {"action": "echo", "orderId": "ORD-1"}
    rid = request_id(result)
    assert result.log_tail.startswith(f"START RequestId: {rid} Version: 7\n")
    assert f"END RequestId: {rid}\nREPORT RequestId: {rid}\tDuration: " in result.log_tail
    assert body(invoke(invoker, {"action": "echo"}))["calls"] == 2  # the same warm environment served both


def test_a_begun_invoke_that_would_need_a_cold_start_does_nothing(tmp_path: Path, local: Local) -> None:
    invoker = local(spec_in(code(tmp_path / "fn", app=COUNTED)))
    assert begin(invoker, {}) is None  # starting a process is for invoke(), on a thread
    assert not (tmp_path / "fn" / "inits").exists()
    assert body(invoke(invoker, {}))["inits"] == 1


def test_a_begun_invoke_waits_in_line_and_is_handed_the_environment(tmp_path: Path, local: Local) -> None:
    invoker = local(spec_in(code(tmp_path / "fn", app=COUNTED)), concurrency=1)
    invoker.load()
    first = begin(invoker, {"sleep": 0.2})
    handed = threading.Event()
    second = begin(invoker, {}, notify=handed.set)
    assert first is not None and second is not None
    assert second.fileno() is None and not handed.is_set()  # in line: the only environment is busy

    one = body(finish(first))

    assert handed.is_set()  # the first call's end sent the second's request and said so
    two = body(finish(second))
    assert (one["pid"], one["calls"], two["calls"]) == (two["pid"], 1, 2)


GATED = """\
    import os, time

    calls = []

    def handler(event, context):
        calls.append(event["name"])
        remaining = context.get_remaining_time_in_millis()
        while event.get("gate") and not os.path.exists(event["gate"]):  # wait until the test opens the gate
            time.sleep(0.01)
        time.sleep(event.get("sleep", 0))
        if event.get("exit") is not None:
            os._exit(event["exit"])
        return {"pid": os.getpid(), "calls": list(calls), "remaining_ms": remaining}
    """


def test_a_request_in_line_waits_in_the_environments_pipe_and_starts_with_its_whole_time(
    tmp_path: Path, local: Local
) -> None:
    """Sent ahead, it runs as soon as the one before it is answered, with no step of hookkit's in
    between, and its time (context and timeout) starts then, not when it was sent."""
    invoker = local(spec_in(code(tmp_path / "fn", app=GATED), timeout=1.0), concurrency=1)
    invoker.load()
    first = begin(invoker, {"name": "a", "sleep": 0.6})
    second = begin(invoker, {"name": "b", "sleep": 0.6})
    assert first is not None and second is not None and second.fileno() is None  # in line
    time.sleep(1.5)  # both ran meanwhile: no step of this thread sent the second request

    one = body(finish(first))
    answered = second.step(False)  # handed over: its answer came with the first's

    assert answered is not None and answered.function_error is None, answered
    two = body(answered)
    assert (one["calls"], two["calls"], two["pid"]) == (["a"], ["a", "b"], one["pid"])
    assert two["remaining_ms"] > 900  # 0.6 s after it was sent, it still had its whole second


def test_a_request_in_line_is_timed_from_its_start_though_hookkit_reads_the_answer_before_it_late(
    tmp_path: Path, local: Local
) -> None:
    """The environment starts it as soon as it has answered the call before; hookkit may read that
    answer much later (its thread busy judging). Its Timeout counts from its start, as Lambda's does:
    a function running past it is a timeout even if its answer came before hookkit looked."""
    invoker = local(spec_in(code(tmp_path / "fn", app=GATED), timeout=1.0), concurrency=1)
    invoker.load()
    first = begin(invoker, {"name": "a", "sleep": 0.2})
    second = begin(invoker, {"name": "b", "sleep": 1.3})  # past its Timeout, ending ~1.5 s from now
    assert first is not None and second is not None
    time.sleep(1.8)  # hookkit busy: the first answer (at ~0.2 s) and the second (~1.5 s) wait unread

    assert body(finish(first))["calls"] == ["a"]
    result = finish(second)

    assert body(result)["errorType"] == "Sandbox.Timedout", body(result)


MIXED = """\
    import os, time

    def handler(event, context):
        if event.get("exit"):
            os._exit(3)
        time.sleep(event.get("sleep", 0))
        return {"id": event["id"]}
    """


def drive_together(
    begun_calls: list[tuple[Any, Any]], given_up: list[Any], on_thread: Callable[[Any], Any], seconds: float = 60.0
) -> list[tuple[Any, Invocation]]:
    """Drive begun invokes as the runner does, all at once: step each whose pipe is readable, or whose
    turn or time came; give up the ``given_up`` ones one by one meanwhile; run on a thread (``on_thread``,
    a future) each that needs an environment started. Returns each event with its answer."""
    import select

    open_calls = [(e, p) for e, p in begun_calls if p is not None and p not in given_up]
    threaded = [(e, on_thread(e)) for e, p in begun_calls if p is None]
    to_give_up = list(given_up)
    answers: list[tuple[Any, Invocation]] = []
    end = time.monotonic() + seconds
    while open_calls:
        assert time.monotonic() < end, f"{len(open_calls)} begun invoke(s) never answered"
        if to_give_up:
            to_give_up.pop(0).cancel()
        fds = {p.fileno() for _, p in open_calls} - {None}
        readable = set(select.select(list(fds), [], [], 0.01)[0]) if fds else set()
        still = []
        for e, p in open_calls:
            try:
                answer = p.step(p.fileno() in readable)
            except Unstaged:  # its turn came with no environment (one crashed): run from the start, on a thread
                threaded.append((e, on_thread(e)))
                continue
            if answer is None:
                still.append((e, p))
            else:
                answers.append((e, answer))
        open_calls = still
    for p in to_give_up:
        p.cancel()
    return answers + [(e, future.result(timeout=seconds)) for e, future in threaded]


def test_mixed_calls_each_get_their_own_answer_through_crashes_timeouts_and_cancels(
    tmp_path: Path, local: Local
) -> None:
    """Threaded and begun calls over two environments, with requests waiting in their pipes, some
    functions crashing, some running past the Timeout and some calls given up: every call gets the
    answer to its own event (or the timeout or crash it caused), and the pool ends idle."""
    import random

    invoker = local(spec_in(code(tmp_path / "fn", app=MIXED), timeout=1.0), concurrency=2)
    invoker.load()
    rng = random.Random(7)

    def event(i: int) -> dict[str, Any]:
        roll = rng.random()
        return {"id": i, **({"exit": True} if roll < 0.05 else {"sleep": 2.5} if roll < 0.1 else
                            {"sleep": 0.01} if roll < 0.3 else {})}

    def expected(e: dict[str, Any]) -> Any:
        return ("Runtime.ExitError" if e.get("exit") else "Sandbox.Timedout" if e.get("sleep", 0) > 1 else e["id"])

    def seen(result: Invocation) -> Any:
        answer = body(result)
        return answer.get("errorType") if result.function_error else answer["id"]

    events = [event(i) for i in range(120)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda e: seen(invoke(invoker, e, timeout=60)), events[:60]))
    assert threaded == [expected(e) for e in events[:60]]

    begun_calls = [(e, begin(invoker, e, timeout=60)) for e in events[60:]]
    given_up = [p for _, p in begun_calls[5::13] if p is not None]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = drive_together(begun_calls, given_up, lambda e: pool.submit(invoke, invoker, e, timeout=60))
    assert len(answers) == len(begun_calls) - len(given_up)
    for e, result in answers:
        assert seen(result) == expected(e), e
    assert body(invoke(invoker, {"id": "last"}))["id"] == "last"  # the pool still serves


@pytest.mark.parametrize("first_event", [{"exit": 3}, {"sleep": 30}], ids=["crash", "timeout"])
def test_a_request_in_line_behind_a_call_that_ends_its_environment_never_ran_there(
    tmp_path: Path, local: Local, first_event: dict[str, Any]
) -> None:
    """The environment died serving the call before: the one in line is run from the start, on a thread."""
    invoker = local(spec_in(code(tmp_path / "fn", app=GATED), timeout=0.5), concurrency=1)
    invoker.load()
    first = begin(invoker, {"name": "a", **first_event})
    second = begin(invoker, {"name": "b"})
    assert first is not None and second is not None

    assert body(finish(first))["errorType"] in ("Runtime.ExitError", "Sandbox.Timedout")
    with pytest.raises(Unstaged):
        finish(second)
    assert body(invoke(invoker, {"name": "c"}))["calls"] == ["c"]  # a fresh environment, where b never ran


def test_a_request_in_line_given_up_takes_its_environment_with_it(tmp_path: Path, local: Local) -> None:
    """Its request is in the pipe and would run with nobody to read the answer: the environment is
    stopped once the call it waited behind has its answer."""
    gate = tmp_path / "gate"
    invoker = local(spec_in(code(tmp_path / "fn", app=GATED)), concurrency=1)
    invoker.load()
    first = begin(invoker, {"name": "a", "gate": str(gate)})
    second = begin(invoker, {"name": "b"})
    assert first is not None and second is not None

    second.cancel()
    gate.touch()
    one = body(finish(first))

    assert one["calls"] == ["a"]
    assert wait_until(lambda: gone(one["pid"]))
    assert body(invoke(invoker, {"name": "c"}))["calls"] == ["c"]


def test_several_quick_requests_wait_in_one_pipe_each_timed_from_its_own_start(tmp_path: Path, local: Local) -> None:
    """Behind the call an environment serves, up to AHEAD quick requests wait in its pipe: it runs them
    one after another with no step of hookkit's in between, each with its whole time from its start."""
    from hookkit.local.pool import AHEAD

    gate = tmp_path / "gate"
    invoker = local(spec_in(code(tmp_path / "fn", app=GATED), timeout=1.0), concurrency=1)
    invoke(invoker, {"name": "warm"})  # its requests are quick
    calls = [begin(invoker, {"name": "0", "gate": str(gate)})] + [begin(invoker, {"name": str(n)})
                                                                   for n in range(1, AHEAD + 2)]
    assert all(c is not None for c in calls) and all(c.fileno() is None for c in calls[1:])  # in line
    time.sleep(0.5)
    gate.touch()
    time.sleep(0.5)  # the first and all those in the pipe ran meanwhile

    answers = [body(finish(calls[0]))]
    for waited in calls[1:AHEAD + 1]:  # handed over in turn: each answer had come already
        answered = waited.step(False)
        assert answered is not None, "a request in the pipe did not run while hookkit did nothing"
        answers.append(body(answered))
    assert calls[-1].step(False) is None  # beyond AHEAD: it waited in line, not in the pipe
    answers.append(body(finish(calls[-1])))
    assert [a["calls"][-1] for a in answers] == [str(n) for n in range(AHEAD + 2)]
    assert {a["pid"] for a in answers} == {answers[0]["pid"]}
    assert all(a["remaining_ms"] > 900 for a in answers[1:]), [a["remaining_ms"] for a in answers]


def test_behind_a_slow_request_only_one_waits_in_the_pipe(tmp_path: Path, local: Local) -> None:
    """Requests that take a while gain nothing from waiting in the pipe, and would wait there behind
    the others' whole time: one does, the rest wait in line for hookkit to send them."""
    gate = tmp_path / "gate"
    invoker = local(spec_in(code(tmp_path / "fn", app=GATED), timeout=2.0), concurrency=1)
    invoke(invoker, {"name": "warm", "sleep": 0.05})  # its requests are not quick
    first = begin(invoker, {"name": "a", "gate": str(gate)})
    behind = [begin(invoker, {"name": name, "sleep": 0.05}) for name in "bc"]
    assert first is not None and all(b is not None for b in behind)
    gate.touch()
    time.sleep(0.5)  # a and b ran meanwhile; c was not sent

    assert body(finish(first))["calls"][-1] == "a"
    answered = behind[0].step(False)
    assert answered is not None and body(answered)["calls"][-1] == "b"
    assert behind[1].step(False) is None
    assert body(finish(behind[1]))["calls"][-1] == "c"


def test_a_request_given_up_in_a_pipe_is_not_run_again_when_its_environment_dies(
    tmp_path: Path, local: Local
) -> None:
    """Behind a call that crashes, the requests in the pipe never ran: they are run elsewhere, but for
    one given up meanwhile, which nobody would read (and whose environment would never come back)."""
    invoker = local(spec_in(code(tmp_path / "fn", app=GATED)), concurrency=1)
    invoke(invoker, {"name": "warm"})  # its requests are quick: several wait in its pipe
    crashing = begin(invoker, {"name": "a", "sleep": 0.3, "exit": 3})
    behind = [begin(invoker, {"name": name}) for name in "bcd"]
    assert crashing is not None and all(b is not None for b in behind)
    behind[1].cancel()  # "c", in the pipe behind "b"

    assert body(finish(crashing))["errorType"] == "Runtime.ExitError"
    with pytest.raises(Unstaged):  # "b": its turn came with no environment; its caller starts one
        finish(behind[0], seconds=5)
    assert body(invoke(invoker, {"name": "b"}))["calls"] == ["b"]
    assert body(finish(behind[2], seconds=5))["calls"] == ["b", "d"]  # "c" never ran, and held nothing


def test_a_request_too_big_to_wait_in_a_pipe_waits_in_line_instead(tmp_path: Path, local: Local) -> None:
    """Sending it ahead could fill the pipe and block hookkit's thread until the environment reads."""
    gate = tmp_path / "gate"
    invoker = local(spec_in(code(tmp_path / "fn", app=GATED)), concurrency=1)
    invoker.load()
    first = begin(invoker, {"name": "a", "gate": str(gate)})
    began: list[Any] = []
    beginning = threading.Thread(target=lambda: began.append(begin(invoker, {"name": "b", "pad": "x" * 200_000})))
    beginning.start()
    beginning.join(timeout=10)
    assert not beginning.is_alive(), "begin() blocked writing into the busy environment's pipe"
    gate.touch()

    assert body(finish(first))["calls"] == ["a"]
    assert body(finish(began[0]))["calls"] == ["a", "b"]


def test_a_begun_invoke_past_the_functions_timeout_is_a_timeout_and_a_fresh_environment_follows(
    tmp_path: Path, local: Local
) -> None:
    invoker = local(spec_in(code(tmp_path / "fn", app=COUNTED), timeout=0.5))
    before = body(invoke(invoker, {}))
    pending = begin(invoker, {"sleep": 30}, timeout=20)

    result = finish(pending)

    rid = request_id(result)
    assert body(result) == {"errorType": "Sandbox.Timedout",
                            "errorMessage": f"RequestId: {rid} Error: Task timed out after 0.50 seconds"}
    assert f" {rid} Task timed out after 0.50 seconds\nEND RequestId: " in result.log_tail
    assert wait_until(lambda: gone(before["pid"]))
    after = body(invoke(invoker, {}))
    assert (after["inits"], after["calls"]) == (2, 1)


def test_a_begun_invoke_whose_function_ends_its_process_is_a_runtime_exit_error(tmp_path: Path, local: Local) -> None:
    invoker = local(spec_in(code(tmp_path / "fn", app=COUNTED)))
    invoke(invoker, {})
    result = finish(begin(invoker, {"exit": 3}))
    assert body(result)["errorType"] == "Runtime.ExitError"
    assert body(result)["errorMessage"].endswith(" Error: Runtime exited with error: exit status 3")
    assert body(invoke(invoker, {}))["inits"] == 2


def test_a_begun_invoke_given_up_stops_its_environment_or_leaves_the_line(tmp_path: Path, local: Local) -> None:
    invoker = local(spec_in(code(tmp_path / "fn", app=COUNTED)), concurrency=1)
    warm = body(invoke(invoker, {}))
    running = begin(invoker, {"sleep": 30})
    waiting = begin(invoker, {})
    assert running is not None and waiting is not None and waiting.fileno() is None

    waiting.cancel()  # out of line: its request, sent ahead into the busy environment's pipe, is dropped with it
    running.cancel()  # the function was running: its environment is stopped

    assert wait_until(lambda: gone(warm["pid"]))
    after = body(invoke(invoker, {}, timeout=30))  # the place came back: a new environment serves
    assert (after["inits"], after["calls"]) == (2, 1)


def test_a_begun_invoke_refuses_latest(orders: FunctionSpec, local: Local) -> None:
    with pytest.raises(TargetError, match=r"qualifier '\$LATEST' does not name the code under test"):
        local(orders).begin(b"{}", qualifier="$LATEST", timeout=10, notify=lambda: None)


def test_load_waits_for_the_cold_start_begin_load_began(tmp_path: Path, local: Local) -> None:
    folder = code(tmp_path / "fn", app=COUNTED)
    invoker = local(spec_in(folder))
    invoker.begin_load()
    invoker.begin_load()  # once: one environment
    invoker.load()
    assert body(invoke(invoker, {}))["inits"] == 1

    broken = local(spec_in(code(tmp_path / "broken", app="raise RuntimeError('boom at import')\n")))
    broken.begin_load()  # returns at once; the failure is load()'s to say
    with pytest.raises(ConfigurationError, match=r"importing .* failed \(RuntimeError: boom at import"):
        broken.load()


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux's scheduling policies")
def test_environments_are_batch_work_for_the_scheduler(tmp_path: Path, local: Local) -> None:
    invoker = local(spec_in(code(tmp_path / "fn", app=COUNTED)))
    pid = body(invoke(invoker, {}))["pid"]
    assert os.sched_getscheduler(pid) == os.SCHED_BATCH


# --- the function's process, not hookkit's ----------------------------------------------------

def test_the_working_directory_is_the_code_folder(tmp_path: Path, local: Local) -> None:
    folder = code(tmp_path / "fn", app="""\
        import json, os

        PRODUCTS = json.load(open("product_list.json"))  # relative, as functions open their data

        def handler(event, context):
            return {"cwd": os.getcwd(), "products": PRODUCTS}
        """)
    (folder / "product_list.json").write_text('["BOOK-1984"]')
    cwd = os.getcwd()
    assert body(invoke(local(spec_in(folder)), {})) == {"cwd": str(folder.resolve()), "products": ["BOOK-1984"]}
    assert os.getcwd() == cwd


def test_sys_path_holds_the_code_folder_then_the_layers(tmp_path: Path, local: Local) -> None:
    folder = code(tmp_path / "fn", app="""\
        import sys
        import shared, vendored

        def handler(event, context):
            return {"path": sys.path, "shared": shared.WHO, "vendored": vendored.WHO}
        """)
    first, second = tmp_path / "layer1", tmp_path / "layer2"
    code(first / "python", shared="WHO = 'first layer'")
    code(second / "python", shared="WHO = 'second layer'")
    packages = second / "python" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    code(packages, vendored="WHO = 'second layer site-packages'")

    seen = body(invoke(local(spec_in(folder, layers=(first, second))), {}))

    assert seen["path"][:4] == [str(folder.resolve()), str(packages), str(second / "python"), str(first / "python")]
    assert os.path.dirname(BOOTSTRAP) not in seen["path"]  # hookkit's runtime folder is not the function's
    assert (seen["shared"], seen["vendored"]) == ("second layer", "second layer site-packages")  # later layers win
    assert str(folder.resolve()) not in sys.path


def test_the_functions_variables_are_lambdas_and_hookkits_are_untouched_while_it_runs(
    tmp_path: Path, local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = code(tmp_path / "fn", app="""\
        import os, time

        def handler(event, context):
            open("running", "w").close()
            while not os.path.exists("release"):
                time.sleep(0.01)
            return dict(os.environ)
        """)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDCALLER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "caller-secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")
    monkeypatch.setenv("HOOKKIT_TEST_PRIVATE", "hookkit's own")
    monkeypatch.setenv("LANG", "C.UTF-8")
    spec = spec_in(folder, environment={"TABLE_NAME": "orders", "AWS_REGION": "eu-west-3", "LANG": "fr_FR.UTF-8"},
                   memory_size=512, region="eu-central-1")
    invoker = local(spec, version="3")
    assert invoker.warnings == [
        "Fn: environment variable AWS_REGION is reserved by Lambda (a deployment that sets it fails); "
        "the local run uses Lambda's value"
    ]
    before = dict(os.environ)

    with ThreadPoolExecutor(max_workers=1) as pool:
        call = pool.submit(invoke, invoker, {})
        assert wait_until(lambda: (folder / "running").exists())
        during = dict(os.environ)  # what a check's thread reads while the function runs
        (folder / "release").touch()
        seen = body(call.result())

    assert during == before == dict(os.environ)
    assert {name: seen.get(name) for name in (
        "TABLE_NAME", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_REGION", "AWS_DEFAULT_REGION", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "_HANDLER",
        "AWS_EXECUTION_ENV", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_INITIALIZATION_TYPE", "TZ", "LANG",
        "AWS_XRAY_CONTEXT_MISSING", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_DYNAMODB",
        "HOOKKIT_TEST_PRIVATE",
    )} == {
        "TABLE_NAME": "orders",
        "AWS_LAMBDA_FUNCTION_NAME": "local-Fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "3",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": "eu-central-1",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "LAMBDA_TASK_ROOT": str(folder.resolve()),
        "LAMBDA_RUNTIME_DIR": os.path.dirname(BOOTSTRAP),
        "_HANDLER": "app.handler",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{OWN_RUNTIME}",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/local-Fn",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "TZ": ":UTC",
        "LANG": "fr_FR.UTF-8",  # unreserved: the function's own value wins
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_ACCESS_KEY_ID": "AKIDCALLER",  # the caller's credentials and endpoints, as sam local passes them
        "AWS_SECRET_ACCESS_KEY": "caller-secret",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
        "HOOKKIT_TEST_PRIVATE": None,  # nothing else of the caller's
    }
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", seen["_X_AMZN_TRACE_ID"])
    assert seen["AWS_LAMBDA_LOG_STREAM_NAME"].endswith(tuple("0123456789abcdef"))


def test_concurrent_calls_never_see_each_others_environment(orders: FunctionSpec, local: Local) -> None:
    blue = local(dataclasses.replace(orders, environment={"COLOUR": "blue"}))
    green = local(dataclasses.replace(orders, environment={"COLOUR": "green"}))
    jobs = [blue, green] * 10

    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = list(pool.map(lambda inv: body(invoke(inv, {"action": "env", "names": ["COLOUR"]}))["COLOUR"], jobs))

    assert seen == ["blue", "green"] * 10
    assert "COLOUR" not in os.environ


def test_powertools_tracer_and_xray_patching_work_untraced_and_stay_in_the_function(
    tmp_path: Path, local: Local
) -> None:
    import requests

    request = requests.Session.request
    folder = code(tmp_path / "fn", app="""\
        import os
        import requests
        from aws_lambda_powertools import Tracer
        from aws_xray_sdk.core import patch_all

        patch_all()
        tracer = Tracer(service="orders-test")

        @tracer.capture_method
        def work():
            tracer.put_annotation("order", "ORD-1")
            return "done"

        @tracer.capture_lambda_handler
        def handler(event, context):
            return {"work": work(), "request": type(requests.Session.request).__name__,
                    "trace": os.environ["_X_AMZN_TRACE_ID"]}
        """)
    invoker = local(spec_in(folder))
    for _ in range(2):  # the cold start's call and a warm one
        result = invoke(invoker, {})
        assert result.function_error is None, result.payload
        seen = body(result)
        assert (seen["work"], seen["request"]) == ("done", "BoundFunctionWrapper")  # patched in its process
        assert seen["trace"].endswith(";Sampled=0")
    assert requests.Session.request is request  # and not in hookkit's


# --- modules: each build's own --------------------------------------------------------------

def test_two_builds_with_the_same_module_names_do_not_share_state(
    monkeypatch: pytest.MonkeyPatch, local: Local
) -> None:
    outer_models = types.ModuleType("models")
    monkeypatch.setitem(sys.modules, "models", outer_models)  # the process has its own "models"
    app_before = sys.modules.get("app")
    current = local(function_spec(BUILDS / "template.yaml", "Counter"), version="1")
    target = local(function_spec(BUILDS / "template.yaml", "Counter", code_uri=BUILDS / "target"), version="2")

    results = [body(invoke(inv, {})) for inv in (current, current, target, current, target)]

    assert results == [
        {"build": "current", "counter": 1},
        {"build": "current", "counter": 2},
        {"build": "target", "counter": 1},
        {"build": "current", "counter": 3},
        {"build": "target", "counter": 2},
    ]
    assert sys.modules["models"] is outer_models
    assert sys.modules.get("app") is app_before


def test_imports_made_during_a_call_come_from_the_functions_own_folder(local: Local) -> None:
    current = local(function_spec(BUILDS / "template.yaml", "LazyCounter"))
    target = local(function_spec(BUILDS / "template.yaml", "LazyCounter", code_uri=BUILDS / "target"))

    assert [body(invoke(inv, {})) for inv in (current, target, current)] == [
        "current helpers 1", "target helpers 1", "current helpers 2",
    ]
    assert "helpers" not in sys.modules


def test_a_file_named_like_a_module_the_runtime_imported_does_not_replace_it(tmp_path: Path, local: Local) -> None:
    # Lambda's runtime imported json before the function's code ran, so the folder's json.py
    # is never what `import json` finds there either
    folder = code(tmp_path / "fn", json="def dumps(value):\n    return 'shadow'\n", app="""\
        import json

        def handler(event, context):
            return json.dumps([1, 2])
        """)
    assert body(invoke(local(spec_in(folder)), {})) == "[1, 2]"


def test_what_the_function_does_to_its_process_stays_there(tmp_path: Path, local: Local) -> None:
    folder = code(tmp_path / "fn", app="""\
        import importlib, os, sys
        sys.path.append(os.path.join(os.path.dirname(__file__), "vendor"))

        def handler(event, context):
            os.environ["SET_BY_FUNCTION"] = "1"
            sys.modules["hookkit"] = None
            return importlib.import_module(event["module"]).NAME
        """)
    code(folder / "vendor", first="NAME = 'first'", second="NAME = 'second'")
    invoker = local(spec_in(folder))
    path_before, hookkit_module = list(sys.path), sys.modules["hookkit"]

    assert [body(invoke(invoker, {"module": name})) for name in ("first", "second")] == ["first", "second"]
    assert sys.path == path_before and "first" not in sys.modules
    assert sys.modules["hookkit"] is hookkit_module and "SET_BY_FUNCTION" not in os.environ


# --- logs -----------------------------------------------------------------------------------

def test_printed_and_logged_output_is_the_log_tail(orders: FunctionSpec, local: Local) -> None:
    invoker = local(orders, version="4")
    first = invoke(invoker, {"action": "print"})
    second = invoke(invoker, {"action": "print"})

    rid = request_id(first)
    lines = first.log_tail.splitlines()
    assert lines[:4] == [f"START RequestId: {rid} Version: 4", "cold start", "to stdout", "to stderr"]
    level, stamp, logged_id, message = lines[4].split("\t")
    assert (level, logged_id, message) == ("[WARNING]", rid, "a warning from the handler")
    assert stamp.endswith("Z") and len(stamp) == len("2024-01-01T00:00:00.000Z")
    assert lines[5] == f"END RequestId: {rid}"
    assert re.fullmatch(
        rf"REPORT RequestId: {rid}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\t"
        r"Max Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms", lines[6],
    )
    assert len(lines) == 7
    assert "cold start" not in second.log_tail  # module code ran once, in the cold start
    assert "Init Duration" not in second.log_tail


def test_log_tail_is_the_last_4_kb(orders: FunctionSpec, local: Local) -> None:
    tail = invoke(local(orders), {"action": "loud"}).log_tail
    assert len(tail.encode()) == LOG_TAIL_BYTES
    assert tail.startswith("x" * 100)
    assert "the end\nEND RequestId: " in tail


def test_output_of_child_processes_and_c_code_is_in_the_log(tmp_path: Path, local: Local) -> None:
    folder = code(tmp_path / "fn", app="""\
        import os, subprocess

        def handler(event, context):
            os.write(1, b"straight to fd 1\\n")
            subprocess.run(["sh", "-c", "echo from a child process"], check=True)
            return "ok"
        """)
    tail = invoke(local(spec_in(folder)), {}).log_tail
    assert "\nstraight to fd 1\nfrom a child process\nEND RequestId: " in tail


def test_powertools_logger_lines_are_logged_once_per_call(tmp_path: Path, local: Local) -> None:
    folder = code(tmp_path / "fn", app="""\
        from aws_lambda_powertools import Logger

        logger = Logger(service="orders-test")

        @logger.inject_lambda_context
        def handler(event, context):
            logger.info("order accepted", extra={"orderId": event["orderId"]})
            return "ok"
        """)
    invoker = local(spec_in(folder))
    for order in ("ORD-1", "ORD-2"):
        result = invoke(invoker, {"orderId": order})
        lines = [line for line in result.log_tail.splitlines() if "order accepted" in line]
        assert len(lines) == 1
        record = json.loads(lines[0])
        assert (record["orderId"], record["function_request_id"], record["function_name"]) == (
            order, request_id(result), "local-Fn",
        )


def test_hookkits_own_output_stays_out_of_the_functions_log(
    tmp_path: Path, local: Local, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = code(tmp_path / "fn", app="""\
        import os, time

        def handler(event, context):
            open("running", "w").close()
            while not os.path.exists("release"):
                time.sleep(0.01)
            print("from the function")
            return "ok"
        """)
    with ThreadPoolExecutor(max_workers=1) as pool:
        call = pool.submit(invoke, local(spec_in(folder)), {})
        assert wait_until(lambda: (folder / "running").exists())
        print("from the test thread")
        (folder / "release").touch()
        result = call.result()

    assert "from the function\n" in result.log_tail
    assert "from the test thread" not in result.log_tail
    assert capsys.readouterr().out == "from the test thread\n"


# --- the handler fails to import ------------------------------------------------------------

@pytest.mark.parametrize(
    "files, handler, message",
    [
        ({"app": "def handler(event, context):\n    return (\n"}, "app.handler",
         "handler 'app.handler': importing {folder}/app.py failed (SyntaxError at {folder}/app.py:2: "
         "'(' was never closed); fix the function's code"),
        ({"app": "def handler(e, c): ..."}, "nothere.handler",
         "handler 'nothere.handler': no module 'nothere' in {folder} (expected {folder}/nothere.py); "
         "fix Handler or CodeUri"),
        ({"app": "import missing_dependency\n"}, "app.handler",
         "handler 'app.handler': importing {folder}/app.py failed (ModuleNotFoundError: No module named "
         "'missing_dependency' (at {folder}/app.py:1)); fix the function's code"),
        ({"app": "def other(e, c): ..."}, "app.handler",
         "handler 'app.handler': {folder}/app.py has no function 'handler'; fix Handler or define the function"),
        ({"app": "import os\nTABLE = os.environ['TABLE_NAME']\n"}, "app.handler",
         "handler 'app.handler': importing {folder}/app.py failed (KeyError: 'TABLE_NAME' (at {folder}/app.py:2)); "
         "fix the function's code"),
        ({"app": "import sys\nsys.exit(4)\n"}, "app.handler",
         "handler 'app.handler': importing {folder}/app.py failed (SystemExit: 4 (at {folder}/app.py:2)); "
         "fix the function's code"),
        ({"app": "import os\nprint('about to leave')\nos._exit(5)\n"}, "app.handler",
         "handler 'app.handler': importing {folder}/app.py ended its process (exit status 5: about to leave); "
         "fix the function's code"),
    ],
)
def test_import_failures_are_configuration_errors(
    tmp_path: Path, files: dict[str, str], handler: str, message: str, local: Local
) -> None:
    folder = code(tmp_path / "fn", **files, sibling="VALUE = 1")
    invoker = local(spec_in(folder, handler))
    app_before = sys.modules.get("app")
    with pytest.raises(ConfigurationError) as caught:
        invoker.load()
    assert str(caught.value) == message.format(folder=folder.resolve())
    with pytest.raises(ConfigurationError):
        invoke(invoker, {})  # every call tries a new environment, and says the same
    assert sys.modules.get("app") is app_before  # nothing of the function's was imported here


def test_import_failure_is_retried_on_the_next_call(tmp_path: Path, local: Local) -> None:
    folder = code(tmp_path / "fn", app="import missing_dependency\n")
    invoker = local(spec_in(folder))
    with pytest.raises(ConfigurationError):
        invoke(invoker, {})
    code(folder, missing_dependency="", app="import missing_dependency\ndef handler(e, c):\n    return 'fixed'\n")
    assert body(invoke(invoker, {})) == "fixed"


# --- the Runtime's interpreter --------------------------------------------------------------

def fake_python(folder: Path, name: str, script: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


ANY_PYTHON = """\
    import sys

    def handler(event, context):
        return list(sys.version_info[:2])
    """


def test_the_declared_runtimes_interpreter_runs_the_function(
    tmp_path: Path, local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    python = fake_python(tmp_path / "bin", "python3.99", f'echo "$@" >> {marker}\nexec {sys.executable} "$@"')
    monkeypatch.setenv("PATH", f"{python.parent}{os.pathsep}{os.environ['PATH']}")
    invoker = local(spec_in(code(tmp_path / "fn", app=ANY_PYTHON), runtime="python3.99"))

    assert body(invoke(invoker, {})) == list(sys.version_info[:2])  # the fake hands over to a real Python
    assert (invoker.interpreter.executable, invoker.warnings) == (str(python), [])
    assert marker.read_text().startswith(f"{BOOTSTRAP} ")


def test_without_the_declared_runtimes_interpreter_hookkits_python_runs_it_with_a_warning(
    tmp_path: Path, local: Local
) -> None:
    invoker = local(spec_in(code(tmp_path / "fn", app=ANY_PYTHON), runtime="python3.98"))

    assert body(invoke(invoker, {})) == list(sys.version_info[:2])
    assert invoker.interpreter.executable == sys.executable
    assert invoker.warnings == [
        f"Fn declares Runtime python3.98, but no python3.98 is on PATH: its code runs under Python "
        f"{sys.version_info.major}.{sys.version_info.minor} (hookkit's own, {sys.executable}) instead of Python 3.98"
    ]


def test_an_interpreter_that_cannot_start_is_replaced_by_hookkits_with_a_warning(
    tmp_path: Path, local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = fake_python(tmp_path / "bin", "python3.97", "echo 'python3.97: command not found' >&2\nexit 127")
    monkeypatch.setenv("PATH", f"{python.parent}{os.pathsep}{os.environ['PATH']}")
    invoker = local(spec_in(code(tmp_path / "fn", app=ANY_PYTHON), runtime="python3.97"))
    invoker.load()

    assert invoker.interpreter.executable == sys.executable
    assert invoker.warnings == [
        f"Fn declares Runtime python3.97, but {python} did not start (exit status 127: python3.97: command not "
        f"found): its code runs under Python {sys.version_info.major}.{sys.version_info.minor} (hookkit's own, "
        f"{sys.executable}) instead of Python 3.97"
    ]
    assert body(invoke(invoker, {})) == list(sys.version_info[:2])
    assert local(spec_in(tmp_path / "fn", runtime="python3.97")).warnings == invoker.warnings  # not tried again


def test_a_missing_dependency_under_the_declared_runtime_says_where_to_install_it(
    tmp_path: Path, local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = fake_python(tmp_path / "bin", "python3.96", f'exec {sys.executable} "$@"')
    monkeypatch.setenv("PATH", f"{python.parent}{os.pathsep}{os.environ['PATH']}")
    invoker = local(spec_in(code(tmp_path / "fn", app="import not_installed_anywhere\n"), runtime="python3.96"))
    with pytest.raises(ConfigurationError) as caught:
        invoker.load()
    assert str(caught.value).endswith(
        f"; it runs under {python} (Python 3.96, its Runtime): install the function's dependencies for that "
        "Python, or build the function (sam build) and point CodeUri at the build"
    )


def test_the_bootstrap_runs_on_every_python_lambda_offers_with_the_standard_library_alone() -> None:
    source = Path(BOOTSTRAP).read_text()
    tree = ast.parse(source, feature_version=(3, 9))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    assert imported <= sys.stdlib_module_names | {"__future__"}
    from hookkit.local import environment

    # hookkit reads the protocol from the same module, not a copy of its formats
    assert environment.REQUEST is bootstrap.REQUEST and environment.REPLY is bootstrap.REPLY


def test_the_environments_protocol_is_bytes_and_json_never_pickle() -> None:
    from hookkit.local import environment, invoker

    for module in (bootstrap, environment, invoker):
        tree = ast.parse(Path(module.__file__).read_text())  # type: ignore[arg-type]
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
                 for alias in node.names} | {node.module for node in ast.walk(tree)
                                            if isinstance(node, ast.ImportFrom) and node.module}
        assert not names & {"pickle", "marshal", "shelve", "multiprocessing", "copyreg"}, module.__name__


# --- processes never outlive hookkit ------------------------------------------------------------

def test_close_ends_every_environment(tmp_path: Path, local: Local) -> None:
    invoker = local(spec_in(code(tmp_path / "fn", app=SLOW)), concurrency=2)
    pids = {answer["pid"] for answer in overlapping(invoker, 2, 0.3)}
    invoker.close()
    assert all(gone(pid) for pid in pids)
    assert body(invoke(invoker, {"sleep": 0}))["pid"] not in pids  # a later call starts a new one


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "mid-request"])
def test_an_environment_ends_when_hookkits_process_dies(tmp_path: Path, busy: bool) -> None:
    """The environment and every process the function started in it: nothing outlives a killed hookkit."""
    folder = code(tmp_path / "fn", app="""\
        import os, subprocess, time

        def handler(event, context):
            child = subprocess.Popen(["sleep", "300"])
            open("pid", "w").write(f"{os.getpid()} {child.pid}")
            time.sleep(event["sleep"])
            return "done"
        """)
    parent = textwrap.dedent(f"""\
        import os, signal, threading, time
        from pathlib import Path
        from hookkit.local.invoker import LocalInvoker
        from hookkit.local.sam import FunctionSpec

        spec = FunctionSpec("Fn", Path({str(folder)!r}), "app.handler", None, 120.0, 128, {{}}, "local-Fn", (), ())
        invoker = LocalInvoker(spec)
        invoker.invoke(b'{{"sleep": 0}}', qualifier="1", timeout=30)
        if {busy}:
            threading.Thread(target=invoker.invoke, args=(b'{{"sleep": 600}}',),
                             kwargs={{"qualifier": "1", "timeout": 900}}, daemon=True).start()
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGKILL)
        """)
    done = subprocess.run([sys.executable, "-c", parent], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == -9, done.stderr
    pid, started = (int(n) for n in (folder / "pid").read_text().split())
    assert wait_until(lambda: gone(pid)), f"environment {pid} outlived hookkit"
    assert wait_until(lambda: gone(started)), f"process {started} the function started outlived hookkit"


# --- call(): for the in-process API adapter ------------------------------------------------

def test_call_returns_the_decoded_answer(orders: FunctionSpec, local: Local) -> None:
    assert local(orders).call({"action": "decimal"}) == {"price": 12.5, "count": 3}


def test_call_raises_a_function_error_naming_what_the_handler_raised(orders: FunctionSpec, local: Local) -> None:
    with pytest.raises(FunctionError) as caught:
        local(orders).call({"action": "raise", "orderId": "ORD-3"})
    assert str(caught.value) == "local-OrdersFunction: handler app.handler raised ValueError: order ORD-3 is invalid"
    assert (caught.value.error_type, caught.value.body["errorMessage"]) == ("ValueError", "order ORD-3 is invalid")


def test_call_raises_when_the_answer_cannot_be_marshalled(orders: FunctionSpec, local: Local) -> None:
    with pytest.raises(FunctionError) as caught:
        local(orders).call({"action": "set"})
    assert caught.value.error_type == "Runtime.MarshalError"


def test_call_sets_the_functions_environment(orders: FunctionSpec, local: Local) -> None:
    assert local(orders).call({"action": "env", "names": ["STAGE"]}) == {"STAGE": "dev"}
    assert "STAGE" not in os.environ


def test_call_times_out_with_the_function_timeout(orders: FunctionSpec, local: Local) -> None:
    invoker = local(dataclasses.replace(orders, timeout=0.5))
    with pytest.raises(InvokeError) as caught:
        invoker.call({"action": "sleep", "seconds": 30})
    assert re.fullmatch(
        r"local-OrdersFunction: handler app\.handler: RequestId: [0-9a-f-]{36} Error: Task timed out after 0\.50 "
        r"seconds", str(caught.value),
    )


def test_call_output_goes_to_the_console(
    orders: FunctionSpec, local: Local, capsys: pytest.CaptureFixture[str]
) -> None:
    local(orders).call({"action": "print"})
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("cold start\nto stdout\nto stderr\n[WARNING]\t")


def test_call_output_on_the_console_has_its_secrets_hidden(
    tmp_path: Path, local: Local, capsys: pytest.CaptureFixture[str]
) -> None:
    """A function that logs its request's headers must not put a token into the CI log."""
    folder = code(tmp_path / "fn", app="""\
        def handler(event, context):
            print("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.secret-token")
            print("calling https://example.com/orders?api_key=AKIA-LEAKED&page=2")
            return {}
        """)
    local(spec_in(folder)).call({})
    err = capsys.readouterr().err
    assert "secret-token" not in err and "AKIA-LEAKED" not in err
    assert "calling https://example.com/orders?" in err and "page=2" in err  # the rest is kept
