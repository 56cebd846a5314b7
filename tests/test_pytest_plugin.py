"""The pytest plugin, through pytest's own ``pytester``: fixtures and checks collected as tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

FIXTURES = Path(__file__).parent / "fixtures" / "cli"


def test_fixtures_drive_a_hook_end_to_end(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from hookkit import HookHandler, HookRegistry
        from hookkit.hook.clients import Clients

        def test_hook_reports_once(hookkit_event, lambda_context, fake_codedeploy):
            registry = HookRegistry()
            registry.pre_traffic(lambda deployment: deployment.target_version == "3", name="right_version")
            handler = HookHandler(registry, phase="pre", clients=Clients(codedeploy=fake_codedeploy),
                                  environ={"HOOKKIT_FUNCTION": "orders", "HOOKKIT_TARGET_VERSION": "3"})
            event = hookkit_event()
            summary = handler(event, lambda_context)
            assert fake_codedeploy.statuses == ["Succeeded"]
            assert fake_codedeploy.reports[0]["deploymentId"] == event["DeploymentId"]
            assert summary["verdict"] == "Succeeded"

        def test_run_hook_phase_returns_outcomes(run_hook_phase):
            registry = HookRegistry()
            registry.post_traffic(lambda api: api.ok, name="uses_fake_api")
            registry.post_traffic(lambda: False, name="fails")

            class FakeApi:
                ok = True

            result = run_hook_phase(registry, "post", api=FakeApi())
            outcomes = [(o.name, o.status.value) for o in result.outcomes]
            assert outcomes == [("uses_fake_api", "passed"), ("fails", "failed")]
            assert result.verdict.value == "Failed"
        """
    )
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_checks_are_collected_as_items_with_junit(pytester: pytest.Pytester, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    target = f"local:{FIXTURES / 'template.yaml'}#ItemsFunction"
    bad = f"{target}@{FIXTURES / 'bad'}"
    result = pytester.runpytest_subprocess(
        "-q", "-p", "no:cacheprovider", "--hookkit", str(FIXTURES / "checks.py"), "--hookkit-target", bad,
        "--hookkit-current", target, "--hookkit-api", "local", f"--junitxml={junit}",
    )
    result.assert_outcomes(passed=0, failed=3)
    result.stdout.fnmatch_lines(
        ["*BeforeAllowTraffic check 'greets': failed*", "*/greeting: expected 'hello ci', got 'hi ci'*"]
    )
    cases = [(c.get("classname").rsplit(".", 1)[-1], c.get("name")) for c in ET.parse(junit).getroot().iter("testcase")]
    assert cases == [
        ("BeforeAllowTraffic", "greets"), ("BeforeAllowTraffic", "same_as_current"),
        ("AfterAllowTraffic", "item_answers"),
    ]


def test_collection_passes_against_the_good_build(pytester: pytest.Pytester) -> None:
    target = f"local:{FIXTURES / 'template.yaml'}#ItemsFunction"
    result = pytester.runpytest_subprocess(
        "-q", "-p", "no:cacheprovider", "--hookkit", str(FIXTURES / "checks.py"), "--hookkit-target", target,
        "--hookkit-current", target, "--hookkit-api", "local",
    )
    result.assert_outcomes(passed=3)


def test_a_bad_checks_path_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--hookkit", "no/such/checks.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*hookkit: --hookkit: checks file*does not exist*"])
