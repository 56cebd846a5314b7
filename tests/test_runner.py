from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookkit import Difference, ExpectationFailed, HookRegistry, Phase
from hookkit.core.errors import ConfigurationError
from hookkit.core.outcome import Outcome, Status, Verdict, decide
from hookkit.core.runner import run_checks, run_phase
from hookkit.core.stages import Unstaged

PRE = Phase.BEFORE_ALLOW_TRAFFIC


def no_resources(name, check, timeout):
    raise AssertionError(f"unexpected request for {name}")


def run(registry: HookRegistry, *, deadline_s: float = 10.0, **kwargs):
    return run_checks(
        registry.checks(PRE), provide=kwargs.pop("provide", no_resources), deadline=time.monotonic() + deadline_s,
        **kwargs
    )


def by_name(outcomes):
    return {o.name: o for o in outcomes}


def test_each_way_a_check_can_end_is_classified() -> None:
    registry = HookRegistry()
    registry.pre_traffic(lambda: None, name="returns_none")
    registry.pre_traffic(lambda: True, name="returns_true")
    registry.pre_traffic(lambda: {"any": "value"}, name="returns_a_value")
    registry.pre_traffic(lambda: False, name="returns_false")

    def asserts():
        assert 1 + 1 == 3, "arithmetic is broken"

    def expectation():
        raise ExpectationFailed("invoke f:2", [Difference("status", 201, 500)])

    def raises():
        raise KeyError("orderId")

    def exits():
        sys.exit(3)

    def config():
        raise ConfigurationError("HOOKKIT_API_URL is not set")

    for func in (asserts, expectation, raises, exits, config):
        registry.pre_traffic(func)
    got = by_name(run(registry))
    assert {n: o.status for n, o in got.items()} == {
        "returns_none": Status.PASSED,
        "returns_true": Status.PASSED,
        "returns_a_value": Status.PASSED,
        "returns_false": Status.FAILED,
        "asserts": Status.FAILED,
        "expectation": Status.FAILED,
        "raises": Status.ERROR,
        "exits": Status.ERROR,
        "config": Status.ERROR,
    }
    assert got["returns_false"].message == "the check returned False"
    assert got["asserts"].message.startswith("arithmetic is broken")
    assert "(at test_runner.py:" in got["asserts"].message
    assert got["expectation"].differences == (Difference("status", 201, 500),)
    assert got["raises"].message.startswith("KeyError: 'orderId' (at test_runner.py:")
    assert got["exits"].message.startswith("SystemExit: 3")
    assert got["config"].message == "ConfigurationError: HOOKKIT_API_URL is not set"
    assert all(o.attempts == 1 for o in got.values())


def test_checks_run_concurrently() -> None:
    # Five checks that can only finish if all five are running at the same time.
    barrier = threading.Barrier(5, timeout=5)
    registry = HookRegistry()
    for i in range(5):
        registry.pre_traffic(lambda: barrier.wait() is not None, name=f"c{i}")
    assert [o.status for o in run(registry)] == [Status.PASSED] * 5


def test_the_pool_is_bounded() -> None:
    running, peak, lock = [0], [0], threading.Lock()

    def check():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    registry = HookRegistry()
    for i in range(12):
        registry.pre_traffic(check, name=f"c{i}")
    outcomes = run(registry, max_workers=3)
    assert [o.status for o in outcomes] == [Status.PASSED] * 12
    assert peak[0] == 3


def test_a_hung_check_times_out_and_frees_its_slot() -> None:
    never = threading.Event()
    registry = HookRegistry()
    registry.pre_traffic(lambda: never.wait(), name="hangs", timeout=0.1)
    registry.pre_traffic(lambda: None, name="after")
    got = by_name(run(registry, max_workers=1))
    assert got["hangs"].status is Status.TIMED_OUT
    assert got["hangs"].message == "did not finish within its timeout of 0.1 s"
    assert got["after"].status is Status.PASSED
    never.set()


