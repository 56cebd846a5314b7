"""The pytest plugin, through pytest's own ``pytester``: fixtures, and checks collected as real tests."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# Loaded here, once: pytester's in-process runs drop the modules a run imported, and a second
# import of requests (or hookkit's users of it) would mix two copies of its classes.
import hookkit.checks.expect
import hookkit.checks.smoke
import hookkit.local.apigw
import hookkit.local.invoker  # noqa: F401

pytest_plugins = ["pytester"]

FIXTURES = Path(__file__).parent / "fixtures" / "cli"
TARGET = f"local:{FIXTURES / 'template.yaml'}#ItemsFunction"
BAD = f"{TARGET}@{FIXTURES / 'bad'}"

CHECKS = '''from hookkit import Phase, post_traffic, pre_traffic, recorded_events


@pre_traffic
def greets(target):
    target.invoke({"name": "ci"}).expect(fields={"/greeting": "hello ci", "/version": "local"})


@pre_traffic
def same_as_current(target):
    target.compare({"name": "ci"}, ignore=["/version"])


@pre_traffic(blocking=False)
def optional(target):
    target.invoke({"name": "ci"}).expect(fields={"/greeting": "bonjour ci"})


@post_traffic
def item_answers(api):
    api.get("/items/42").expect(status=200, fields={"/itemId": "42"})


recorded_events("events", phase=Phase.BEFORE_ALLOW_TRAFFIC)
'''


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


pytestmark = pytest.mark.usefixtures("fresh_default_registry")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in this process (a fresh session; the registry is emptied around each test)."""
    from hookkit import default_registry
    from hookkit.core import loader

    default_registry._checks.clear()
    loader._by_path.clear()
    return pytester.runpytest_inprocess(*args)


@pytest.fixture
def checks(pytester: pytest.Pytester) -> Path:
    """A checks file with decorated checks (one non-blocking) and two recorded events, in pytester's folder."""
    events = pytester.path / "events"
    events.mkdir()
    for name in ("hello", "world"):
        (events / f"{name}.json").write_text(json.dumps({"name": name}))
        (events / f"{name}.expect.json").write_text(json.dumps({"fields": {"/greeting": f"hello {name}"}}))
    path = pytester.path / "checks.py"
    path.write_text(CHECKS)
    return path


def hookkit_args(*extra: str, target: str = TARGET, current: str = TARGET) -> list[str]:
    return ["-p", "no:cacheprovider", "-W", "ignore::pytest.PytestWarning", "--hookkit", "checks.py",
            "--hookkit-target", target, "--hookkit-current", current, "--hookkit-api", "local", *extra]


NODE_IDS = [
    "checks.py::pre::greets", "checks.py::pre::same_as_current", "checks.py::pre::optional",
    "checks.py::pre::events/hello", "checks.py::pre::events/world", "checks.py::post::item_answers",
]


def test_checks_are_collected_with_real_node_ids(pytester: pytest.Pytester, checks: Path) -> None:
    result = pytester.runpytest_subprocess(*hookkit_args("--collect-only", "-q"))
    assert result.ret == pytest.ExitCode.OK
    assert [line for line in result.outlines if "::" in line] == NODE_IDS
    result.stdout.fnmatch_lines(["6 tests collected*"])
    assert "no tests collected" not in result.stdout.str()


def test_a_good_build_passes_and_a_non_blocking_failure_is_reported_not_fatal(
    pytester: pytest.Pytester, checks: Path
) -> None:
    result = run(pytester, *hookkit_args("-rx"))
    result.assert_outcomes(passed=5, xfailed=1)
    result.stdout.fnmatch_lines(["*XFAIL checks.py::pre::optional*non-blocking check did not pass*"])


