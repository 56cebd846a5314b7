"""Faults in the user's checks and checks module: each ends in exactly one report, and a log line says why.

The hook runs as in Lambda: ``hookkit.handler``, configured by ``HOOKKIT_CHECKS`` and
``HOOKKIT_PHASE``, its clients talking to the AWS stand-in over HTTP.
"""

from __future__ import annotations

import json
import re

import pytest
from aws_standin import AwsStandIn
from faultkit import Hook, HookLog, assert_reported


@pytest.fixture(autouse=True)
def deployment(aws: AwsStandIn) -> None:
    aws.deploy("d-FAULT0001", function="orders", current="6", target="7")
    aws.publish("orders", "7")


# -- the checks module -----------------------------------------------------------------------


def test_a_checks_module_whose_import_fails_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    path = hook.checks("""
        import orders_sdk_that_was_not_packaged
        from hookkit import pre_traffic
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    line = hook_log.line("HOOKKIT_CHECKS: importing")
    assert line["level"] == "ERROR"
    assert line["message"] == (
        f"HOOKKIT_CHECKS: importing checks module {str(path)!r} failed: ModuleNotFoundError: "
        f"No module named 'orders_sdk_that_was_not_packaged' (at {path}:2)"
    )
    assert summary["reason"] == line["message"]
    assert aws.calls("Invoke") == []


def test_a_checks_module_with_a_syntax_error_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    path = hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def answers(target)
            target.invoke({})
    """)
    hook()
    assert_reported(aws, "Failed")
    line = hook_log.line("HOOKKIT_CHECKS: importing")
    assert line["message"] == (
        f"HOOKKIT_CHECKS: importing checks module {str(path)!r} failed: SyntaxError at {path}:5: expected ':'"
    )


@pytest.mark.parametrize(
    "setting, message",
    [
        ("orders_checks_not_packaged", "HOOKKIT_CHECKS: checks module 'orders_checks_not_packaged' was not found on "
         "the path; check the name, and that the module is packaged with the hook function"),
        ("{folder}/gone.py", "HOOKKIT_CHECKS: checks file {folder}/gone.py does not exist; check the path"),
        ("", "HOOKKIT_CHECKS is empty: set it to the checks module(s) to run, e.g. HOOKKIT_CHECKS=checks (a module "
         "name on the function's path, or a path to a .py file or folder)"),
    ],
    ids=["unknown-module", "missing-file", "not-set"],
)
def test_a_missing_checks_module_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog, setting: str,
                                                 message: str) -> None:
    folder = hook.folder.resolve()
    if setting:
        hook.env(HOOKKIT_CHECKS=setting.format(folder=folder))
    summary = hook()
    assert_reported(aws, "Failed")
    assert hook_log.line("HOOKKIT_CHECKS")["message"] == message.format(folder=folder)
    assert summary["verdict"] == "Failed" and summary["checks"] == []


def test_no_checks_for_the_phase_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        from hookkit import post_traffic

        @post_traffic
        def api_answers(api):
            pass
    """)
    hook()
    assert_reported(aws, "Failed")
    line = hook_log.line("BeforeAllowTraffic: Failed")
    assert line["message"] == (
        "BeforeAllowTraffic: Failed (no checks ran) - no checks are registered for BeforeAllowTraffic; "
        "a hook that checks nothing must not approve a deployment"
    )


# -- one check misbehaving -------------------------------------------------------------------


def test_a_check_that_raises_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def stock_is_reserved(target):
            raise RuntimeError("inventory service answered 503")
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    line = hook_log.line("check stock_is_reserved")
    assert (line["level"], line["outcome"]) == ("ERROR", "error")
    assert line["message"] == (
        "check stock_is_reserved: error: RuntimeError: inventory service answered 503 (at orders_checks.py:6)"
    )
    assert summary["reason"] == "1 of 1 blocking check(s) did not pass: stock_is_reserved (error)"


def test_a_check_that_returns_false_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def totals_add_up(target):
            return target.invoke({"orderId": "ORD-1"}).body == {"total": 42}
    """)
    hook()
    assert_reported(aws, "Failed")
    assert hook_log.line("check totals_add_up")["message"] == "check totals_add_up: failed: the check returned False"
    assert [r.query["Qualifier"] for r in aws.calls("Invoke")] == ["7"]


