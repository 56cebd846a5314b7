"""A hook that nothing can silence: checks that end, wedge or poison the process still get one report.

Each case is tried as a hostile (or just unlucky) check author would, against the CodeDeploy and
Lambda stand-in, with the hook in a container process that is killed at the Lambda's end. Each
asserts that CodeDeploy got exactly one report, ``Failed``, before the Lambda's end, and the log
line that says why. By default the checks run in a child process the hook kills at its deadline;
the cases that ``HOOKKIT_ISOLATION=thread`` survives too are run in both isolations.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from aws_standin import REPORT, AwsStandIn, json_answer, slow, throttled, trickling
from faultkit import DEPLOYMENT, EXECUTION, Hook, HookLog, assert_reported

from hookkit import ReportError

BOTH = pytest.mark.parametrize("isolation", ["process", "thread"])
AT_DEADLINE = "still running at the hook's deadline (time kept in reserve for the report)"


@pytest.fixture(autouse=True)
def target(hook: Hook, aws: AwsStandIn) -> None:
    hook.env(HOOKKIT_FUNCTION="orders", HOOKKIT_TARGET_VERSION="7")
    aws.publish("orders", "7")


def isolate(hook: Hook, isolation: str) -> None:
    if isolation == "thread":
        hook.env(HOOKKIT_ISOLATION="thread")  # "process" is the default: nothing to set


def assert_failed_in_time(aws: AwsStandIn, hook: Hook) -> None:
    assert_reported(aws, "Failed")
    assert aws.reports[0].at < hook.lambda_end, f"reported {aws.reports[0].at - hook.lambda_end:.3f} s after the end"


def assert_nothing_left(hook: Hook) -> None:
    """The container holds its runtime alone again: no check process, no thread of a check. (A check
    process that finished is killed after the report and may take the kernel a moment to go.)"""
    assert hook.container is not None
    for _ in range(100):
        if hook.processes() == [hook.container.pid]:
            break
        time.sleep(0.02)
    assert hook.processes() == [hook.container.pid]
    assert hook.threads() == 1


# -- a check that ends or wedges the process ------------------------------------------------------


@pytest.mark.parametrize(
    "call, how",
    [
        ("os._exit(0)", "exited with status 0"),
        ("os.kill(os.getpid(), signal.SIGKILL)",
         "was killed by SIGKILL (the out-of-memory killer, or a kill sent by a check)"),
        ("ctypes.string_at(0)", "was killed by SIGSEGV"),
        ("os.abort()", "was killed by SIGABRT"),
        ("signal.alarm(1); time.sleep(10)", "was killed by SIGALRM"),
    ],
    ids=["exit", "sigkill", "segfault", "abort", "alarm"],
)
def test_a_check_that_ends_the_process_is_reported_failed_naming_what_ran(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, call: str, how: str
) -> None:
    hook.checks(f"""
        import ctypes, os, signal, time
        from hookkit import pre_traffic

        @pre_traffic
        def slow_but_fine():
            time.sleep(10)

        @pre_traffic
        def ends_it():
            time.sleep(0.3)  # slow_but_fine is running by then
            {call}
    """)
    summary = hook(timeout_s=4)
    assert_failed_in_time(aws, hook)
    sentence = f"the check process {how} while `slow_but_fine` and `ends_it` were running"
    line = hook_log.line("check ends_it: ")
    assert (line["level"], line["message"]) == ("ERROR", f"check ends_it: error: {sentence}")
    assert hook_log.line("check slow_but_fine: ")["message"] == f"check slow_but_fine: error: {sentence}"
    assert summary["reason"] == (
        f"{sentence}; 2 of 2 blocking check(s) did not pass: slow_but_fine (error), ends_it (error)"
    )
    assert summary["isolation"] == "process"
    assert_nothing_left(hook)


@pytest.mark.parametrize(
    "call",
    ['re.match(r"(a+)+$", "a" * 40 + "b")', "sum(range(10**10))", 'len(b"x" * (3 * 2**30))'],
    ids=["regex", "sum", "3-GB-bytes"],
)
def test_a_check_holding_the_interpreter_lock_in_c_is_reported_before_the_lambda_ends(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, call: str
) -> None:
    hook.checks(f"""
        import re
        from hookkit import pre_traffic

        @pre_traffic(timeout=600)
        def holds_the_lock():
            {call}
    """)
    summary = hook(timeout_s=1.5)
    assert_failed_in_time(aws, hook)
    assert hook_log.line("check holds_the_lock: ")["message"] == f"check holds_the_lock: timed_out: {AT_DEADLINE}"
    assert summary["reason"] == "1 of 1 blocking check(s) did not pass: holds_the_lock (timed_out)"
    assert_nothing_left(hook)


@pytest.mark.parametrize("reserve", ["0", "-5", "50"])
def test_a_reserve_too_small_for_the_report_is_raised_to_the_least_and_said(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, reserve: str
) -> None:
    """With no time kept for it, a check holding the interpreter lock used to leave no report at all."""
    hook.env(HOOKKIT_REPORT_RESERVE_MS=reserve)
    hook.checks("""
        import re
        from hookkit import pre_traffic

        @pre_traffic(timeout=60)
        def holds_the_lock():
            re.match(r"(a+)+$", "a" * 40 + "b")
    """)
    hook(timeout_s=3.0)
    assert_failed_in_time(aws, hook)
    line = hook_log.line(f"HOOKKIT_REPORT_RESERVE_MS={reserve} ")
    assert line["level"] == "WARNING" and "using 1000 ms" in line["message"]
    assert_nothing_left(hook)


@BOTH
@pytest.mark.parametrize("retries", [0, 1])
def test_a_spinning_check_is_reported_soon_after_its_timeout(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, isolation: str, retries: int
) -> None:
    isolate(hook, isolation)
    hook.checks(f"""
        from hookkit import pre_traffic

        @pre_traffic(timeout=0.5, retries={retries}, retry_delay=0)
        def spins():
            while True:
                pass
    """)
    summary = hook(timeout_s=6)
    assert_failed_in_time(aws, hook)
    # soon after its last attempt's timeout, not at the hook's deadline (5.6 s), let alone after the Lambda
    assert aws.reports[0].at - hook.context.started < 3.5
    assert hook_log.line("check spins: ")["message"] == (
        "check spins: timed_out: did not finish within its timeout of 0.5 s")
    assert summary["checks"][0]["attempts"] == retries + 1
    assert summary["isolation"] == isolation


# -- a checks module whose import hangs ---------------------------------------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@BOTH
@pytest.mark.parametrize("hang", ["while True:\n    pass", "time.sleep(60)",
                                  "socket.create_connection(('127.0.0.1', {port})).recv(1)"],
                         ids=["loop", "sleep", "socket-read"])
def test_a_checks_module_whose_import_hangs_is_reported_before_the_lambda_ends(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, isolation: str, hang: str, silent_port: int
) -> None:
    isolate(hook, isolation)
    path = hook.checks(f"import socket, time\n{hang.format(port=silent_port)}\n\n"
                       "from hookkit import pre_traffic\n\n@pre_traffic\ndef never_declared():\n    pass\n")
    summary = hook(timeout_s=1.5)
    assert_failed_in_time(aws, hook)
    why = (f"the hook's deadline came while importing the checks ({path}); a checks module must not wait on the "
           "network or loop when imported (do such work inside a check, which has a timeout)")
    line = hook_log.line("the hook's deadline came while importing")
    assert (line["level"], line["message"]) == ("ERROR", why)
    assert (summary["reason"], summary["checks"], summary["isolation"]) == (why, [], isolation)


# -- phase discovery under the deadline -----------------------------------------------------------


@BOTH
@pytest.mark.parametrize("codedeploy", ["throttled", "slow"])
def test_phase_discovery_that_cannot_finish_is_reported_before_the_lambda_ends(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, isolation: str, codedeploy: str
) -> None:
    isolate(hook, isolation)
    hook.unset("HOOKKIT_PHASE")
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def answers(target):
            target.invoke({}).expect(status=200)
    """)
    aws.deploy(DEPLOYMENT)
    for operation in ("ListDeploymentTargets", "GetDeployment"):
        if codedeploy == "throttled":  # botocore backs off between its tries, blind to the deadline
            aws.script(operation, *[throttled()] * 20)
        else:
            aws.script(operation, slow(10, json_answer({})))
    summary = hook(timeout_s=2.5)
    assert_failed_in_time(aws, hook)
    why = ("the hook's deadline came while discovering which lifecycle event this hook runs for (CodeDeploy's read "
           "calls did not answer in time); set HOOKKIT_PHASE on the hook function so no discovery is needed")
    assert hook_log.line("the hook's deadline came while discovering")["message"] == why
    assert (summary["reason"], summary["phase"]) == (why, None)
    assert aws.calls("Invoke") == []


