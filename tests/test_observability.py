"""Logs, EMF metrics and tracing subsegments of a hook run, and the switches that turn them off."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading

import pytest

from hookkit import HookRegistry
from hookkit.hook.clients import Clients
from hookkit.hook.handler import HookHandler
from hookkit.local.context import LocalContext

ENV = {"HOOKKIT_FUNCTION": "orders", "HOOKKIT_TARGET_VERSION": "7"}


def registry() -> HookRegistry:
    r = HookRegistry()
    r.pre_traffic(lambda: None, name="answers")
    r.pre_traffic(lambda: False, name="rejects_bad_input")
    return r


def run(codedeploy, hook_event, environ=ENV, **kwargs):
    codedeploy.accept()
    # in this process's threads: the tests read the log lines and subsegments the checks made here
    handler = HookHandler(
        registry(), phase="pre", clients=Clients(codedeploy=codedeploy.client), environ=environ,
        isolation="thread", **kwargs
    )
    return handler(hook_event, LocalContext(timeout_s=30))


def emf_lines(text: str) -> list[dict]:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"_aws"' in line]
    return lines


def test_metrics_are_emitted_in_embedded_metric_format(codedeploy, hook_event, capsys) -> None:
    run(codedeploy, hook_event, environ={**ENV, "POWERTOOLS_METRICS_NAMESPACE": "teamA"})
    (emf,) = emf_lines(capsys.readouterr().out)
    meta = emf["_aws"]["CloudWatchMetrics"][0]
    assert meta["Namespace"] == "teamA"
    assert sorted(meta["Dimensions"][0]) == ["function", "phase", "service"]
    assert (emf["function"], emf["phase"]) == ("orders", "BeforeAllowTraffic")
    assert (emf["ChecksPassed"], emf["ChecksFailed"], emf["VerdictSucceeded"], emf["VerdictFailed"]) == (
        [1.0], [1.0], [0.0], [1.0]
    )
    assert len(emf["CheckDuration"]) == 2
    assert {m["Name"]: m["Unit"] for m in meta["Metrics"]}["CheckDuration"] == "Milliseconds"


def test_metrics_can_be_switched_off(codedeploy, hook_event, capsys) -> None:
    run(codedeploy, hook_event, environ={**ENV, "POWERTOOLS_METRICS_DISABLED": "true"})
    assert emf_lines(capsys.readouterr().out) == []
    assert codedeploy.statuses == ["Failed"]


@pytest.fixture
def json_logs():
    """The JSON lines hookkit's Powertools logger writes, as CloudWatch would receive them."""
    from hookkit.core.log import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger._logger.removeHandler(handler)


def test_one_summary_line_and_one_structured_line_per_check(codedeploy, hook_event, json_logs) -> None:
    run(codedeploy, hook_event)
    lines = json_logs()
    checks = [line for line in lines if "check" in line]
    assert sorted((c["check"], c["outcome"]) for c in checks) == [
        ("answers", "passed"), ("rejects_bad_input", "failed")
    ]
    for line in checks:
        assert (line["deployment_id"], line["execution_id"], line["phase"]) == (
            "d-ABCDEF123", "exec-1", "BeforeAllowTraffic"
        )
        assert line["duration_ms"] >= 0 and line["attempts"] == 1
    summaries = [line for line in lines if "summary" in line]
    assert len(summaries) == 1
    assert summaries[0]["message"] == (
        "BeforeAllowTraffic: Failed (1 passed, 1 failed) - 1 of 2 blocking check(s) did not pass: "
        "rejects_bad_input (failed)"
    )
    assert summaries[0]["summary"]["verdict"] == "Failed"


class FakeSubsegment:
    def __init__(self, name):
        self.name, self.annotations, self.thread = name, {}, threading.current_thread().name

    def put_annotation(self, key, value):
        self.annotations[key] = value


class FakeTracer:
    """Powertools' Tracer shape: tracer.provider.in_subsegment(name=...) as a context manager."""

    def __init__(self, fail: bool = False):
        self.subsegments, self.fail, self.provider = [], fail, self

    @contextlib.contextmanager
    def in_subsegment(self, name):
        if self.fail:
            raise RuntimeError("cannot find the current segment/subsegment")
        segment = FakeSubsegment(name)
        self.subsegments.append(segment)
        yield segment


def test_each_check_gets_a_subsegment_in_its_own_thread(codedeploy, hook_event) -> None:
    tracer = FakeTracer()
    run(codedeploy, hook_event, tracer=tracer)
    got = sorted((s.name, s.thread, s.annotations["check"], s.annotations["phase"]) for s in tracer.subsegments)
    assert got == [
        ("## answers", "hookkit-check-answers", "answers", "BeforeAllowTraffic"),
        ("## rejects_bad_input", "hookkit-check-rejects_bad_input", "rejects_bad_input", "BeforeAllowTraffic"),
    ]


def test_a_tracing_failure_changes_no_outcome(codedeploy, hook_event) -> None:
    summary = run(codedeploy, hook_event, tracer=FakeTracer(fail=True))
    assert [c["status"] for c in summary["checks"]] == ["passed", "failed"]


@pytest.mark.parametrize("environ, traced", [
    ({}, False),
    ({"_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793"}, True),
    ({"_X_AMZN_TRACE_ID": "Root=1-x", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
])
def test_tracing_only_inside_a_traced_lambda(environ, traced) -> None:
    from hookkit.hook.observability import Observer

    assert Observer(environ).tracing is traced


def test_secrets_in_check_messages_are_redacted_from_logs_and_summary(codedeploy, hook_event, caplog) -> None:
    r = HookRegistry()

    def leaks():
        raise AssertionError(
            "GET https://api.example.com/orders?token=s3cr3t failed with Authorization: Bearer abc.def"
        )

    r.pre_traffic(leaks)
    codedeploy.accept()
    summary = HookHandler(r, phase="pre", clients=Clients(codedeploy=codedeploy.client), environ=ENV,
                          isolation="thread")(
        hook_event, LocalContext()
    )
    assert "s3cr3t" not in json.dumps(summary) and "abc.def" not in json.dumps(summary)
    assert "s3cr3t" not in caplog.text and "abc.def" not in caplog.text
    assert "[REDACTED]" in summary["checks"][0]["message"]