def test_a_check_that_hangs_past_its_timeout_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        import time
        from hookkit import pre_traffic

        @pre_traffic(timeout=0.3)
        def hangs():
            time.sleep(2)

        @pre_traffic
        def answers(target):
            target.invoke({}).expect(status=200)
    """)
    summary = hook(timeout_s=5)
    assert_reported(aws, "Failed")
    assert hook_log.line("check hangs")["message"] == (
        "check hangs: timed_out: did not finish within its timeout of 0.3 s"
    )
    assert hook_log.line("check answers")["message"] == "check answers: passed"
    assert aws.reports[0].at - hook.context.started < 2  # not held up by the abandoned check
    assert summary["reason"] == "1 of 2 blocking check(s) did not pass: hangs (timed_out)"


def test_a_check_that_hangs_past_the_lambda_deadline_is_reported_before_the_lambda_ends(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog
) -> None:
    hook.checks("""
        import time
        from hookkit import pre_traffic

        @pre_traffic(timeout=600)
        def waits_for_a_queue_that_never_drains():
            time.sleep(5)
    """)
    hook(timeout_s=1.5)
    assert_reported(aws, "Failed")
    assert aws.reports[0].at < hook.lambda_end, f"reported {aws.reports[0].at - hook.lambda_end:.3f} s after the end"
    assert hook_log.line("check waits_for")["message"] == (
        "check waits_for_a_queue_that_never_drains: timed_out: still running at the hook's deadline "
        "(time kept in reserve for the report)"
    )


def test_a_check_that_prints_megabytes_still_reports(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    hook.checks("""
        import sys
        from hookkit import pre_traffic

        @pre_traffic
        def chatty(target):
            for _ in range(8):
                print("x" * 1_000_000)
            sys.stderr.write("y" * 1_000_000)
            target.invoke({}).expect(status=200)

        @pre_traffic
        def chatty_and_wrong():
            print("z" * 1_000_000)
            assert False, "totals differ"
    """)
    hook()
    assert hook.stdout.count("x") >= 8_000_000 and hook.stderr.count("y") == 1_000_000
    assert_reported(aws, "Failed")
    assert hook_log.line("check chatty:")["message"] == "check chatty: passed"
    assert hook_log.line("check chatty_and_wrong")["message"] == (
        "check chatty_and_wrong: failed: totals differ (at orders_checks.py:15)"
    )
    # the output went to stdout (CloudWatch), never into hookkit's own log lines
    assert max(len(line) for line in hook_log.lines) < 4000


@pytest.mark.parametrize("call, shown", [("sys.exit(3)", "SystemExit: 3"), ("sys.exit('bye')", "SystemExit: bye"),
                                         ("raise KeyboardInterrupt", "KeyboardInterrupt: ")])
def test_a_check_that_calls_sys_exit_reports_failed(hook: Hook, aws: AwsStandIn, hook_log: HookLog, call: str,
                                                    shown: str) -> None:
    hook.checks(f"""
        import sys
        from hookkit import pre_traffic

        @pre_traffic
        def quits():
            {call}
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    assert hook_log.line("check quits")["message"] == f"check quits: error: {shown} (at orders_checks.py:7)"
    assert summary["checks"][0]["status"] == "error"