def test_runs_reuse_idle_worker_threads() -> None:
    def pool_threads() -> int:
        return sum(t.name.startswith("hookkit-check") for t in threading.enumerate())

    registry = HookRegistry()
    for i in range(40):
        registry.pre_traffic(lambda: time.sleep(0.002), name=f"c{i}")
    before = pool_threads()
    assert [o.status for o in run(registry, max_workers=4)] == [Status.PASSED] * 40
    after_first = pool_threads()
    assert [o.status for o in run(registry, max_workers=4)] == [Status.PASSED] * 40
    assert after_first <= before + 4  # never more threads than checks at once
    assert pool_threads() == after_first  # the second run started none


def test_a_hung_check_keeps_its_worker_and_the_next_run_gets_another() -> None:
    release = threading.Event()
    seen = []
    registry = HookRegistry()
    registry.pre_traffic(lambda: release.wait(), name="hangs_until_released", timeout=0.1)
    assert run(registry, max_workers=1)[0].status is Status.TIMED_OUT
    hung = [t for t in threading.enumerate() if t.name == "hookkit-check-hangs_until_released"]

    later = HookRegistry()
    later.pre_traffic(lambda: seen.append(threading.current_thread()), name="later")
    assert run(later, max_workers=1)[0].status is Status.PASSED
    release.set()
    assert len(hung) == 1 and seen[0] is not hung[0]


def test_each_attempt_starts_with_a_fresh_context() -> None:
    import contextvars

    var = contextvars.ContextVar("var", default="unset")
    seen = []

    def first():
        var.set("set by the first check")

    registry = HookRegistry()
    registry.pre_traffic(first)
    registry.pre_traffic(lambda: seen.append(var.get()), name="second")
    run(registry, max_workers=1)  # one worker: the second check runs on the first one's thread
    assert seen == ["unset"]


def test_retries_until_a_pass_and_count_attempts() -> None:
    calls = []

    def flaky():
        calls.append(1)
        assert len(calls) >= 3, f"attempt {len(calls)}"

    registry = HookRegistry()
    registry.pre_traffic(flaky, retries=3, retry_delay=0)
    (outcome,) = run(registry)
    assert (outcome.status, outcome.attempts, len(calls)) == (Status.PASSED, 3, 3)


def test_retries_exhausted_keep_the_last_failure() -> None:
    calls = []

    def always():
        calls.append(1)
        raise AssertionError(f"attempt {len(calls)}")

    registry = HookRegistry()
    registry.pre_traffic(always, retries=2, retry_delay=0)
    (outcome,) = run(registry)
    assert (outcome.status, outcome.attempts) == (Status.FAILED, 3)
    assert outcome.message.startswith("attempt 3")


def test_a_timed_out_attempt_is_retried() -> None:
    release = threading.Event()
    calls = []

    def slow_first():
        calls.append(1)
        if len(calls) == 1:
            release.wait()

    registry = HookRegistry()
    registry.pre_traffic(slow_first, timeout=0.1, retries=1, retry_delay=0)
    (outcome,) = run(registry)
    release.set()
    assert (outcome.status, outcome.attempts) == (Status.PASSED, 2)


def test_the_deadline_stops_running_checks_and_skips_unstarted_ones() -> None:
    never = threading.Event()
    registry = HookRegistry()
    registry.pre_traffic(lambda: never.wait(), name="hangs", timeout=60)
    registry.pre_traffic(lambda: None, name="never_started")
    got = by_name(run(registry, deadline_s=0.2, max_workers=1))
    never.set()
    assert got["hangs"].status is Status.TIMED_OUT
    assert "deadline" in got["hangs"].message
    assert got["never_started"].status is Status.SKIPPED
    assert got["never_started"].attempts == 0


def test_a_retry_that_would_start_after_the_deadline_is_not_attempted() -> None:
    registry = HookRegistry()
    registry.pre_traffic(lambda: False, name="fails", retries=5, retry_delay=30)
    (outcome,) = run(registry, deadline_s=1)
    assert (outcome.status, outcome.attempts) == (Status.FAILED, 1)


def test_resources_are_provided_by_name_and_provider_errors_are_errors() -> None:
    seen = {}

    def provide(name, check, timeout):
        if name == "api":
            raise ConfigurationError("HOOKKIT_API_URL is not set; set it to the API's base URL")
        return f"{name} for {check.name} within {timeout:g}"

    registry = HookRegistry()
    registry.pre_traffic(lambda target, deployment: seen.update(t=target, d=deployment), name="uses", timeout=5)
    registry.pre_traffic(lambda api: None, name="needs_api")
    got = by_name(run(registry, provide=provide))
    assert got["uses"].status is Status.PASSED
    assert seen["t"].startswith("target for uses within ") and seen["d"].startswith("deployment for uses")
    assert got["needs_api"].status is Status.ERROR
    assert "HOOKKIT_API_URL is not set" in got["needs_api"].message


