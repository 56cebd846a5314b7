"""The Lambda entry: exactly one report per delivery, whatever happens before it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookkit import EventError, HookRegistry, ReportError
from hookkit.hook.clients import Clients
from hookkit.hook.event import parse_event
from hookkit.hook.handler import HookHandler
from hookkit.local.context import LocalContext

TARGET_ENV = {"HOOKKIT_FUNCTION": "orders", "HOOKKIT_TARGET_VERSION": "7"}


def make_handler(codedeploy, registry=None, *, phase="pre", environ=None, **kwargs) -> HookHandler:
    """Checks in this process's threads: these tests inspect what the checks did in it. The default,
    a child process, is driven through a real Lambda runtime in tests/faults and tests/test_supervisor.py."""
    kwargs.setdefault("isolation", "thread")
    return HookHandler(
        registry if registry is not None else HookRegistry(),
        phase=phase,
        clients=Clients(codedeploy=codedeploy.client),
        environ=TARGET_ENV if environ is None else environ,
        **kwargs,
    )


def passing_registry() -> HookRegistry:
    registry = HookRegistry()
    registry.pre_traffic(lambda deployment: None, name="ok")
    return registry


def test_passing_checks_report_succeeded_once(codedeploy, hook_event) -> None:
    codedeploy.accept()
    summary = make_handler(codedeploy, passing_registry())(hook_event, LocalContext(timeout_s=30))
    assert codedeploy.statuses == ["Succeeded"]
    assert codedeploy.reports[0]["deploymentId"] == "d-ABCDEF123"
    assert codedeploy.reports[0]["lifecycleEventHookExecutionId"] == "exec-1"
    assert summary["verdict"] == "Succeeded" and summary["reported"] == "reported"
    assert [c["status"] for c in summary["checks"]] == ["passed"]
    json.dumps(summary)  # the summary is JSON-serialisable
    codedeploy.stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    "body, status",
    [
        ("return False", "failed"),
        ("raise RuntimeError('boom')", "error"),
        ("assert deployment is None, 'wrong deployment'", "failed"),
        ("import sys; sys.exit(0)", "error"),
    ],
)
def test_a_check_that_does_not_pass_reports_failed_once(codedeploy, hook_event, body, status) -> None:
    registry = HookRegistry()
    namespace: dict = {}
    exec(f"def broken(deployment):\n    {body}\n", namespace)
    registry.pre_traffic(namespace["broken"])
    codedeploy.accept()
    summary = make_handler(codedeploy, registry)(hook_event, LocalContext(timeout_s=30))
    assert codedeploy.statuses == ["Failed"]
    assert summary["checks"][0]["status"] == status


def test_a_hang_past_the_deadline_is_reported_before_the_lambda_ends(codedeploy, hook_event) -> None:
    never = threading.Event()
    registry = HookRegistry()
    registry.pre_traffic(lambda: never.wait(), name="hangs", timeout=600)
    codedeploy.accept()
    context = LocalContext(timeout_s=2.0)
    lambda_end = context.started + context.timeout_s
    summary = make_handler(codedeploy, registry, reserve_ms=800)(hook_event, context)
    never.set()
    assert codedeploy.statuses == ["Failed"]
    assert codedeploy.reports[0]["at"] < lambda_end
    assert summary["checks"][0]["status"] == "timed_out"
    assert "hangs (timed_out)" in summary["reason"]


def test_reserve_is_capped_at_half_the_remaining_time(codedeploy, hook_event) -> None:
    handler = make_handler(codedeploy, passing_registry(), reserve_ms=60_000)
    lambda_end, checks_deadline = handler._budget(LocalContext(timeout_s=10), started=100.0)
    assert lambda_end == pytest.approx(110.0, abs=0.05)
    assert checks_deadline == pytest.approx(105.0, abs=0.05)


@pytest.mark.parametrize(("raw", "shown"), [("0", "0"), ("-5", "-5"), ("50", "50"), ("999", "999")])
def test_a_reserve_below_the_least_is_raised_to_it_with_a_warning(codedeploy, caplog, raw, shown) -> None:
    handler = make_handler(codedeploy, environ={"HOOKKIT_REPORT_RESERVE_MS": raw})
    lambda_end, checks_deadline = handler._budget(LocalContext(timeout_s=60), started=0.0)
    assert lambda_end - checks_deadline == pytest.approx(1.0, abs=0.05)
    assert (f"HOOKKIT_REPORT_RESERVE_MS={shown} leaves the status report too little time; using 1000 ms, the least "
            "it gets (never more than half the remaining time)") in caplog.text
    # and still never more than half the time there is
    assert handler._budget(LocalContext(timeout_s=1.0), started=0.0)[1] == pytest.approx(0.5, abs=0.05)


def test_reserve_comes_from_the_environment(codedeploy) -> None:
    handler = make_handler(codedeploy, environ={"HOOKKIT_REPORT_RESERVE_MS": "2500"})
    lambda_end, checks_deadline = handler._budget(LocalContext(timeout_s=60), started=0.0)
    assert lambda_end - checks_deadline == pytest.approx(2.5, abs=0.05)


def write_module(tmp_path, name: str, source: str):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


@pytest.mark.parametrize(
    "source, fragment",
    [
        ("import no_such_dependency_xyz\n", "ModuleNotFoundError: No module named 'no_such_dependency_xyz'"),
        ("def broken(:\n", "SyntaxError at"),
        ("raise RuntimeError('config missing')\n", "RuntimeError: config missing"),
        ("import sys\nsys.exit(1)\n", "SystemExit: 1"),
    ],
)
def test_a_checks_module_that_fails_to_import_reports_failed(
    codedeploy, hook_event, tmp_path, source, fragment
) -> None:
    path = write_module(tmp_path, "checks_broken", source)
    codedeploy.accept()
    registry = HookRegistry()
    summary = make_handler(codedeploy, registry, environ={"HOOKKIT_CHECKS": str(path)})(hook_event, LocalContext())
    assert codedeploy.statuses == ["Failed"]
    assert fragment in summary["reason"]
    assert str(path) in summary["reason"] or "checks_broken" in summary["reason"]


def test_a_missing_checks_module_names_it(codedeploy, hook_event) -> None:
    codedeploy.accept()
    summary = make_handler(codedeploy, environ={"HOOKKIT_CHECKS": "no_such_checks_module"})(hook_event, LocalContext())
    assert codedeploy.statuses == ["Failed"]
    assert "checks module 'no_such_checks_module' was not found" in summary["reason"]


def test_checks_are_imported_from_hookkit_checks_by_module_name(codedeploy, hook_event, tmp_path, monkeypatch) -> None:
    registry = HookRegistry()
    monkeypatch.setattr("hookkit.core.loader.default_registry", registry)
    write_module(
        tmp_path,
        "my_orders_checks",
        "import hookkit.core.loader\nregistry = hookkit.core.loader.default_registry\n"
        "@registry.pre_traffic\ndef answers(deployment):\n    assert deployment.target_version == '7'\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    codedeploy.accept(2)
    handler = make_handler(codedeploy, registry, environ={**TARGET_ENV, "HOOKKIT_CHECKS": " my_orders_checks , "})
    first = handler(hook_event, LocalContext())
    second = handler(hook_event, LocalContext())  # a warm container: imported once, registered once
    assert codedeploy.statuses == ["Succeeded", "Succeeded"]
    assert [c["name"] for c in first["checks"]] == [c["name"] for c in second["checks"]] == ["answers"]


def test_a_half_imported_module_is_reported_the_same_way_on_redelivery(
    codedeploy, hook_event, tmp_path, monkeypatch
) -> None:
    registry = HookRegistry()
    monkeypatch.setattr("hookkit.core.loader.default_registry", registry)
    path = write_module(
        tmp_path,
        "half",
        "import hookkit.core.loader\n@hookkit.core.loader.default_registry.pre_traffic\n"
        "def a():\n    pass\nraise ValueError('late failure')\n",
    )
    codedeploy.accept(2)
    handler = make_handler(codedeploy, registry, environ={"HOOKKIT_CHECKS": str(path)})
    reasons = [handler(hook_event, LocalContext())["reason"] for _ in range(2)]
    assert codedeploy.statuses == ["Failed", "Failed"]
    assert all("ValueError: late failure" in r for r in reasons)


def test_no_checks_for_the_phase_reports_failed(codedeploy, hook_event) -> None:
    registry = HookRegistry()
    registry.post_traffic(lambda: None, name="only_post")
    codedeploy.accept()
    summary = make_handler(codedeploy, registry)(hook_event, LocalContext())
    assert codedeploy.statuses == ["Failed"]
    assert "no checks are registered for BeforeAllowTraffic" in summary["reason"]


def test_phase_from_the_environment_accepts_sam_names(codedeploy, hook_event) -> None:
    registry = HookRegistry()
    registry.post_traffic(lambda: None, name="smoke")
    codedeploy.accept()
    summary = make_handler(codedeploy, registry, phase=None, environ={"HOOKKIT_PHASE": "PostTraffic"})(
        hook_event, LocalContext()
    )
    assert summary["phase"] == "AfterAllowTraffic" and codedeploy.statuses == ["Succeeded"]


def test_a_bad_phase_setting_is_reported_as_failed(codedeploy, hook_event) -> None:
    codedeploy.accept()
    summary = make_handler(codedeploy, passing_registry(), phase=None, environ={"HOOKKIT_PHASE": "Sometime"})(
        hook_event, LocalContext()
    )
    assert codedeploy.statuses == ["Failed"]
    assert "HOOKKIT_PHASE: unknown phase 'Sometime'" in summary["reason"]


def test_throttled_reports_are_retried_until_accepted(codedeploy, hook_event) -> None:
    codedeploy.fail("ThrottlingException", times=3)
    codedeploy.accept()
    summary = make_handler(codedeploy, passing_registry())(hook_event, LocalContext(timeout_s=30))
    assert codedeploy.statuses == ["Succeeded"] * 4  # three throttled tries, one accepted
    assert summary["reported"] == "reported"
    codedeploy.stubber.assert_no_pending_responses()


def test_a_duplicate_delivery_is_already_completed_not_an_error(codedeploy, hook_event) -> None:
    codedeploy.accept()
    codedeploy.fail("LifecycleEventAlreadyCompletedException")
    handler = make_handler(codedeploy, passing_registry())
    first = handler(hook_event, LocalContext())
    second = handler(hook_event, LocalContext())
    assert codedeploy.statuses == ["Succeeded", "Succeeded"]
    assert (first["reported"], second["reported"]) == ("reported", "already-completed")


def test_a_denied_report_raises_naming_the_permission(codedeploy, hook_event, caplog) -> None:
    codedeploy.fail("AccessDeniedException", message="User is not authorized")
    with pytest.raises(ReportError, match="codedeploy:PutLifecycleEventHookExecutionStatus on the deployment group"):
        make_handler(codedeploy, passing_registry())(hook_event, LocalContext())
    assert len(codedeploy.reports) == 1  # not retried: retrying cannot grant a permission
    assert "NOT reported" in caplog.text


def test_a_report_that_keeps_failing_raises_before_the_lambda_ends(codedeploy, hook_event) -> None:
    codedeploy.fail("ServiceUnavailableException", status=503, times=200)
    context = LocalContext(timeout_s=1.5)
    with pytest.raises(ReportError, match="ServiceUnavailableException"):
        make_handler(codedeploy, passing_registry(), reserve_ms=700)(hook_event, context)
    assert len(codedeploy.reports) >= 2
    assert codedeploy.reports[-1]["at"] < context.started + context.timeout_s


@pytest.mark.parametrize(
    "event, field",
    [
        ("not an object", None),
        ([], None),
        ({}, "DeploymentId"),
        ({"DeploymentId": "d-1"}, "LifecycleEventHookExecutionId"),
        ({"DeploymentId": "", "LifecycleEventHookExecutionId": "e"}, "DeploymentId"),
        ({"DeploymentId": 7, "LifecycleEventHookExecutionId": "e"}, "DeploymentId"),
    ],
)
def test_a_malformed_event_is_logged_and_not_reported(codedeploy, event, field, caplog) -> None:
    summary = make_handler(codedeploy, passing_registry())(event, LocalContext())
    assert codedeploy.reports == []
    assert summary["reported"] is False
    log = caplog.text
    assert "unusable hook event" in log and "Traceback" not in log
    if field:
        assert field in summary["error"]


def test_an_unexpected_bug_in_hookkit_still_reports_failed(codedeploy, hook_event, monkeypatch) -> None:
    def explode(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr("hookkit.hook.handler.run_phase", explode)
    codedeploy.accept()
    summary = make_handler(codedeploy, passing_registry())(hook_event, LocalContext())
    assert codedeploy.statuses == ["Failed"]
    assert "hookkit failed unexpectedly: MemoryError: simulated" in summary["reason"]


def test_a_handler_for_an_explicit_registry_is_the_same_runtime(codedeploy, hook_event) -> None:
    from hookkit import HookHandler

    registry = passing_registry()
    codedeploy.accept()
    handler = HookHandler(
        registry, phase="PreTraffic", clients=Clients(codedeploy=codedeploy.client), environ=TARGET_ENV,
        isolation="thread",
    )
    assert handler(hook_event, LocalContext())["verdict"] == "Succeeded"
    assert codedeploy.statuses == ["Succeeded"]


@pytest.mark.property
@given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.text()),
                 st.dictionaries(st.sampled_from(["DeploymentId", "LifecycleEventHookExecutionId", "x"]),
                                 st.one_of(st.none(), st.text(), st.integers(), st.lists(st.integers())))))
def test_parse_event_gives_ids_or_an_event_error(event) -> None:
    try:
        parsed = parse_event(event)
    except EventError:
        return
    assert parsed.deployment_id and parsed.execution_id
    assert parsed.deployment_id == event["DeploymentId"].strip()


class StrangeContext:
    def __init__(self, answer):
        self.answer = answer

    def get_remaining_time_in_millis(self):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize("answer", [RuntimeError("no deadline"), "soon", float("nan"), -5])
def test_a_strange_context_still_gets_exactly_one_report(codedeploy, hook_event, answer) -> None:
    codedeploy.accept()
    summary = make_handler(codedeploy, passing_registry())(hook_event, StrangeContext(answer))
    assert len(codedeploy.reports) == 1
    assert summary["reported"] == "reported"


def test_a_run_that_fails_before_its_checks_still_names_the_configured_phase(codedeploy, hook_event) -> None:
    codedeploy.accept()
    summary = make_handler(codedeploy, phase=None, environ={"HOOKKIT_PHASE": "PostTraffic",
                                                              "HOOKKIT_CHECKS": "no_such_checks_module"})(
        hook_event, LocalContext())
    assert codedeploy.statuses == ["Failed"]
    assert summary["phase"] == "AfterAllowTraffic"


def test_the_report_client_is_never_the_discovery_client(monkeypatch) -> None:
    """Discovery's client retries the botocore way (seconds of backoff, blind to the deadline); the report's
    must not: one try per attempt, hookkit's own retries bounded by the deadline."""
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    clients = Clients()
    report, discovery = clients.get("codedeploy-report"), clients.get("codedeploy")
    assert report is not discovery
    assert (report.meta.config.retries, discovery.meta.config.retries) == (
        {"mode": "standard", "total_max_attempts": 1}, {"mode": "standard", "total_max_attempts": 5}
    )


