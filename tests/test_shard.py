"""``hookkit run --shard K/N`` over a CI matrix, and ``hookkit merge`` of the N reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hookkit import default_registry
from hookkit.ci.cli import main
from hookkit.ci.shard import Plan, Shard, check_key
from hookkit.core import loader
from hookkit.core.outcome import Outcome, RunResult, Status
from hookkit.core.phases import Phase
from hookkit.core.registry import HookRegistry

HERE = Path(__file__).parent / "fixtures" / "cli"
GOOD = f"local:{HERE / 'template.yaml'}#ItemsFunction"
EVENTS = [f"e{n:02}" for n in range(9)]

CHECKS = '''from hookkit import Phase, post_traffic, pre_traffic, recorded_events


@pre_traffic
def greets(target):
    target.invoke({"name": "ci"}).expect(fields={"/greeting": "hello ci"})


@pre_traffic
def greets_someone_else(target):
    target.invoke({"name": "you"}).expect(fields={"/greeting": "hello you"})


@pre_traffic
def fails_on_purpose(target):
    target.invoke({"name": "ci"}).expect(fields={"/greeting": "bonjour ci"})


@pre_traffic(blocking=False)
def optional():
    return False


@post_traffic
def item_answers(api):
    api.get("/items/42").expect(status=200, fields={"/itemId": "42"})


recorded_events("events", phase=Phase.BEFORE_ALLOW_TRAFFIC)
'''


pytestmark = pytest.mark.usefixtures("fresh_default_registry")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "events").mkdir()
    for name in EVENTS:
        (tmp_path / "events" / f"{name}.json").write_text(json.dumps({"name": name}))
        (tmp_path / "events" / f"{name}.expect.json").write_text(json.dumps({"fields": {"/greeting": f"hello {name}"}}))
    (tmp_path / "checks.py").write_text(CHECKS)
    return tmp_path


def run(checks: Path, *args: str) -> int:
    """One job of the matrix: a process of its own would start with an empty registry."""
    default_registry._checks.clear()
    loader._by_path.clear()
    return main(["run", str(checks), "--target", GOOD, "--api", "local", *map(str, args)])


def names(report: Path) -> list[str]:
    return [c["name"] for p in json.loads(report.read_text())["phases"] for c in p["checks"]]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_the_jobs_of_a_matrix_run_every_check_exactly_once_and_merge_into_the_whole_run(
    project: Path, capsys, count: int
) -> None:
    whole = project / "whole.json"
    assert run(project / "checks.py", "--json", whole) == 1
    shares = []
    for index in range(1, count + 1):
        out = project / f"shard-{index}.json"
        run(project / "checks.py", "--shard", f"{index}/{count}", "--json", out)
        shares.append(names(out))
        assert json.loads(out.read_text())["run"]["shard"] == f"{index}/{count}"
    everything = [name for share in shares for name in share]
    assert sorted(everything) == sorted(names(whole)) and len(everything) == len(set(everything)) == 14
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    capsys.readouterr()
    merged = project / "merged.json"
    assert main(["merge", str(merged), *(str(project / f"shard-{i}.json") for i in range(1, count + 1))]) == 1
    got, want = json.loads(merged.read_text()), json.loads(whole.read_text())
    assert names(merged) == names(whole)  # declaration order, as one run
    assert [(p["phase"], p["verdict"], p["reason"]) for p in got["phases"]] == [
        (p["phase"], p["verdict"], p["reason"]) for p in want["phases"]
    ]
    assert [c["status"] for p in got["phases"] for c in p["checks"]] == [
        c["status"] for p in want["phases"] for c in p["checks"]
    ]
    assert got["run"]["plan"] == want["run"]["plan"] and got["run"]["shard"] is None
    assert "BeforeAllowTraffic: Failed - 1 of 12 blocking check(s) did not pass: fails_on_purpose" in \
        capsys.readouterr().out


def test_a_shard_holding_only_non_blocking_checks_of_a_phase_does_not_fail_it() -> None:
    registry = HookRegistry()
    registry.pre_traffic(lambda: None, name="blocking")
    registry.pre_traffic(lambda: False, name="optional", blocking=False)
    checks = {Phase.BEFORE_ALLOW_TRAFFIC: registry.checks("pre")}
    for index in (1, 2):
        plan = Plan.of(checks, Shard(index, 2))
        (only,) = plan.share(Phase.BEFORE_ALLOW_TRAFFIC)
        status = Status.PASSED if only.blocking else Status.FAILED
        result = RunResult.from_outcomes(
            Phase.BEFORE_ALLOW_TRAFFIC, [Outcome(only.name, only.phase, status, blocking=only.blocking)]
        )
        judged = plan.judge(result)
        assert judged.verdict.value == "Succeeded", judged.reason
        assert judged.reason.startswith(f"shard {index}/2: ")


def test_the_share_depends_on_the_check_alone_not_on_registration_order_or_hash_seeds(tmp_path: Path) -> None:
    checks = tmp_path / "checks.py"
    checks.write_text(
        "from hookkit import pre_traffic\n\n"
        "for name in {'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'}:\n"
        "    pre_traffic(name=name)(lambda: None)\n"
    )
    seen = {}
    for seed in ("0", "1", "2", "3"):
        out = tmp_path / f"{seed}.json"
        done = subprocess.run(
            [sys.executable, "-m", "hookkit", "run", str(checks), "--shard", "2/3", "--json", str(out)],
            capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(out.read_text())
        seen[seed] = (sorted(names(out)), report["run"]["plan"],
                      [c["position"] for p in report["phases"] for c in p["checks"]])
    assert len({(tuple(share), plan) for share, plan, _ in seen.values()}) == 1
    assert len({tuple(positions) for *_, positions in seen.values()}) > 1  # the declaration order did change


def test_the_deal_is_sha256_of_phase_and_name() -> None:
    """Pinned: a different digest would send checks to other shards on machines with another hookkit."""
    assert check_key(Phase.BEFORE_ALLOW_TRAFFIC, "greets") == (
        "2f556a7043778eea7edbb7382d75f579bf63b2f281792e655ec6e4936ba38185"
    )
    registry = HookRegistry()
    for name in ("a", "b", "c", "d", "e", "f", "g"):
        registry.pre_traffic(lambda: None, name=name)
    plans = [Plan.of({Phase.BEFORE_ALLOW_TRAFFIC: registry.checks("pre")}, Shard(i, 3)) for i in (1, 2, 3)]
    ranked = sorted("abcdefg", key=lambda n: check_key(Phase.BEFORE_ALLOW_TRAFFIC, n))
    assert [sorted(name for _, name in plan.mine) for plan in plans] == [
        sorted(ranked[0::3]), sorted(ranked[1::3]), sorted(ranked[2::3])
    ]


def test_a_shard_reads_only_its_own_recorded_events(project: Path, capsys) -> None:
    (project / "events" / "e04.json").write_text('{"name": ')  # broken: whoever reads it must stop
    codes = {}
    for index in (1, 2, 3):
        codes[index] = run(project / "checks.py", "--shard", f"{index}/3", "--json", project / f"{index}.json")
        out, err = capsys.readouterr()
        if codes[index] == 2:
            assert "e04.json: line 1, column 10" in err and out == ""  # refused before anything ran
    assert sorted(codes.values()).count(2) == 1, codes  # one shard owns the event; the others never opened it
    assert run(project / "checks.py") == 2  # and a run of everything reads it


def test_more_jobs_than_checks_leaves_some_jobs_with_an_empty_share(tmp_path: Path, capsys) -> None:
    checks = tmp_path / "checks.py"
    checks.write_text("from hookkit import pre_traffic\n\n@pre_traffic\ndef only():\n    pass\n")
    reports = []
    for index in (1, 2, 3):
        reports.append(tmp_path / f"{index}.json")
        default_registry._checks.clear()
        loader._by_path.clear()
        assert main(["run", str(checks), "--shard", f"{index}/3", "--json", str(reports[-1])]) == 0
    assert "has none of the run's 1 check(s) to run" in capsys.readouterr().err
    assert main(["merge", str(tmp_path / "all.json"), *map(str, reports)]) == 0
    assert names(tmp_path / "all.json") == ["only"]


def test_junit_reports_of_a_matrix_with_an_empty_share_merge(tmp_path: Path, capsys) -> None:
    """The GitLab example (--junit-xml per job) with more jobs than checks: the empty report completes the set."""
    checks = tmp_path / "checks.py"
    checks.write_text("from hookkit import post_traffic, pre_traffic\n\n@pre_traffic\ndef one():\n    pass\n\n"
                      "@post_traffic\ndef two():\n    pass\n")
    reports = []
    for index in (1, 2, 3):
        reports.append(tmp_path / f"{index}.xml")
        default_registry._checks.clear()
        loader._by_path.clear()
        assert main(["run", str(checks), "--shard", f"{index}/3", "--junit-xml", str(reports[-1])]) == 0
    empty = [r for r in reports if ET.parse(r).getroot().get("tests") == "0"]
    assert len(empty) == 1
    properties = {p.get("name"): p.get("value") for p in ET.parse(empty[0]).getroot().iter("property")}
    assert properties["hookkit.checks"] == "2" and properties["hookkit.shard"].endswith("/3")
    capsys.readouterr()
    merged = tmp_path / "all.xml"
    assert main(["merge", str(merged), *map(str, reports)]) == 0, capsys.readouterr().err
    assert sorted(c.get("name") for c in ET.parse(merged).getroot().iter("testcase")) == ["one", "two"]


@pytest.fixture
def shards(project: Path) -> list[Path]:
    made = []
    for index in (1, 2, 3):
        made.append(project / f"shard-{index}.json")
        run(project / "checks.py", "--shard", f"{index}/3", "--json", made[-1],
            "--junit-xml", project / f"shard-{index}.xml")
    return made


@pytest.mark.parametrize("mistake, fragment", [
    (lambda s, p: [s[0], s[1]], "shard(s) 3 of 3 missing"),
    (lambda s, p: [s[0], s[1], s[1], s[2]], "are both shard 2/3"),
    (lambda s, p: [s[0], s[1], p / "other.json"], "come from different runs"),
    (lambda s, p: [s[0], s[1], p / "of-two.json"], "split the run differently"),
    (lambda s, p: [s[0], p / "checks.py"], "is not a report hookkit run wrote"),
    (lambda s, p: [s[0], p / "nowhere.json"], "cannot read"),
])
def test_merge_refuses_what_would_not_make_the_run_exactly_once(project, shards, capsys, mistake, fragment) -> None:
    (project / "other.py").write_text(CHECKS + "\n\n@pre_traffic\ndef one_more():\n    pass\n")
    run(project / "other.py", "--shard", "3/3", "--json", project / "other.json")
    run(project / "checks.py", "--shard", "2/2", "--json", project / "of-two.json")
    capsys.readouterr()
    code = main(["merge", str(project / "merged.json"), *map(str, mistake(shards, project))])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("hookkit: error: merge: ") and fragment in err, err
    assert not (project / "merged.json").exists()


def test_merge_refuses_to_overwrite_an_input(shards, capsys) -> None:
    before = shards[0].read_text()
    capsys.readouterr()
    assert main(["merge", str(shards[0]), *map(str, shards)]) == 2
    assert "is both the output and an input" in capsys.readouterr().err
    assert shards[0].read_text() == before


def test_junit_reports_of_the_shards_merge_into_one_in_declaration_order(project, shards, capsys) -> None:
    assert main(["run", str(project / "checks.py"), "--target", GOOD, "--api", "local",
                 "--junit-xml", str(project / "whole.xml")]) == 1
    merged = project / "merged.xml"
    capsys.readouterr()
    assert main(["merge", str(merged), *(str(project / f"shard-{i}.xml") for i in (1, 2, 3))]) == 1

    def cases(path: Path) -> list[tuple[str, str, str | None, str | None]]:
        found = []
        for case in ET.parse(path).getroot().iter("testcase"):
            outcome = next((child.tag for child in case if child.tag != "properties"), "passed")
            found.append((case.get("name"), outcome, case.get("file"), case.get("line")))
        return found

    assert cases(merged) == cases(project / "whole.xml")
    suites = ET.parse(merged).getroot().findall("testsuite")
    assert [(s.get("name"), s.get("tests"), s.get("failures")) for s in suites] == [
        ("BeforeAllowTraffic", "13", "2"), ("AfterAllowTraffic", "1", "0")
    ]
    failure = next(c for c in ET.parse(merged).getroot().iter("testcase") if c.get("name") == "fails_on_purpose")
    assert failure.find("failure").text.count('/greeting: expected "bonjour ci", got "hello ci"') == 1


def test_a_merged_run_exits_2_when_a_shard_met_a_configuration_error(project, capsys) -> None:
    (project / "checks.py").write_text(CHECKS + "\n\n@pre_traffic\ndef needs_current(target):\n"
                                                "    target.compare({'name': 'ci'})\n")
    reports = [project / f"{i}.json" for i in (1, 2)]
    for index, report in enumerate(reports, 1):
        run(project / "checks.py", "--shard", f"{index}/2", "--json", report)
    capsys.readouterr()
    assert main(["merge", str(project / "all.json"), *map(str, reports)]) == 2
    assert "check 'needs_current' (BeforeAllowTraffic, " in capsys.readouterr().err