# -- the report client is the function's own, built before any check ran ---------------------------


@BOTH
def test_a_check_that_exports_another_roles_credentials_does_not_sign_the_report(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, isolation: str
) -> None:
    isolate(hook, isolation)
    hook.checks("""
        import os
        from hookkit import pre_traffic

        @pre_traffic
        def borrows_a_role():
            os.environ.update(AWS_ACCESS_KEY_ID="ASIAOTHERROLE0000000", AWS_SECRET_ACCESS_KEY="other-secret",
                              AWS_SESSION_TOKEN="other-session-token")
            return False
    """)
    hook()
    assert_failed_in_time(aws, hook)
    headers = {name.lower(): value for name, value in aws.reports[0].headers.items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")  # the function's own role
    assert "x-amz-security-token" not in headers
    assert hook_log.line("reported ")["message"] == "reported Failed to CodeDeploy"


@BOTH
def test_a_check_that_deletes_the_region_does_not_stop_the_report(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, isolation: str
) -> None:
    isolate(hook, isolation)
    hook.checks("""
        import os
        from hookkit import pre_traffic

        @pre_traffic
        def forgets_where_it_is():
            os.environ.pop("AWS_REGION", None)
            os.environ.pop("AWS_DEFAULT_REGION", None)
            return False
    """)
    hook()
    assert_failed_in_time(aws, hook)
    assert hook_log.line("check forgets_where_it_is: ")["message"] == (
        "check forgets_where_it_is: failed: the check returned False"
    )
    assert hook_log.line("reported ")["message"] == "reported Failed to CodeDeploy"


def test_a_check_that_exhausts_file_descriptors_does_not_stop_the_report(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog
) -> None:
    hook.checks("""
        import os, time
        from hookkit import pre_traffic

        @pre_traffic(timeout=600)
        def hoards_descriptors():
            held = []
            try:
                while True:
                    held.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:
                pass
            time.sleep(10)  # and keeps every one of them
    """)
    hook(timeout_s=1.5)
    assert_failed_in_time(aws, hook)
    assert hook_log.line("check hoards_descriptors: ")["message"] == (
        f"check hoards_descriptors: timed_out: {AT_DEADLINE}")
    assert hook_log.line("reported ")["message"] == "reported Failed to CodeDeploy"


# -- logging cannot skip the report ----------------------------------------------------------------


@BOTH
def test_a_check_that_closes_stdout_and_stderr_does_not_stop_the_report(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, isolation: str
) -> None:
    isolate(hook, isolation)
    hook.checks("""
        import sys
        from hookkit import pre_traffic

        @pre_traffic
        def closes_the_streams():
            sys.stdout.close()
            sys.stderr.close()
            return False
    """)
    summary = hook()
    assert_failed_in_time(aws, hook)
    assert summary["checks"][0]["message"] == "the check returned False"
    if isolation == "process":  # the child's streams were closed, never the handler's: it still explains
        assert hook_log.line("BeforeAllowTraffic: Failed")["message"] == (
            "BeforeAllowTraffic: Failed (1 failed) - 1 of 1 blocking check(s) did not pass: closes_the_streams (failed)"
        )
        assert hook_log.line("reported ")["message"] == "reported Failed to CodeDeploy"
    else:  # one process, one stdout: nothing more can be logged, the report goes anyway
        assert not [m for m in hook_log.messages if m.startswith("reported ")]


# -- the report itself is bounded as a whole --------------------------------------------------------


@BOTH
def test_a_report_answer_that_trickles_in_is_given_up_before_the_lambda_ends(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, isolation: str
) -> None:
    isolate(hook, isolation)
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def wrong():
            return False
    """)
    # 0.2 s between bytes: no read ever waits the client's read timeout (2 s), and the whole answer takes 10 s
    aws.script(REPORT, trickling(0.2, json_answer({"lifecycleEventHookExecutionId": EXECUTION})))
    with pytest.raises(ReportError, match="did not finish in time"):
        hook(timeout_s=2)  # raised, so Lambda's asynchronous retry delivers the event again
    assert time.monotonic() < hook.lambda_end  # the handler returned: Lambda did not have to kill it
    assert_failed_in_time(aws, hook)
    line = hook_log.line("status Failed NOT reported")
    assert line["message"] == (
        f"status Failed NOT reported: the status report for deployment {DEPLOYMENT} did not finish in time: "
        "CodeDeploy had not answered completely when the time kept for the report ran out"
    )


# -- a warm container after a hung check ------------------------------------------------------------


@BOTH
def test_the_delivery_after_one_whose_check_hung_reports_on_time_and_unaffected(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, isolation: str
) -> None:
    isolate(hook, isolation)
    aws.publish("orders", "7")
    hook.checks("""
        import time
        from hookkit import pre_traffic

        @pre_traffic(timeout=600)
        def answers(target, deployment):
            if deployment.deployment_id == "d-HUNG0001":
                while True:
                    time.sleep(1)
            target.invoke({}).expect(status=200)
    """)
    first = hook("d-HUNG0001", "exec-hung", timeout_s=1.5)
    first_end = hook.lambda_end
    second = hook(DEPLOYMENT, EXECUTION, timeout_s=3)
    assert [(r.body["deploymentId"], r.body["status"]) for r in aws.reports] == [
        ("d-HUNG0001", "Failed"), (DEPLOYMENT, "Succeeded")]
    assert aws.reports[0].at < first_end and aws.reports[1].at < hook.lambda_end
    assert (first["checks"][0]["message"], second["checks"][0]["status"]) == (AT_DEADLINE, "passed")
    assert hook.containers == 1  # the same warm container served both
    if isolation == "process":
        assert_nothing_left(hook)  # the hung check died with its child: no thread, no process
    else:
        assert hook.threads() > 1  # thread isolation cannot kill a thread: it stays in the container


# -- where the checks run, and saying so ------------------------------------------------------------


@BOTH
def test_the_baseline_succeeds_and_says_where_its_checks_ran(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, isolation: str
) -> None:
    isolate(hook, isolation)
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def answers(target):
            target.invoke({}).expect(status=200)
    """)
    summary = hook()
    assert_reported(aws, "Succeeded")
    assert summary["isolation"] == isolation
    line = hook_log.line("BeforeAllowTraffic: Succeeded")
    assert (line["isolation"], line["summary"]["isolation"]) == (isolation, isolation)
    assert hook_log.line("check answers: ")["message"] == "check answers: passed"