def test_a_failure_shows_each_difference_once_at_the_checks_line(pytester: pytest.Pytester, checks: Path) -> None:
    junit = pytester.path / "junit.xml"
    result = run(pytester, *hookkit_args(f"--junitxml={junit}", target=BAD))
    result.assert_outcomes(passed=0, failed=5, xfailed=1)
    out = result.stdout.str()
    # the failure reports, not pytest's summary (which repeats whole messages when CI is set)
    reports = out.split("short test summary info")[0]
    assert reports.count('/greeting: expected "hello ci", got "hi ci"') == 2  # greets and the compare, once each
    assert "expected 'hello ci'" not in out  # the message's own Python-repr copy is not repeated
    result.stdout.fnmatch_lines([
        "*BeforeAllowTraffic check 'greets': failed after 1 attempt(s) (checks.py:4)",
        "*events/hello.json:1*",
    ])
    cases = [(c.get("classname"), c.get("name")) for c in ET.parse(junit).getroot().iter("testcase")]
    assert cases == [
        ("checks.pre", "greets"), ("checks.pre", "same_as_current"), ("checks.pre", "optional"),
        ("checks.pre", "events/hello"), ("checks.pre", "events/world"), ("checks.post", "item_answers"),
    ]


@pytest.mark.parametrize("args, passed, deselected", [
    (["-k", "events"], 2, 4),
    (["-m", "post_traffic"], 1, 5),
    (["-m", "pre_traffic and not non_blocking"], 4, 2),
    (["-m", "non_blocking"], 0, 5),
    (["-m", "hookkit"], 5, 0),
])
def test_checks_are_selected_by_keyword_and_marker(
    pytester: pytest.Pytester, checks: Path, args: list[str], passed: int, deselected: int
) -> None:
    result = run(pytester, *hookkit_args("--strict-markers", *args))
    result.assert_outcomes(passed=passed, deselected=deselected, xfailed=6 - passed - deselected)


def test_a_check_is_selected_by_its_node_id(pytester: pytest.Pytester, checks: Path) -> None:
    result = run(pytester, *hookkit_args("checks.py::pre::events/world", "checks.py::post", "-v"))
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*checks.py::pre::events/world PASSED*", "*checks.py::post::item_answers PASSED*"])


def test_last_failed_reruns_only_what_failed(pytester: pytest.Pytester, checks: Path) -> None:
    args = [a for a in hookkit_args(current=BAD) if a not in ("-p", "no:cacheprovider")]
    run(pytester, *args).assert_outcomes(passed=4, failed=1, xfailed=1)
    rerun = run(pytester, *args, "--lf", "-v")
    rerun.assert_outcomes(failed=1, deselected=5)
    rerun.stdout.fnmatch_lines(["*checks.py::pre::same_as_current FAILED*"])


def test_xdist_spreads_the_checks_and_counts_them_right(pytester: pytest.Pytester, checks: Path) -> None:
    pytest.importorskip("xdist")
    result = pytester.runpytest_subprocess(*hookkit_args("-n", "2", current=BAD))
    result.assert_outcomes(passed=4, failed=1, xfailed=1)


def test_shards_collect_disjoint_shares_that_cover_every_check(pytester: pytest.Pytester, checks: Path) -> None:
    collected = []
    for index in (1, 2, 3):
        result = run(pytester, *hookkit_args("--collect-only", "-q", "--hookkit-shard", f"{index}/3"))
        assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
        collected.append([line for line in result.outlines if "::" in line])
    assert sorted(n for share in collected for n in share) == sorted(NODE_IDS)
    assert [len(share) for share in collected] == [2, 2, 2]


def test_parameters_and_phase_spellings_reach_the_run(pytester: pytest.Pytester, checks: Path) -> None:
    result = run(
        pytester, *hookkit_args("--hookkit-phase", "PreTraffic", "--hookkit-parameter", "Greeting=hola", "-k", "greets")
    )
    result.assert_outcomes(failed=1, deselected=4)
    result.stdout.fnmatch_lines(['*/greeting: expected "hello ci", got "hola ci"*'])


def test_a_checks_file_named_like_a_test_module_is_collected_once(pytester: pytest.Pytester, checks: Path) -> None:
    shutil.move(checks, pytester.path / "test_checks.py")
    args = [a if a != "checks.py" else "test_checks.py" for a in hookkit_args()]
    result = run(pytester, *args, ".")
    result.assert_outcomes(passed=5, xfailed=1)