def test_on_outcome_is_called_once_per_check() -> None:
    seen = []
    registry = HookRegistry()
    never = threading.Event()
    registry.pre_traffic(lambda: None, name="a")
    registry.pre_traffic(lambda: never.wait(), name="b")
    registry.pre_traffic(lambda: None, name="c")
    run(registry, deadline_s=0.3, max_workers=1, on_outcome=seen.append)
    never.set()
    assert sorted(o.name for o in seen) == ["a", "b", "c"]


def test_run_phase_without_checks_fails_closed() -> None:
    result = run_phase([], PRE, provide=no_resources, deadline=time.monotonic() + 1)
    assert result.verdict is Verdict.FAILED
    assert "no checks are registered for BeforeAllowTraffic" in result.reason


def test_run_phase_verdict() -> None:
    registry = HookRegistry()
    registry.pre_traffic(lambda: None, name="ok")
    registry.pre_traffic(lambda: False, name="advisory", blocking=False)
    result = run_phase(registry.checks(PRE), PRE, provide=no_resources, deadline=time.monotonic() + 5)
    assert result.verdict is Verdict.SUCCEEDED
    assert result.reason == "all 1 blocking check(s) passed (1 non-blocking reported separately)"


outcomes = st.lists(
    st.builds(
        Outcome,
        name=st.text(min_size=1, max_size=5),
        phase=st.just(PRE),
        status=st.sampled_from(list(Status)),
        blocking=st.booleans(),
    ),
    max_size=8,
)


@pytest.mark.property
@given(outcomes)
def test_succeeded_only_with_a_blocking_check_and_every_blocking_check_passed(outs) -> None:
    verdict, reason = decide(outs)
    blocking = [o for o in outs if o.blocking]
    expected = bool(blocking) and all(o.status is Status.PASSED for o in blocking)
    assert (verdict is Verdict.SUCCEEDED) == expected
    assert reason


@pytest.mark.parametrize("status", [Status.SKIPPED, Status.TIMED_OUT, Status.ERROR, Status.FAILED])
def test_all_checks_in_one_non_passing_state_never_succeed(status) -> None:
    outs = [Outcome(name=f"c{i}", phase=PRE, status=status) for i in range(3)]
    assert decide(outs)[0] is Verdict.FAILED


def test_only_non_blocking_checks_never_succeed() -> None:
    outs = [Outcome(name="c", phase=PRE, status=Status.PASSED, blocking=False)]
    verdict, reason = decide(outs)
    assert verdict is Verdict.FAILED and "no blocking check" in reason


def test_around_wraps_each_attempt_in_the_checks_own_thread() -> None:
    import contextlib

    seen = []

    @contextlib.contextmanager
    def around(check):
        seen.append((check.name, threading.current_thread().name))
        yield

    registry = HookRegistry()
    registry.pre_traffic(lambda: None, name="a")
    registry.pre_traffic(lambda: False, name="b", retries=1, retry_delay=0)
    outcomes = run(registry, around=around)
    assert [o.status for o in outcomes] == [Status.PASSED, Status.FAILED]
    assert sorted(seen) == [("a", "hookkit-check-a"), ("b", "hookkit-check-b"), ("b", "hookkit-check-b")]


def test_broken_instrumentation_is_an_error_outcome_not_a_lost_one() -> None:
    def around(check):
        raise RuntimeError("no segment")

    registry = HookRegistry()
    registry.pre_traffic(lambda: None, name="a")
    (outcome,) = run(registry, around=around)
    assert outcome.status is Status.ERROR and "instrumentation failed: RuntimeError: no segment" in outcome.message


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_exception_in_a_thread_the_check_started_fails_it() -> None:
    def in_background():
        worker = threading.Thread(target=lambda: 1 / 0, name="my-worker")
        worker.start()
        worker.join()

    registry = HookRegistry()
    registry.pre_traffic(in_background)
    (outcome,) = run(registry)
    assert outcome.status is Status.ERROR
    assert "ZeroDivisionError: division by zero (in thread my-worker)" in outcome.message
    assert threading.excepthook is not None and threading.excepthook.__module__ != "hookkit.core.runner"