def test_the_handlers_process_never_imports_or_runs_the_checks(hook: Hook, aws: AwsStandIn) -> None:
    """Each delivery's checks module is imported, and its checks run, in a child process of its own
    group, the one the out-of-memory killer takes first; never in the handler's process."""
    seen = hook.folder / "seen.jsonl"
    hook.checks(f"""
        import json, os
        from hookkit import pre_traffic

        def note(what):
            with open({str(seen)!r}, "a") as file:
                file.write(json.dumps({{"what": what, "pid": os.getpid(), "pgid": os.getpgid(0),
                                        "oom": open("/proc/self/oom_score_adj").read().strip()}}) + "\\n")

        note("import")

        @pre_traffic
        def answers(target):
            note("check")
            target.invoke({{}}).expect(status=200)
    """)
    hook(DEPLOYMENT, "exec-1")
    hook(DEPLOYMENT, "exec-2")
    assert aws.statuses == ["Succeeded", "Succeeded"]
    assert hook.container is not None
    notes = [json.loads(line) for line in seen.read_text().splitlines()]
    assert [n["what"] for n in notes] == ["import", "check", "import", "check"]  # imported again per delivery
    assert len({n["pid"] for n in notes}) == 2 and hook.container.pid not in {n["pid"] for n in notes}
    assert all(n["pgid"] == n["pid"] and n["oom"] == "1000" for n in notes)