def test_a_missing_current_fails_the_check_with_the_pytest_spelling_of_the_fix(
    pytester: pytest.Pytester, checks: Path
) -> None:
    result = run(pytester, "-p", "no:cacheprovider", "--hookkit", "checks.py", "--hookkit-target", TARGET,
                 "-k", "same_as_current")
    result.assert_outcomes(failed=1, deselected=5)
    result.stdout.fnmatch_lines([
        "*pass --current NAME_OR_ARN:VERSION*",
        "*(the check could not run as written: a configuration error, not the function's)",
        "*--current*are --hookkit-target, --hookkit-current*",
    ])


@pytest.mark.parametrize("args, message", [
    (["--hookkit", "no/such/checks.py"], "*hookkit: --hookkit: checks file*does not exist*"),
    (["--hookkit", "checks.py", "--hookkit-phase", "middle"], "*hookkit: --hookkit-phase: unknown phase 'middle'*"),
    (["--hookkit", "checks.py", "--hookkit-api", "localhost:3000"], "*hookkit: --hookkit-api 'localhost:3000' is not*"),
    (["--hookkit", "checks.py", "--hookkit-shard", "4/3"], "*hookkit: --hookkit-shard '4/3': *1 <= K <= N*"),
    (["--hookkit", "checks.py", "--hookkit-parameter", "novalue"], "*--hookkit-parameter 'novalue': write it as*"),
    (["--hookkit", "checks.py", "--hookkit-env-vars", "nope.json"], "*--hookkit-env-vars nope.json: no such file*"),
])
def test_bad_option_values_are_usage_errors(
    pytester: pytest.Pytester, checks: Path, args: list[str], message: str
) -> None:
    result = run(pytester, "-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_a_target_that_cannot_be_made_is_a_collection_error_naming_the_fix(
    pytester: pytest.Pytester, checks: Path
) -> None:
    result = run(pytester, *hookkit_args(target=f"local:{FIXTURES / 'template.yaml'}#Nope"))
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([
        "*ERROR collecting checks.py*",
        "hookkit: making the targets (--hookkit-target, --hookkit-current, --hookkit-api): SAM template *"
        "has no resource 'Nope'; functions in this template: ItemsFunction*",
    ])
    assert "Traceback" not in result.stdout.str()


def test_a_check_declared_wrongly_is_a_collection_error_at_the_users_line(pytester: pytest.Pytester) -> None:
    (pytester.path / "checks.py").write_text(
        "from hookkit import pre_traffic\n\n\n@pre_traffic\ndef asks(target, widget):\n    pass\n"
    )
    result = run(pytester, "-p", "no:cacheprovider", "--hookkit", "checks.py")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*RegistrationError: check 'asks' (*checks.py:4): unknown parameter 'widget'*"])
    assert "registry.py" not in result.stdout.str()


def test_a_broken_recorded_event_is_a_collection_error_of_its_checks_file(
    pytester: pytest.Pytester, checks: Path
) -> None:
    (pytester.path / "events" / "world.json").write_text('{"name": ')
    result = run(pytester, *hookkit_args())
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*1 recorded event file(s) cannot be used*", "*world.json: line 1, column 10*"])


def test_unit_tests_that_import_the_checks_module_run_next_to_its_checks(
    pytester: pytest.Pytester, checks: Path
) -> None:
    """A check is a plain function a unit test imports; pytest --hookkit imports the same file by path."""
    checks.write_text("from pathlib import Path\n" + CHECKS.replace(
        'recorded_events("events", ', 'recorded_events("events", base_dir=Path(__file__).parent, '
    ))  # imported as a plain module, it says where its events are
    pytester.makepyfile(test_unit="from checks import greets\n\n\ndef test_plain():\n    assert callable(greets)\n")
    pytester.makepyfile(test_zz_after="import checks\n\n\ndef test_again():\n    assert checks.optional\n")
    result = run(pytester, *hookkit_args("."))
    result.assert_outcomes(passed=7, xfailed=1)


