"""The in-process invoker: Lambda-shaped answers, isolation of environment and modules, timeouts."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import textwrap
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hookkit.checks.invocation import Invocation, Invoker
from hookkit.core.errors import ConfigurationError, InvokeError, TargetError
from hookkit.local.invoker import LOG_TAIL_BYTES, LocalInvoker
from hookkit.local.sam import FunctionSpec, function_spec

FIXTURES = Path(__file__).parent / "fixtures" / "sam"
TEMPLATE = FIXTURES / "template.yaml"
BUILDS = FIXTURES / "builds"


@pytest.fixture
def orders() -> FunctionSpec:
    return function_spec(TEMPLATE, "OrdersFunction")


def invoke(invoker: LocalInvoker, event: object, *, timeout: float = 5.0) -> Invocation:
    return invoker.invoke(json.dumps(event).encode(), qualifier="7", timeout=timeout)


def body(invocation: Invocation) -> object:
    return json.loads(invocation.payload)


def spec_in(folder: Path, handler: str = "app.handler", **changes: object) -> FunctionSpec:
    fields = {
        "logical_id": "Fn", "code_uri": folder.resolve(), "handler": handler, "runtime": "python3.12", "timeout": 3.0,
        "memory_size": 128, "environment": {}, "function_name": "local-Fn", "routes": (), "warnings": (),
    }
    return FunctionSpec(**{**fields, **changes})  # type: ignore[arg-type]


def code(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(text))
    return folder


def test_is_an_invoker(orders: FunctionSpec) -> None:
    invoker: Invoker = LocalInvoker(orders)
    assert callable(invoker.invoke)


def test_return_value_is_the_json_payload(orders: FunctionSpec) -> None:
    result = invoke(LocalInvoker(orders, version="7"), {"action": "echo", "orderId": "ORD-1"})

    assert (result.status_code, result.function_error, result.executed_version) == (200, None, "7")
    assert body(result) == {
        "event": {"action": "echo", "orderId": "ORD-1"},
        "calls": 1,
        "table_at_import": "<Ref OrdersTable>",  # module-level code saw the function's environment
    }
    assert result.duration_ms > 0


def test_module_state_persists_between_calls_of_one_invoker(orders: FunctionSpec) -> None:
    invoker = LocalInvoker(orders)
    assert [body(invoke(invoker, {}))["calls"] for _ in range(3)] == [1, 2, 3]


def test_empty_payload_is_an_empty_event(orders: FunctionSpec) -> None:
    result = LocalInvoker(orders).invoke(b"", qualifier="1", timeout=5)
    assert body(result)["event"] == {}


def test_lambda_context(orders: FunctionSpec) -> None:
    result = body(invoke(LocalInvoker(orders, version="12"), {"action": "context"}))
    remaining = result.pop("remaining_ms")
    assert result == {
        "function_name": "local-OrdersFunction",
        "function_version": "12",
        "memory_limit_in_mb": 256,
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:local-OrdersFunction",
    }
    assert 4000 < remaining <= 5000  # counts down from the function's Timeout: 5


def test_handler_in_a_sub_folder() -> None:
    spec = function_spec(TEMPLATE, "NamedFunction")
    assert body(invoke(LocalInvoker(spec), {})) == {"nested": True, "level": "ERROR"}


def test_raising_handler_is_an_unhandled_function_error(orders: FunctionSpec) -> None:
    result = invoke(LocalInvoker(orders), {"action": "raise", "orderId": "ORD-9"})

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


def test_timeout_argument_shorter_than_the_function_timeout(orders: FunctionSpec) -> None:
    result = invoke(LocalInvoker(orders), {"action": "sleep", "seconds": 2}, timeout=0.1)

    assert (result.status_code, result.function_error) == (200, "Unhandled")
    assert body(result) == {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 0.10 seconds"}
    assert result.duration_ms == pytest.approx(100.0, abs=1.0)
    assert " Task timed out after 0.10 seconds\nEND RequestId: " in result.log_tail


def test_function_timeout_shorter_than_the_timeout_argument(orders: FunctionSpec) -> None:
    result = invoke(LocalInvoker(dataclasses.replace(orders, timeout=0.15)), {"action": "sleep", "seconds": 2})
    assert body(result) == {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 0.15 seconds"}


def test_a_call_after_a_timeout_works(orders: FunctionSpec) -> None:
    invoker = LocalInvoker(orders)
    invoke(invoker, {"action": "sleep", "seconds": 1}, timeout=0.05)
    assert body(invoke(invoker, {"action": "sleep", "seconds": 0})) == "slept"


def test_unserialisable_result_is_a_marshal_error(orders: FunctionSpec) -> None:
    result = invoke(LocalInvoker(orders), {"action": "set"})
    assert result.function_error == "Unhandled"
    error = body(result)
    assert (error["errorType"], error["errorMessage"], error["stackTrace"]) == (
        "Runtime.MarshalError", "Unable to marshal response: Object of type set is not JSON serializable", [],
    )


def test_decimals_are_numbers_as_in_lambda(orders: FunctionSpec) -> None:
    result = invoke(LocalInvoker(orders), {"action": "decimal"})
    assert (result.payload, result.function_error) == (b'{"price": 12.5, "count": 3}', None)


def test_latest_is_refused(orders: FunctionSpec) -> None:
    with pytest.raises(TargetError) as caught:
        LocalInvoker(orders).invoke(b"{}", qualifier="$LATEST", timeout=1)
    assert str(caught.value).startswith("local-OrdersFunction: qualifier '$LATEST' does not name the code under test")


def test_payload_that_is_not_json(orders: FunctionSpec) -> None:
    with pytest.raises(InvokeError) as caught:
        LocalInvoker(orders).invoke(b"{oops", qualifier="1", timeout=1)
    assert str(caught.value).startswith("local-OrdersFunction: the payload is not JSON (")
    assert str(caught.value).endswith("(InvalidRequestContentException): fix the event file")


# --- environment ----------------------------------------------------------------------------

def test_environment_is_set_for_the_call_and_restored_exactly(
    orders: FunctionSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAGE", "outer")
    monkeypatch.setenv("REMOVED_BY_HANDLER", "still here")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.delenv("SERVICE", raising=False)
    before = dict(os.environ)
    names = [
        "STAGE", "SERVICE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION", "AWS_DEFAULT_REGION", "REMOVED_BY_HANDLER",
    ]

    seen = body(invoke(LocalInvoker(orders, version="3"), {"action": "env", "names": names}))

    assert seen == {
        "STAGE": "dev",
        "SERVICE": "orders",
        "AWS_LAMBDA_FUNCTION_NAME": "local-OrdersFunction",
        "AWS_LAMBDA_FUNCTION_VERSION": "3",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "REMOVED_BY_HANDLER": None,
    }
    assert dict(os.environ) == before  # including what the handler itself set and removed


def test_concurrent_calls_never_see_each_others_environment(orders: FunctionSpec) -> None:
    blue = LocalInvoker(dataclasses.replace(orders, environment={"COLOUR": "blue"}))
    green = LocalInvoker(dataclasses.replace(orders, environment={"COLOUR": "green"}))
    jobs = [blue, green] * 20

    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = list(pool.map(lambda inv: body(invoke(inv, {"action": "env", "names": ["COLOUR"]}))["COLOUR"], jobs))

    assert seen == ["blue", "green"] * 20
    assert "COLOUR" not in os.environ


# --- module isolation -----------------------------------------------------------------------

def test_two_builds_with_the_same_module_names_do_not_share_state(monkeypatch: pytest.MonkeyPatch) -> None:
    outer_models = types.ModuleType("models")
    monkeypatch.setitem(sys.modules, "models", outer_models)  # the process has its own "models"
    monkeypatch.delitem(sys.modules, "app", raising=False)
    current = LocalInvoker(function_spec(BUILDS / "template.yaml", "Counter"), version="1")
    target = LocalInvoker(function_spec(BUILDS / "template.yaml", "Counter", code_uri=BUILDS / "target"), version="2")

    results = [body(invoke(inv, {})) for inv in (current, current, target, current, target)]

    assert results == [
        {"build": "current", "counter": 1},
        {"build": "current", "counter": 2},
        {"build": "target", "counter": 1},
        {"build": "current", "counter": 3},
        {"build": "target", "counter": 2},
    ]
    assert sys.modules["models"] is outer_models
    assert "app" not in sys.modules
    assert str(BUILDS.resolve() / "current") not in sys.path


def test_imports_made_during_a_call_come_from_the_functions_own_folder() -> None:
    current = LocalInvoker(function_spec(BUILDS / "template.yaml", "LazyCounter"))
    target = LocalInvoker(function_spec(BUILDS / "template.yaml", "LazyCounter", code_uri=BUILDS / "target"))

    assert [body(invoke(inv, {})) for inv in (current, target, current)] == [
        "current helpers 1", "target helpers 1", "current helpers 2",
    ]
    assert "helpers" not in sys.modules


def test_a_file_named_like_the_standard_library_does_not_replace_it(tmp_path: Path) -> None:
    # Lambda's runtime imported json before the function's code ran, so the folder's json.py
    # is never what `import json` finds there either
    folder = code(tmp_path / "fn", json="def dumps(value):\n    return 'shadow'\n", app="""\
        import json

        def handler(event, context):
            return json.dumps([1, 2])
        """)
    assert body(invoke(LocalInvoker(spec_in(folder)), {})) == "[1, 2]"
    assert sys.modules["json"].__file__.startswith(os.path.dirname(os.__file__))


def test_path_entries_added_by_the_code_stay_with_it(tmp_path: Path) -> None:
    folder = code(tmp_path / "fn", app="""\
        import importlib, os, sys
        sys.path.append(os.path.join(os.path.dirname(__file__), "vendor"))

        def handler(event, context):
            return importlib.import_module(event["module"]).NAME
        """)
    code(folder / "vendor", first="NAME = 'first'", second="NAME = 'second'")
    invoker = LocalInvoker(spec_in(folder))
    path_before = list(sys.path)

    assert [body(invoke(invoker, {"module": name})) for name in ("first", "second")] == ["first", "second"]
    assert sys.path == path_before
    assert "first" not in sys.modules


def test_the_path_list_other_threads_may_be_walking_is_never_changed_under_them(tmp_path: Path) -> None:
    # An import in another thread walks sys.path; an entry inserted into that very list while it
    # does made it skip another ("No module named 'unicodedata'" in a check, seen in CI replays).
    folder = code(tmp_path / "fn", app="""\
        import sys

        def handler(event, context):
            return [sys.path[0], id(sys.path)]
        """)
    walked, before = sys.path, list(sys.path)

    first_entry, list_during_the_call = body(invoke(LocalInvoker(spec_in(folder)), {}))
    assert first_entry == str(folder.resolve())
    assert list_during_the_call != id(walked)  # the function saw a list of its own
    assert sys.path is walked and walked == before


# --- logs -----------------------------------------------------------------------------------

def test_printed_and_logged_output_is_the_log_tail(orders: FunctionSpec) -> None:
    invoker = LocalInvoker(orders, version="4")
    first = invoke(invoker, {"action": "print"})
    second = invoke(invoker, {"action": "print"})

    request_id = first.log_tail.split()[2]
    lines = first.log_tail.splitlines()
    assert lines[:4] == [f"START RequestId: {request_id} Version: 4", "cold start", "to stdout", "to stderr"]
    level, stamp, logged_id, message = lines[4].split("\t")
    assert (level, logged_id, message) == ("[WARNING]", request_id, "a warning from the handler")
    assert stamp.endswith("Z") and len(stamp) == len("2024-01-01T00:00:00.000Z")
    assert lines[5] == f"END RequestId: {request_id}"
    assert lines[6].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert lines[6].endswith("\tMemory Size: 256 MB")
    assert len(lines) == 7
    assert "cold start" not in second.log_tail  # module code ran once, in the first call


def test_log_tail_is_the_last_4_kb(orders: FunctionSpec) -> None:
    tail = invoke(LocalInvoker(orders), {"action": "loud"}).log_tail
    assert len(tail.encode()) == LOG_TAIL_BYTES
    assert tail.startswith("x" * 100)
    assert "the end\nEND RequestId: " in tail


def test_powertools_logger_lines_are_logged_once_per_call(tmp_path: Path) -> None:
    folder = code(tmp_path / "fn", app="""\
        from aws_lambda_powertools import Logger

        logger = Logger(service="orders-test")

        @logger.inject_lambda_context
        def handler(event, context):
            logger.info("order accepted", extra={"orderId": event["orderId"]})
            return "ok"
        """)
    invoker = LocalInvoker(spec_in(folder))
    for order in ("ORD-1", "ORD-2"):
        result = invoke(invoker, {"orderId": order})
        request_id = result.log_tail.split()[2]
        lines = [line for line in result.log_tail.splitlines() if "order accepted" in line]
        assert len(lines) == 1
        record = json.loads(lines[0])
        assert (record["orderId"], record["function_request_id"], record["function_name"]) == (
            order, request_id, "local-Fn",
        )


def test_other_threads_output_stays_out_of_the_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started, release = threading.Event(), threading.Event()
    folder = code(tmp_path / "fn", app="""\
        import builtins

        def handler(event, context):
            builtins.hookkit_test_started.set()
            builtins.hookkit_test_release.wait(5)
            print("from the function")
            return "ok"
        """)
    import builtins

    builtins.hookkit_test_started, builtins.hookkit_test_release = started, release  # type: ignore[attr-defined]
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(invoke, LocalInvoker(spec_in(folder)), {})
            assert started.wait(5)
            print("from the test thread")
            release.set()
            result = future.result()
    finally:
        del builtins.hookkit_test_started, builtins.hookkit_test_release  # type: ignore[attr-defined]

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
    ],
)
def test_import_failures_are_configuration_errors(
    tmp_path: Path, files: dict[str, str], handler: str, message: str
) -> None:
    folder = code(tmp_path / "fn", **files, sibling="VALUE = 1")
    invoker = LocalInvoker(spec_in(folder, handler))
    with pytest.raises(ConfigurationError) as caught:
        invoke(invoker, {})
    assert str(caught.value) == message.format(folder=folder.resolve())
    assert "app" not in sys.modules


def test_import_failure_is_retried_on_the_next_call(tmp_path: Path) -> None:
    folder = code(tmp_path / "fn", app="import missing_dependency\n")
    invoker = LocalInvoker(spec_in(folder))
    with pytest.raises(ConfigurationError):
        invoke(invoker, {})
    code(folder, missing_dependency="", app="import missing_dependency\ndef handler(e, c):\n    return 'fixed'\n")
    assert body(invoke(invoker, {})) == "fixed"


# --- call(): for the in-process API adapter ------------------------------------------------

def test_call_returns_the_raw_result(orders: FunctionSpec) -> None:
    assert LocalInvoker(orders).call({"action": "set"}) == {1, 2}


def test_call_raises_what_the_handler_raises(orders: FunctionSpec) -> None:
    with pytest.raises(ValueError, match=r"^order ORD-3 is invalid$"):
        LocalInvoker(orders).call({"action": "raise", "orderId": "ORD-3"})


def test_call_sets_the_environment(orders: FunctionSpec) -> None:
    assert LocalInvoker(orders).call({"action": "env", "names": ["STAGE"]}) == {"STAGE": "dev"}
    assert "STAGE" not in os.environ


def test_call_times_out_with_the_function_timeout(orders: FunctionSpec) -> None:
    invoker = LocalInvoker(dataclasses.replace(orders, timeout=0.1))
    with pytest.raises(InvokeError) as caught:
        invoker.call({"action": "sleep", "seconds": 1})
    assert str(caught.value) == (
        "local-OrdersFunction: handler app.handler did not return within its Timeout of 0.10 seconds"
    )


def test_call_output_goes_to_the_console(orders: FunctionSpec, capsys: pytest.CaptureFixture[str]) -> None:
    LocalInvoker(orders).call({"action": "print"})
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("cold start\nto stdout\n", "to stderr\n")


# --- one handler thread, reused ---------------------------------------------------------------

THREADED = """\
    import contextvars, threading, time

    seen = contextvars.ContextVar("seen", default="unset")

    def handler(event, context):
        time.sleep(event.get("sleep", 0))
        before = seen.get()
        seen.set("set by an earlier call")
        return {"thread": threading.get_ident(), "context": before}
    """


def test_calls_share_one_handler_thread_each_with_a_fresh_context(tmp_path: Path) -> None:
    invoker = LocalInvoker(spec_in(code(tmp_path / "fn", app=THREADED)))
    first, second = body(invoke(invoker, {})), body(invoke(invoker, {}))
    assert first["thread"] == second["thread"]
    assert first["context"] == second["context"] == "unset"


def test_a_handler_past_its_timeout_keeps_its_thread_and_the_next_call_gets_another(tmp_path: Path) -> None:
    invoker = LocalInvoker(spec_in(code(tmp_path / "fn", app=THREADED), timeout=0.1))
    before = body(invoke(invoker, {}))["thread"]
    assert body(invoke(invoker, {"sleep": 0.5}))["errorType"] == "Sandbox.Timedout"
    after = body(invoke(invoker, {}))["thread"]
    assert after != before


# --- modules that appear between calls ----------------------------------------------------------

def test_a_module_named_like_the_functions_that_appears_between_calls_is_set_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = code(tmp_path / "fn", helpers="NAME = 'the build'", app="""\
        import importlib

        def handler(event, context):
            return importlib.import_module("helpers").NAME
        """)
    invoker = LocalInvoker(spec_in(folder))
    monkeypatch.delitem(sys.modules, "helpers", raising=False)
    assert body(invoke(invoker, {"first": True})) == "the build"
    foreign = types.ModuleType("helpers")
    foreign.NAME = "the process"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "helpers", foreign)  # imported by the process after the first call

    assert body(invoke(invoker, {})) == "the build"
    assert sys.modules["helpers"] is foreign


def test_a_module_of_the_folder_first_imported_by_a_later_call_still_comes_from_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = code(tmp_path / "fn", later="NAME = 'the build'", app="""\
        import importlib

        def handler(event, context):
            return importlib.import_module(event["module"]).NAME if "module" in event else "no import"
        """)
    invoker = LocalInvoker(spec_in(folder))
    monkeypatch.delitem(sys.modules, "later", raising=False)
    assert body(invoke(invoker, {})) == "no import"
    foreign = types.ModuleType("later")
    foreign.NAME = "the process"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "later", foreign)

    assert body(invoke(invoker, {"module": "later"})) == "the build"
    assert sys.modules["later"] is foreign
    del sys.modules["later"]
    assert body(invoke(invoker, {"module": "later"})) == "the build"
    assert "later" not in sys.modules