def test_a_configuration_error_is_not_retried_and_says_so() -> None:
    """No retry can create a missing event file or a target the run was not given: one attempt, marked."""
    from hookkit.core.errors import TargetError

    registry = HookRegistry()
    calls: list[str] = []

    def misconfigured() -> None:
        calls.append("config")
        raise ConfigurationError("event file events/x.json not found; check the path")

    def unsafe_target() -> None:
        calls.append("target")
        raise TargetError("refusing to invoke orders with qualifier '$LATEST'")

    def flaky() -> None:
        calls.append("flaky")
        raise RuntimeError("try again")

    for func in (misconfigured, unsafe_target, flaky):
        registry.pre_traffic(func, retries=2, retry_delay=0)
    outcomes = by_name(run(registry))
    assert calls.count("config") == calls.count("target") == 1 and calls.count("flaky") == 3
    assert [(o.attempts, o.configuration) for o in (outcomes["misconfigured"], outcomes["unsafe_target"])] == [
        (1, True), (1, True)
    ]
    assert (outcomes["flaky"].attempts, outcomes["flaky"].configuration) == (3, False)
    assert outcomes["misconfigured"].to_dict()["configurationError"] is True
    assert "events/x.json not found" in outcomes["misconfigured"].message


def test_a_check_knows_the_file_and_line_that_declare_it(tmp_path) -> None:
    registry = HookRegistry()

    def declared_here(target) -> None:
        return None

    check = registry.add_check(declared_here, PRE)
    assert check.source == (__file__, declared_here.__code__.co_firstlineno)


# -- async checks: awaited, bounded, classified like any other --------------------------------------


def test_async_checks_are_awaited_and_classified_like_any_other() -> None:
    import asyncio

    registry = HookRegistry()
    awaited: list[str] = []

    @registry.pre_traffic
    async def passes() -> None:
        await asyncio.sleep(0)
        awaited.append("passes")

    @registry.pre_traffic
    async def asserts() -> None:
        await asyncio.sleep(0)
        assert 1 + 1 == 3, "arithmetic is broken"

    @registry.pre_traffic
    async def expectation() -> None:
        raise ExpectationFailed("invoke f:2", [Difference("status", 201, 500)])

    @registry.pre_traffic
    async def returns_false() -> bool:
        return False

    @registry.pre_traffic
    async def raises() -> None:
        raise KeyError("orderId")

    @registry.pre_traffic
    async def config() -> None:
        raise ConfigurationError("HOOKKIT_API_URL is not set")

    got = by_name(run(registry))
    assert {n: o.status for n, o in got.items()} == {
        "passes": Status.PASSED,
        "asserts": Status.FAILED,
        "expectation": Status.FAILED,
        "returns_false": Status.FAILED,
        "raises": Status.ERROR,
        "config": Status.ERROR,
    }
    assert awaited == ["passes"]
    assert got["asserts"].message.startswith("arithmetic is broken")
    assert "(at test_runner.py:" in got["asserts"].message
    assert got["expectation"].differences == (Difference("status", 201, 500),)
    assert got["raises"].message.startswith("KeyError: 'orderId' (at test_runner.py:")
    assert (got["config"].attempts, got["config"].configuration) == (1, True)


def test_each_async_attempt_runs_on_an_event_loop_of_its_own_and_is_retried() -> None:
    import asyncio

    loops: list[asyncio.AbstractEventLoop] = []
    registry = HookRegistry()

    @registry.pre_traffic(retries=2, retry_delay=0)
    async def flaky() -> None:
        loops.append(asyncio.get_running_loop())
        assert len(loops) == 3, f"attempt {len(loops)}"

    (outcome,) = run(registry)
    assert (outcome.status, outcome.attempts) == (Status.PASSED, 3)
    assert len({id(loop) for loop in loops}) == 3
    assert all(loop.is_closed() for loop in loops)


