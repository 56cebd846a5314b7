"""The supervisor's parts: what the parent reads from a child, the result it makes of a run cut short,
when it refuses to fork, the report's whole-attempt bound, and verdicts through real child processes.

End to end (a Lambda container killed at its end, checks that crash, exit or hold the interpreter
lock) is tests/faults/test_faults_supervisor.py.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from hookkit.core.errors import Difference
from hookkit.core.outcome import Outcome, RunResult, Status
from hookkit.core.phases import Phase
from hookkit.hook.record import Ending, Planned, RunRecord, Stage, names
from hookkit.hook.reporting import AttemptTimedOut, bounded
from hookkit.hook.supervisor import MAX_WIRE_BYTES, Decoder, PipeSink, fork_refusal, outcome_from_dict

ROOT = Path(__file__).resolve().parent.parent
PRE = Phase.BEFORE_ALLOW_TRAFFIC


def outcome(name: str, status: Status = Status.PASSED, blocking: bool = True, **kwargs) -> Outcome:
    return Outcome(name=name, phase=PRE, status=status, blocking=blocking, attempts=1, **kwargs)


def wire(*messages: dict) -> bytes:
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


# -- the child's messages, read by the parent --------------------------------------------------------


def test_an_outcome_crosses_the_pipe_unchanged() -> None:
    sent = outcome("answers", Status.FAILED, message="totals differ", duration_ms=12.5, configuration=True,
                   differences=(Difference("/total", 42, {"amount": [1, 2]}), Difference("status", 200, None)))
    assert outcome_from_dict(json.loads(json.dumps(sent.to_dict()))) == sent


def test_what_the_child_sends_and_the_parent_reads_is_cut_to_size() -> None:
    """A huge message or difference value costs the parent (redacting, logging) nothing before the report."""
    from hookkit.core.outcome import MAX_MESSAGE_CHARS, MAX_VALUE_CHARS

    huge = outcome("big", Status.FAILED, message="a=1 " * 500_000,
                   differences=(Difference("/body", "x" * 100_000, {"items": list(range(100_000))}),))
    read = outcome_from_dict(huge.to_dict())  # whatever a child sends
    assert len(read.message) < MAX_MESSAGE_CHARS + 64 and read.message.endswith(" more characters)")
    (difference,) = read.differences
    assert all(len(str(v)) < MAX_VALUE_CHARS + 64 and str(v).endswith(" more characters)")
               for v in (difference.expected, difference.actual))
    read, write = os.pipe()
    sent = bytearray()

    def drain() -> None:
        while chunk := os.read(read, 1 << 16):
            sent.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        sink = PipeSink(write)
        sink.outcome(huge)
        sink.finish(RunResult(PRE, (huge,), reason="r" * 1_000_000), None)
    finally:
        os.close(write)
        reader.join()
        os.close(read)
    assert len(sent) < 3 * (MAX_MESSAGE_CHARS + 2 * MAX_VALUE_CHARS + 1000)


def test_a_small_outcome_is_not_copied_when_clipped() -> None:
    small = outcome("ok", Status.FAILED, message="short", differences=(Difference("/a", 1, [1, 2]),))
    assert small.clipped() is small


def test_a_run_is_read_step_by_step_and_its_verdict_decided_again() -> None:
    record = RunRecord(None, "checks")
    decoder = Decoder(record)
    forged = RunResult.from_outcomes(PRE, [outcome("a", Status.FAILED)]).to_dict() | {"verdict": "Succeeded"}
    data = wire(
        {"t": "stage", "stage": "discovering"}, {"t": "phase", "phase": "BeforeAllowTraffic"},
        {"t": "announce", "checks": [["a", True]]}, {"t": "start", "name": "a"},
        {"t": "outcome", "outcome": outcome("a", Status.FAILED).to_dict()},
        {"t": "finish", "result": forged, "function": "orders"},
    )
    for n in range(0, len(data), 7):  # however the pipe cuts the bytes
        decoder.feed(data[n:n + 7])
    assert decoder.finished and not decoder.broken
    result, made = record.result(None)
    assert (result.verdict.value, made, record.function) == ("Failed", [], "orders")


@pytest.mark.parametrize("line", [
    b"not json\n",
    b'{"t": "launch_missiles"}\n',
    b'{"t": "start", "name": 7}\n',
    b'{"t": "announce", "checks": [["a"]]}\n',
    b'{"t": "outcome", "outcome": {"name": "a", "status": "passed"}}\n',
    b'{"t": "stage", "stage": "dancing"}\n',
    b"\n",
], ids=["not-json", "unknown-kind", "name-not-text", "short-announce", "partial-outcome", "unknown-stage", "empty"])
def test_anything_but_hookkits_own_messages_breaks_the_run(line: bytes) -> None:
    record = RunRecord(PRE, "checks")
    decoder = Decoder(record)
    decoder.feed(wire({"t": "announce", "checks": [["a", True]]}) + line)
    assert decoder.broken and not decoder.finished
    result, _ = record.result(Ending(f"the check process sent hookkit something it cannot read ({decoder.broken})",
                                     died=True))
    assert result.verdict.value == "Failed"
    assert result.reason.startswith("the check process sent hookkit something it cannot read (")


def test_a_flood_of_messages_breaks_the_run_instead_of_filling_memory() -> None:
    decoder = Decoder(RunRecord(PRE, "checks"))
    chunk = wire({"t": "start", "name": "a" * 60_000})
    for _ in range(MAX_WIRE_BYTES // len(chunk) + 2):
        decoder.feed(chunk)
    assert decoder.broken == f"more than {MAX_WIRE_BYTES // 2**20} MiB of messages"


def test_the_pipe_sink_writes_what_the_decoder_reads() -> None:
    read_fd, write_fd = os.pipe()
    sink = PipeSink(write_fd)
    sink.stage(Stage.IMPORTING)
    sink.phase(PRE)
    sink.announce([Planned("a"), Planned("b", blocking=False)])
    sink.start("a")
    sink.outcome(outcome("a"))
    sink.finish(RunResult.from_outcomes(PRE, [outcome("a"), outcome("b", blocking=False)]), "orders")
    os.close(write_fd)
    record = RunRecord(None, "checks")
    decoder = Decoder(record)
    with os.fdopen(read_fd, "rb") as pipe:
        decoder.feed(pipe.read())
    result, _ = record.result(None)
    assert (decoder.finished, result.verdict.value, [o.name for o in result.outcomes]) == (True, "Succeeded",
                                                                                           ["a", "b"])
    assert record.planned == [Planned("a"), Planned("b", blocking=False)]


# -- the result of a run cut short --------------------------------------------------------------------


def cut_short(*, stage: Stage = Stage.RUNNING, planned=(), started=(), done=(), ending: Ending) -> RunResult:
    record = RunRecord(PRE, "orders_checks")
    record.stage(stage)
    if planned:
        record.announce([Planned(name, blocking) for name, blocking in planned])
    for name in started:
        record.start(name)
    for item in done:
        record.outcome(item)
    return record.result(ending)[0]


@pytest.mark.parametrize("stage, reason", [
    (Stage.STARTING, "the hook's deadline came before the checks could be imported"),
    (Stage.IMPORTING, "the hook's deadline came while importing the checks (orders_checks); a checks module must not "
                      "wait on the network or loop when imported (do such work inside a check, which has a timeout)"),
    (Stage.DISCOVERING, "the hook's deadline came while discovering which lifecycle event this hook runs for "
                        "(CodeDeploy's read calls did not answer in time); set HOOKKIT_PHASE on the hook function so "
                        "no discovery is needed"),
])
def test_a_deadline_before_the_checks_says_what_was_under_way(stage: Stage, reason: str) -> None:
    result = cut_short(stage=stage, ending=Ending.deadline())
    assert (result.verdict.value, result.reason, result.outcomes) == ("Failed", reason, ())


@pytest.mark.parametrize("stage, doing", [
    (Stage.STARTING, "before importing the checks"),
    (Stage.IMPORTING, "while importing the checks (orders_checks)"),
    (Stage.DISCOVERING, "while discovering which lifecycle event this hook runs for"),
])
def test_a_death_before_the_checks_says_what_was_under_way(stage: Stage, doing: str) -> None:
    result = cut_short(stage=stage, ending=Ending("the check process was killed by SIGSEGV", died=True))
    assert result.reason == f"the check process was killed by SIGSEGV {doing}"


def test_a_death_names_the_checks_running_and_fails_even_when_every_blocking_check_passed() -> None:
    result = cut_short(
        planned=[("a", True), ("b", False), ("c", False), ("d", False)], started=["a", "b", "c"],
        done=[outcome("a")], ending=Ending("the check process was killed by SIGSEGV", died=True),
    )
    sentence = "the check process was killed by SIGSEGV while `b` and `c` were running"
    assert [(o.name, o.status.value, o.message) for o in result.outcomes] == [
        ("a", "passed", ""), ("b", "error", sentence), ("c", "error", sentence),
        ("d", "skipped", f"not started: {sentence}"),
    ]
    assert result.verdict.value == "Failed"  # decide() alone would say Succeeded: `a`, the one blocking check, passed
    assert result.reason == f"{sentence}; all 1 blocking check(s) passed (3 non-blocking reported separately)"


def test_at_the_deadline_running_checks_time_out_and_waiting_ones_are_skipped() -> None:
    result = cut_short(planned=[("a", True), ("b", True), ("c", False)], started=["a"], done=[],
                       ending=Ending.deadline())
    assert [(o.name, o.status.value, o.message, o.attempts) for o in result.outcomes] == [
        ("a", "timed_out", "still running at the hook's deadline (time kept in reserve for the report)", 1),
        ("b", "skipped", "not started: the hook's deadline came first", 0),
        ("c", "skipped", "not started: the hook's deadline came first", 0),
    ]


def test_a_sealed_record_ignores_a_worker_that_finishes_late() -> None:
    record = RunRecord(PRE, "checks")
    record.announce([Planned("a")])
    record.start("a")
    first, _ = record.result(Ending.deadline())
    record.outcome(outcome("a"))
    record.finish(RunResult.from_outcomes(PRE, [outcome("a")]), None)
    assert record.result(None)[0].verdict.value == first.verdict.value == "Failed"


def test_names_are_quoted_and_a_long_list_is_cut() -> None:
    assert names(["a"]) == "`a`"
    assert names(["a", "b", "c"]) == "`a`, `b` and `c`"
    assert names([str(n) for n in range(8)]) == "`0`, `1`, `2`, `3`, `4` and 3 more"


# -- when not to fork ----------------------------------------------------------------------------------


def test_a_process_with_another_thread_alive_is_not_forked() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        refusal = fork_refusal()
    finally:
        stop.set()
        other.join()
    assert refusal is not None
    assert refusal.endswith("other thread(s) are alive in this process, and a fork copies the locks they hold "
                            "without the threads that would release them")


# -- the report attempt's bound ------------------------------------------------------------------------


def test_bounded_interrupts_a_read_that_would_block_and_restores_an_earlier_alarm() -> None:
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)  # someone else's alarm, pending
        with socket.socket() as server, socket.socket() as client:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            client.settimeout(20)  # a safety net: the bound must come first
            client.connect(server.getsockname())
            with pytest.raises(AttemptTimedOut), bounded(0.2):
                client.recv(1)
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25 < remaining <= 30  # put back, less the time spent
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired == []


def test_bounded_bounds_nothing_outside_the_main_thread() -> None:
    results = []

    def call() -> None:
        with bounded(0.001):
            results.append(sum(range(200_000)))

    worker = threading.Thread(target=call)
    worker.start()
    worker.join()
    assert results == [sum(range(200_000))]


# -- verdicts through real child processes -------------------------------------------------------------

BEHAVIOURS = {
    "passes": "return None",
    "returns_false": "return False",
    "raises": "raise ValueError('boom')",
    "exits": "raise SystemExit(1)",
    "os_exit": "os._exit(0)",
    "segfault": "ctypes.string_at(0)",
    "killed": "os.kill(os.getpid(), signal.SIGKILL)",
}
ENDS_THE_PROCESS = {"os_exit", "segfault", "killed"}

DRIVER = textwrap.dedent("""
    import ctypes, json, os, signal, sys
    from hookkit import HookRegistry
    from hookkit.hook.clients import Clients
    from hookkit.hook.handler import HookHandler
    from hookkit.local.context import LocalContext
    from hookkit.testing import FakeCodeDeploy

    BEHAVIOURS = json.loads(sys.argv[1])
    for case in json.loads(sys.stdin.read()):
        registry = HookRegistry()
        for index, (behaviour, blocking) in enumerate(case):
            namespace = {"ctypes": ctypes, "os": os, "signal": signal}
            exec(f"def check():\\n    {BEHAVIOURS[behaviour]}\\n", namespace)
            registry.pre_traffic(namespace["check"], name=f"{index}-{behaviour}", blocking=blocking)
        reports = FakeCodeDeploy()
        handler = HookHandler(registry, phase="pre", clients=Clients(codedeploy=reports), reserve_ms=500,
                              environ={"POWERTOOLS_METRICS_DISABLED": "true"},
                              isolation="process")
        summary = handler({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e-1"}, LocalContext(timeout_s=20))
        print(json.dumps([reports.statuses, summary["isolation"]]), flush=True)
""")


def test_the_verdict_through_a_child_process_is_succeeded_only_when_every_blocking_check_passed() -> None:
    """Every mix of up to two behaviours (blocking or not), and 60 random mixes of four; the checks
    run in real child processes, some of which crash or exit: the verdict must never be wrong."""
    kinds = [(behaviour, blocking) for behaviour in BEHAVIOURS for blocking in (True, False)]
    cases = [list(case) for size in (1, 2) for case in itertools.product(kinds, repeat=size)]
    rng = random.Random(20240501)
    cases += [[rng.choice(kinds) for _ in range(4)] for _ in range(60)]
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(BEHAVIOURS)], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=600, cwd=ROOT, check=False,
                          env={**os.environ, "POWERTOOLS_LOG_LEVEL": "CRITICAL"})
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("[[")]
    assert len(answers) == len(cases), done.stderr[-3000:]
    for case, (statuses, isolation) in zip(cases, answers, strict=True):
        behaviours = [behaviour for behaviour, _ in case]
        blocking = [behaviour for behaviour, is_blocking in case if is_blocking]
        deserved = "Succeeded" if (
            blocking and all(b == "passes" for b in blocking) and not ENDS_THE_PROCESS & set(behaviours)
        ) else "Failed"
        assert (statuses, isolation) == ([deserved], "process"), case