def test_a_check_failing_with_a_cyclic_value_still_reports(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    """The value is walked to build the summary and the log line: a cycle must not cost the report."""
    hook.checks("""
        from hookkit import pre_traffic, Difference, ExpectationFailed

        @pre_traffic
        def loops():
            order = {"id": "ORD-1", "items": []}
            order["items"].append(order)
            raise ExpectationFailed("the order", [Difference("/items/0", "an item", order)])
    """)
    summary = hook()
    assert_reported(aws, "Failed")
    [difference] = summary["checks"][0]["differences"]
    assert difference["path"] == "/items/0"
    assert json.dumps(difference["actual"]).count('"[nested too deeply to show]"') == 1  # cut, once, deep down
    # the message shows the difference as it is reported (redacted, so copied and cut at the same depth)
    message = hook_log.line("check loops: ")["message"]
    assert message.startswith("check loops: failed: the order: 1 difference(s)\n  - /items/0: expected 'an item', "
                              "got {'id': 'ORD-1', 'items': [{'id': 'ORD-1', 'items': [")
    assert message.count("'[nested too deeply to show]'") == 1


def test_a_passing_run_is_the_baseline(hook: Hook, aws: AwsStandIn, hook_log: HookLog) -> None:
    """The same stand-in and hook, with nothing broken: Succeeded, so the faults above are what fail."""
    hook.checks("""
        from hookkit import pre_traffic

        @pre_traffic
        def answers(target):
            target.invoke({}).expect(status=200, fields={"/version": "7"})
    """)
    summary = hook()
    assert_reported(aws, "Succeeded")
    assert hook_log.line("reported Succeeded")["message"] == "reported Succeeded to CodeDeploy"
    assert summary["reported"] == "reported"
    assert [(r.function, r.query) for r in aws.calls("Invoke")] == [("orders", {"Qualifier": "7"})]
    assert re.fullmatch(r"AWS4-HMAC-SHA256 Credential=testing/\d{8}/us-east-1/lambda/aws4_request, .*",
                        aws.calls("Invoke")[0].headers["Authorization"])


@pytest.mark.parametrize("size_mb", [2, 14])
def test_a_check_failing_with_megabytes_in_its_message_is_reported_in_time(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog, size_mb: int
) -> None:
    """``assert "x" in body, body`` with a huge body: redacting and logging megabytes in Python took
    seconds before the report (at 14 MB, no report at all). The message is cut where it is made."""
    hook.env(HOOKKIT_REPORT_RESERVE_MS="5000")
    hook.checks(f"""
        from hookkit import pre_traffic

        @pre_traffic(timeout=2)
        def body_has_total():
            body = "a=1 " * ({size_mb} * 2**20 // 4)   # a query-string-like answer: the slowest text to redact
            assert "total" in body, body
    """)
    summary = hook(timeout_s=10.0)
    assert_reported(aws, "Failed")
    assert aws.reports[0].at < hook.lambda_end
    message = hook_log.line("check body_has_total: ")["message"]
    assert re.fullmatch(
        r"check body_has_total: failed: (a=1 )*a=1\.\.\. \(\d+ more characters\) \(at orders_checks\.py:7\)", message
    ), message[-200:]
    assert len(message) < 10_000 and len(json.dumps(summary)) < 20_000


def test_the_report_comes_before_the_lines_of_checks_cut_short_and_the_summary(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog
) -> None:
    """Thousands of checks cut short at the deadline: describing them must not delay the report."""
    hook.env(HOOKKIT_REPORT_RESERVE_MS="2500")  # time to describe them all after the report
    hook.checks("""
        import re
        from hookkit import pre_traffic

        @pre_traffic(timeout=600)
        def holds_the_lock():
            re.match(r"(a+)+$", "a" * 40 + "b")

        for n in range(3000):
            pre_traffic(lambda: None, name=f"check_{n:04d}")
    """)
    summary = hook(timeout_s=5.0)
    assert_reported(aws, "Failed")
    assert aws.reports[0].at < hook.lambda_end
    assert len(summary["checks"]) == 3001
    messages = hook_log.messages
    reported = messages.index("reported Failed to CodeDeploy")
    described = [i for i, m in enumerate(messages) if m.startswith(("check ", "BeforeAllowTraffic: Failed"))]
    assert len(described) >= 3002 and reported < min(described)  # every check's line, and the summary, after it


def test_with_little_time_left_after_the_report_the_hook_ends_before_its_lambda(
    hook: Hook, aws: AwsStandIn, hook_log: HookLog
) -> None:
    """Describing thousands of checks cut short (and importing and flushing the metrics) took longer
    than the time left after the report: the Lambda timed out after a good report, and Lambda would
    run the whole hook again. With less than 1.5 s left the run is described briefly instead."""
    hook.checks("""
        import re
        from hookkit import pre_traffic

        @pre_traffic(timeout=600)
        def holds_the_lock():
            re.match(r"(a+)+$", "a" * 40 + "b")

        for n in range(3000):
            pre_traffic(lambda: None, name=f"check_{n:04d}")
    """)
    summary = hook(timeout_s=3.0)  # the least reserve: 1 s for the report and everything after it
    assert_reported(aws, "Failed")
    assert summary["verdict"] == "Failed" and "checks" not in summary
    line = hook_log.line("BeforeAllowTraffic: Failed - ")
    assert line["level"] == "WARNING"
    assert "s were left after the report: the summary of each of the 3001 checks and the lines of 3001 check(s) " \
           "cut short are skipped" in line["message"]
    assert hook_log.line("metrics not emitted: only ")["level"] == "WARNING"
    assert not [m for m in hook_log.messages if m.startswith("check ")]