def test_an_async_check_past_its_timeout_is_cancelled_and_its_worker_freed() -> None:
    import asyncio

    cancelled = threading.Event()
    registry = HookRegistry()

    @registry.pre_traffic(timeout=0.2, retries=1, retry_delay=0)
    async def hangs() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    (outcome,) = run(registry)
    assert (outcome.status, outcome.attempts) == (Status.TIMED_OUT, 2)
    assert outcome.message == "did not finish within its timeout of 0.2 s"
    assert cancelled.wait(5)  # the task really stopped: nothing of it is left running


def test_an_async_check_that_swallows_its_cancellation_still_timed_out() -> None:
    import asyncio

    registry = HookRegistry()

    @registry.pre_traffic(timeout=0.2)
    async def stubborn() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            return None  # pretends it finished

    (outcome,) = run(registry)
    assert outcome.status is Status.TIMED_OUT


def test_an_async_checks_own_timeout_error_is_an_error_not_a_timeout() -> None:
    import asyncio

    registry = HookRegistry()

    @registry.pre_traffic(timeout=5)
    async def network_timeout() -> None:
        await asyncio.wait_for(asyncio.sleep(60), 0.01)

    (outcome,) = run(registry)
    assert outcome.status is Status.ERROR
    assert outcome.message.startswith("TimeoutError")


def test_a_plain_function_handing_back_a_coroutine_is_awaited() -> None:
    registry = HookRegistry()

    async def fails() -> None:
        raise AssertionError("the order was not created")

    def wrapper() -> object:
        return fails()

    registry.pre_traffic(wrapper)
    (outcome,) = run(registry)
    assert outcome.status is Status.FAILED
    assert outcome.message.startswith("the order was not created")


def test_a_function_handing_back_a_generator_checked_nothing() -> None:
    registry = HookRegistry()

    def generator():  # a helper: a check cannot be one, but can return one
        raise AssertionError("never runs")
        yield

    async def async_generator():
        yield

    registry.pre_traffic(lambda: generator(), name="generator")
    registry.pre_traffic(lambda: async_generator(), name="async_generator")
    got = by_name(run(registry))
    assert {n: o.status for n, o in got.items()} == {"generator": Status.ERROR, "async_generator": Status.ERROR}
    assert got["generator"].message.startswith("the check returned a generator object, whose body has not run")
    assert got["async_generator"].message.startswith("the check returned a async_generator object")


def test_an_async_check_gets_its_resources_and_a_raised_function_error_must_be_examined() -> None:
    class Target:
        def unexamined_failures(self) -> list[str]:
            return ["invoke orders:7 raised KeyError: 'sku'"]

    registry = HookRegistry()

    @registry.pre_traffic
    async def invokes(target) -> None:
        assert isinstance(target, Target)

    (outcome,) = run(registry, provide=lambda name, check, timeout: Target())
    assert outcome.status is Status.FAILED
    assert outcome.message.startswith("the check never examined a failed call")


# --- checks that run without a thread of their own (hookkit.core.stages) ---------------------------

class Staged:
    """A check object that can begin an attempt as a stage: its answer comes on a pipe.

    ``outcomes`` says, attempt by attempt, what each one does: ``"pass"``, ``"fail"`` (an
    ExpectationFailed), ``"false"`` (returns False), ``"raise"``, ``"config"``, ``"hang"`` (never
    answers), ``"thread"`` (``begin_stage`` declines: it runs as a plain call), ``"unstage"``
    (its first step asks for a thread). A plain call (on a worker thread) does the same without a pipe.
    """

    def __init__(self, *outcomes: str, answer_after: float = 0.0) -> None:
        self.outcomes = list(outcomes)
        self.answer_after = answer_after
        self.begun = self.called = self.cancelled = 0
        self.threads: set[str] = set()
        self.__name__ = "staged"

    def _next(self) -> str:
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]

    def __call__(self, target=None):
        self.called += 1
        self.threads.add(threading.current_thread().name)
        return _settle(self._next(), target)

    def begin_stage(self, notify, /, target=None):
        if self.outcomes[0] == "thread":
            self.outcomes.pop(0)
            return None
        self.begun += 1
        return _Stage(self, self._next(), target)


def _settle(what: str, target=None):
    if what == "fail":
        raise ExpectationFailed("invoke f:1 with event.json", [Difference("status", 200, 500)])
    if what == "raise":
        raise KeyError("orderId")
    if what == "config":
        raise ConfigurationError("schema file schemas/order.json not found")
    if what == "hang":
        threading.Event().wait(60)
    return False if what == "false" else target