def test_a_runtime_with_a_thread_of_its_own_runs_the_checks_in_threads_and_says_why(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog
) -> None:
    hook.env(FAULTKIT_RUNTIME_THREAD="1")
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def answers(target):
            target.invoke({}).expect(status=200)
    """)
    summary = hook()
    assert_reported(aws, "Succeeded")
    assert summary["isolation"] == "thread"
    line = hook_log.line("the checks run in this process's threads")
    assert (line["level"], line["message"]) == ("WARNING", (
        "the checks run in this process's threads, not in a child process: 1 other thread(s) are alive in this "
        "process, and a fork copies the locks they hold without the threads that would release them (set "
        "HOOKKIT_ISOLATION=thread to choose this and silence the warning)"
    ))


def test_an_unknown_isolation_setting_reports_failed_naming_it(hook: Hook, aws: AwsStandIn,
                                                               hook_log: HookLog) -> None:
    hook.env(HOOKKIT_ISOLATION="container")
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def answers():
            pass
    """)
    summary = hook()
    assert_failed_in_time(aws, hook)
    why = ("HOOKKIT_ISOLATION='container' is not an isolation: use process (the default: the checks run in a child "
           "process the hook kills at its deadline) or thread (in the hook's own process)")
    assert hook_log.line("HOOKKIT_ISOLATION=")["message"] == summary["reason"] == why