@pytest.mark.parametrize("lambda_handler, built", [("hookkit.handler", ["codedeploy-report"]), ("app.handler", [])])
def test_lambda_init_builds_the_report_client_before_any_delivery(lambda_handler, built) -> None:
    """Lambda imports the handler's module during init: for hookkit.handler that builds the report client,
    from the function's own environment, before any check can run; elsewhere importing hookkit builds nothing."""
    script = "import hookkit, hookkit.hook.handler as h; print(json.dumps(sorted(h._default_handler.clients._clients)))"
    env = {**os.environ, "_HANDLER": lambda_handler, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
           "AWS_REGION": "us-east-1"}
    done = subprocess.run([sys.executable, "-c", f"import json; {script}"], env=env, capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) == built


def test_what_the_handler_logs_of_a_bad_event_or_a_client_that_cannot_be_built_is_redacted(
    codedeploy, caplog, monkeypatch
) -> None:
    handler = make_handler(codedeploy, passing_registry())
    summary = handler({"DeploymentId": {"password": "SEKRET-1"}, "LifecycleEventHookExecutionId": "e"})
    assert summary["reported"] is False and "SEKRET" not in summary["error"]

    def refuse(name: str) -> None:
        raise RuntimeError("https://bob:SEKRET-2@proxy.example.com refused; Authorization: Bearer SEKRET-3")

    monkeypatch.setattr(handler.clients, "get", refuse)
    handler.prepare()
    assert "the status report's client cannot be built yet" in caplog.text
    assert "SEKRET" not in caplog.text