def test_hookkit_api_sends_the_environments_key_and_token(pytester: pytest.Pytester, keyed_api: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makefile(".py", smoke="from hookkit import post_traffic\n\n@post_traffic\ndef smoke(api):\n"
                                   "    api.get('/x').expect(status=200)\n")
    args = ["-p", "no:cacheprovider", "--hookkit", "smoke.py", "--hookkit-api", keyed_api]
    run(pytester, *args).assert_outcomes(failed=1)  # the server refuses a call without them
    monkeypatch.setenv("HOOKKIT_API_KEY", "k3y")
    monkeypatch.setenv("HOOKKIT_API_TOKEN", "t0k")
    run(pytester, *args).assert_outcomes(passed=1)


def test_a_non_blocking_check_that_cannot_run_as_written_fails_the_session(pytester: pytest.Pytester) -> None:
    """hookkit run exits 2 for it; under pytest it must not pass as an expected failure either."""
    pytester.makefile(".py", nb="from hookkit import pre_traffic\n\n@pre_traffic\ndef ok(target):\n"
                                "    target.invoke({'name': 'ci'})\n\n@pre_traffic(blocking=False)\n"
                                "def typo(target):\n    target.invoke('events/typo.json')\n")
    result = run(pytester, "-p", "no:cacheprovider", "--hookkit", "nb.py", "--hookkit-target", TARGET)
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*typo.json*", "*(the check could not run as written: a configuration error*"])


def test_without_a_target_checks_that_need_one_are_one_usage_error_up_front(
    pytester: pytest.Pytester, checks: Path
) -> None:
    result = run(pytester, "-p", "no:cacheprovider", "--hookkit", "checks.py", "--hookkit-api", "http://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*hookkit: 5 check(s) ask for a target (greets (checks.py:4), *"
                                 "no --hookkit-target was given: pass --hookkit-target local:TEMPLATE#LogicalId*"])
    assert "Traceback" not in result.stderr.str() and "FAILED" not in result.stdout.str()
    # what needs no target still runs without one, and listing the checks needs none
    listed = run(pytester, "-p", "no:cacheprovider", "--hookkit", "checks.py", "--collect-only", "-q")
    assert listed.ret == pytest.ExitCode.OK
    alone = run(pytester, "-p", "no:cacheprovider", "--hookkit", "checks.py", "--hookkit-api", "http://127.0.0.1:9",
                "-k", "item_answers")
    alone.assert_outcomes(failed=1, deselected=5)
    alone.stdout.fnmatch_lines(["*GET http://127.0.0.1:9/items/42 failed after*"])


def test_under_xdist_a_missing_target_is_the_same_usage_error_not_a_crash(
    pytester: pytest.Pytester, checks: Path
) -> None:
    pytest.importorskip("xdist")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--hookkit", "checks.py", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*hookkit: 5 check(s) ask for a target*no --hookkit-target was given*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_a_shard_with_no_checks_passes_as_hookkit_runs_does(pytester: pytest.Pytester) -> None:
    """More matrix jobs than checks: the job with an empty share must not fail with pytest's exit 5."""
    pytester.makefile(".py", two="from hookkit import pre_traffic\n\n@pre_traffic\ndef a():\n    pass\n\n"
                                 "@pre_traffic\ndef b():\n    pass\n")
    said = []
    for index in (1, 2, 3):
        result = run(pytester, "-p", "no:cacheprovider", "--hookkit", "two.py", "--hookkit-shard", f"{index}/3")
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()
        said += [line for line in result.outlines if "has none of the run's 2 check(s)" in line]
    assert len(said) == 1 and "nothing to run, which passes" in said[0]
    # but a selection that leaves nothing, or a run with no checks at all, is still pytest's "no tests ran"
    assert run(pytester, "-p", "no:cacheprovider", "--hookkit", "two.py", "-k", "nothing").ret == \
        pytest.ExitCode.NO_TESTS_COLLECTED