class _Stage:
    def __init__(self, check: Staged, what: str, target) -> None:
        self.check, self.what, self.target = check, what, target
        self.read, self.write = os.pipe()
        self.wake_at = float("inf")
        if what != "hang":
            threading.Timer(check.answer_after, os.write, (self.write, b"x")).start()

    def fileno(self):
        return self.read

    def step(self, readable: bool) -> bool:
        if self.what == "unstage":
            self.check.outcomes.insert(0, "pass")
            raise Unstaged("needs a thread")
        return readable

    def result(self):
        os.close(self.read)  # answered: its timer is done with the pipe
        os.close(self.write)
        return _settle(self.what, self.target)

    def cancel(self) -> None:
        self.check.cancelled += 1


def staged_run(registry: HookRegistry, **kwargs):
    return run(registry, provide=kwargs.pop("provide", lambda name, check, timeout: "the target"), staged=True,
               **kwargs)


def test_staged_checks_end_as_called_checks_do() -> None:
    registry = HookRegistry()
    for what in ("pass", "fail", "false", "raise", "config"):
        registry.add_check(Staged(what), PRE, name=what)
    staged, called = by_name(staged_run(registry)), by_name(run(registry, provide=lambda *a: "the target"))

    assert {n: (o.status, o.message, o.differences, o.configuration) for n, o in staged.items()} == {
        n: (o.status, o.message, o.differences, o.configuration) for n, o in called.items()}
    assert staged["fail"].differences == (Difference("status", 200, 500),)
    assert staged["config"].configuration is True
    assert all(registry.checks(PRE)[i].func.begun == 1 for i in range(5))  # each ran as a stage in the staged run


def test_staged_checks_run_in_the_runners_thread_until_they_ask_for_one() -> None:
    registry = HookRegistry()
    stays, declines, unstages = Staged("pass"), Staged("thread", "pass"), Staged("unstage")
    for name, check in (("stays", stays), ("declines", declines), ("unstages", unstages)):
        registry.add_check(check, PRE, name=name)
    got = by_name(staged_run(registry))

    assert all(o.status is Status.PASSED and o.attempts == 1 for o in got.values())
    assert (stays.begun, stays.called) == (1, 0)
    assert (declines.begun, declines.called) == (0, 1)  # begin_stage said None: called on a worker thread
    assert (unstages.begun, unstages.called) == (1, 1)  # its stage asked for a thread: called from the start
    assert all(name.startswith("hookkit-check") for name in declines.threads | unstages.threads)


def test_without_staged_the_runner_never_begins_a_stage() -> None:
    registry = HookRegistry()
    check = Staged("pass")
    registry.add_check(check, PRE, name="c")
    assert run(registry, provide=lambda *a: "the target")[0].status is Status.PASSED
    assert (check.begun, check.called) == (0, 1)
    around_calls = []

    @contextlib.contextmanager
    def around(c):
        around_calls.append(c.name)
        yield

    assert staged_run(registry, around=around)[0].status is Status.PASSED  # instrumentation needs the thread
    assert (check.begun, check.called, around_calls) == (0, 2, ["c"])


def test_a_staged_attempt_past_its_timeout_is_cancelled_and_retried() -> None:
    registry = HookRegistry()
    check = Staged("hang", "pass")
    registry.add_check(check, PRE, name="slow", timeout=0.2, retries=1, retry_delay=0)
    (outcome,) = staged_run(registry)
    assert (outcome.status, outcome.attempts, check.cancelled) == (Status.PASSED, 2, 1)

    registry = HookRegistry()
    registry.add_check(Staged("hang"), PRE, name="hangs", timeout=0.2)
    (outcome,) = staged_run(registry)
    assert (outcome.status, outcome.message) == (Status.TIMED_OUT, "did not finish within its timeout of 0.2 s")


def test_the_deadline_cancels_staged_attempts_and_skips_unstarted_checks() -> None:
    registry = HookRegistry()
    hangs = Staged("hang")
    registry.add_check(hangs, PRE, name="hangs", timeout=60)
    registry.add_check(Staged("pass"), PRE, name="never_started")
    got = by_name(staged_run(registry, deadline_s=0.3, max_workers=1))
    assert got["hangs"].status is Status.TIMED_OUT and "deadline" in got["hangs"].message
    assert hangs.cancelled == 1
    assert got["never_started"].status is Status.SKIPPED