# -- observability across the process boundary -------------------------------------------------------


@pytest.fixture
def xray_daemon() -> Iterator[socket.socket]:
    """The X-Ray daemon's UDP port, on 127.0.0.1: every segment document sent to it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(2)
        yield daemon


def received_subsegments(daemon: socket.socket) -> list[dict]:
    documents = []
    while True:
        try:
            packet = daemon.recv(65536)
        except TimeoutError:
            return documents
        header, _, body = packet.decode().partition("\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        documents.append(json.loads(body))
        daemon.settimeout(0.3)


def test_each_check_is_traced_and_logged_where_it_runs_and_the_run_is_measured_by_the_handler(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, xray_daemon: socket.socket
) -> None:
    hook.env(AWS_XRAY_DAEMON_ADDRESS=f"127.0.0.1:{xray_daemon.getsockname()[1]}",
             _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def answers(target):
            target.invoke({}).expect(status=200)

        @pre_traffic
        def rejects():
            return False
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    assert summary["isolation"] == "process"
    traced = sorted((s["name"], s["annotations"]["check"]) for s in received_subsegments(xray_daemon)
                    if s["name"].startswith("## "))
    assert traced == [("## answers", "answers"), ("## rejects", "rejects")]
    checks = [r for r in hook_log.records if "check" in r and r["message"].startswith("check ")]
    assert sorted((r["check"], r["outcome"], r["phase"], r["execution_id"]) for r in checks) == [
        ("answers", "passed", "BeforeAllowTraffic", EXECUTION), ("rejects", "failed", "BeforeAllowTraffic", EXECUTION)]
    metrics = [json.loads(line) for line in hook.stdout.splitlines() if '"_aws"' in line]
    assert len(metrics) == 1  # one set per run, from the handler
    assert [metrics[0][name] for name in ("ChecksPassed", "ChecksFailed", "VerdictFailed")] == [[1.0]] * 3