def test_staged_and_threaded_checks_run_together_and_each_ends_once() -> None:
    registry = HookRegistry()
    seen: list[Outcome] = []
    for i in range(30):
        registry.add_check(Staged("pass", answer_after=0.01 * (i % 3)), PRE, name=f"staged{i}")
        registry.pre_traffic(lambda: time.sleep(0.01), name=f"plain{i}")
    outcomes = staged_run(registry, max_workers=8, on_outcome=seen.append)
    assert [o.name for o in outcomes] == [c.name for c in registry.checks(PRE)]
    assert all(o.status is Status.PASSED for o in outcomes)
    assert sorted(o.name for o in seen) == sorted(o.name for o in outcomes)


def test_a_stage_handed_what_it_waits_for_by_another_thread_goes_on() -> None:
    class InLine:
        """fileno() is None until another thread gives it a pipe and calls notify."""

        __name__ = "in_line"

        def begin_stage(self, notify, /):
            stage = _Stage(Staged("hang"), "pass", None)
            fd, stage.fileno = stage.fileno(), lambda: None  # type: ignore[method-assign]

            def hand_over() -> None:
                stage.fileno = lambda: fd  # type: ignore[method-assign]
                os.write(stage.write, b"x")
                notify()

            threading.Timer(0.05, hand_over).start()
            return stage

        def __call__(self):
            raise AssertionError("called on a thread")

    registry = HookRegistry()
    registry.add_check(InLine(), PRE, name="in_line", timeout=10)
    (outcome,) = staged_run(registry)
    assert outcome.status is Status.PASSED


def test_each_staged_attempt_starts_with_a_fresh_context() -> None:
    import contextvars

    var = contextvars.ContextVar("var", default="unset")
    seen = []

    class Sets(Staged):
        def begin_stage(self, notify, /, target=None):
            seen.append(var.get())
            var.set("set by an attempt")
            return super().begin_stage(notify, target=target)

    registry = HookRegistry()
    registry.add_check(Sets("fail", "pass"), PRE, name="twice", retries=1, retry_delay=0)
    (outcome,) = staged_run(registry)
    assert (outcome.status, outcome.attempts, seen) == (Status.PASSED, 2, ["unset", "unset"])


class _NoStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


class _NoStrNoRepr(AssertionError):
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class _NoStrExpectation(ExpectationFailed):
    def __str__(self) -> str:
        raise RuntimeError("no str")


@pytest.mark.parametrize(("exc", "status", "message"), [
    (_NoStr(), "error", "_NoStr: (its str() failed) _NoStr()"),
    (_NoStrNoRepr(), "failed", "(a _NoStrNoRepr whose str() and repr() both failed)"),
    (_NoStrExpectation("s", []), "failed", "(its str() failed) _NoStrExpectation("),
])
def test_an_exception_whose_str_raises_is_described_and_blames_no_other_check(exc, status, message) -> None:
    """It used to kill the worker thread: the check timed out after its whole timeout, and the
    traceback of the dead worker failed an unrelated check running at the same time."""
    registry = HookRegistry()

    def raises() -> None:
        raise exc

    registry.pre_traffic(raises, timeout=5)
    registry.pre_traffic(lambda: time.sleep(0.2), name="fine")
    outcomes = by_name(run(registry, deadline_s=60))
    assert (outcomes["raises"].status.value, outcomes["fine"].status.value) == (status, "passed")
    assert outcomes["raises"].message.startswith(message), outcomes["raises"].message


def test_a_worker_always_answers_even_when_classifying_an_attempt_fails(monkeypatch) -> None:
    from hookkit.core import runner

    def broken(*args: object) -> None:
        raise RuntimeError("a bug in hookkit")

    monkeypatch.setattr(runner, "_attempt", broken)
    registry = HookRegistry()
    registry.pre_traffic(lambda: None, name="any", timeout=5)
    (outcome,) = run(registry, deadline_s=60)
    assert (outcome.status.value, outcome.message) == ("error", "hookkit could not classify the attempt: RuntimeError")
