"""``hookkit run --jobs N``: a run split over processes reports exactly as one process would."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hookkit.ci.cli import build_parser, main
from hookkit.ci.split import cpu_quota, usable_cpus

HERE = Path(__file__).parent / "fixtures" / "cli"
TEMPLATE = HERE / "template.yaml"
GOOD = f"local:{TEMPLATE}#ItemsFunction"
BAD = f"local:{TEMPLATE}#ItemsFunction@{HERE / 'bad'}"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["run", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def replay_folder(tmp_path: Path, names: list[str]) -> Path:
    """A checks file replaying one event per name against ItemsFunction, each expecting its greeting."""
    events = tmp_path / "events"
    events.mkdir()
    for name in names:
        (events / f"{name}.json").write_text(json.dumps({"name": name}))
        (events / f"{name}.expect.json").write_text(json.dumps({"fields": {"/greeting": f"hello {name}"}}))
    (tmp_path / "checks.py").write_text(
        "from hookkit import pre_traffic, recorded_events\n\n"
        "recorded_events('events')\n\n\n"
        "@pre_traffic\ndef declared_after_the_events(target):\n"
        "    target.invoke({'name': 'x'}).expect(fields={'/greeting': 'hello x'})\n"
    )
    return tmp_path / "checks.py"


def test_a_split_run_reports_every_check_in_declaration_order(capsys, tmp_path) -> None:
    names = [f"event_{n}" for n in range(7)]
    checks = replay_folder(tmp_path, names)
    report = tmp_path / "out.json"
    code, out, err = run(capsys, checks, "--target", GOOD, "--phase", "pre", "--jobs", "3", "--json", report)

    assert code == 0, out + err
    assert "BeforeAllowTraffic: Succeeded - all 8 blocking check(s) passed" in out
    assert "8/8 checks done" in err
    assert err.count("hookkit: warning:") == 1  # each process warns; the warning is shown once
    (phase,) = json.loads(report.read_text())["phases"]
    assert [c["name"] for c in phase["checks"]] == [f"events/{n}" for n in names] + ["declared_after_the_events"]


def test_a_split_run_fails_as_one_process_would_with_the_same_junit_report(capsys, tmp_path) -> None:
    checks = HERE / "checks.py"
    reports = {}
    for jobs in ("1", "2"):
        junit = tmp_path / f"junit-{jobs}.xml"
        code, out, _ = run(capsys, checks, "--target", BAD, "--current", GOOD, "--api", "local",
                           "--jobs", jobs, "--junit-xml", junit)
        assert code == 1
        assert "BeforeAllowTraffic: Failed" in out and "AfterAllowTraffic: Failed" in out
        reports[jobs] = [
            (case.get("name"), [re.sub(r"in \d+ ms", "in N ms", f.get("message")) for f in case.findall("failure")])
            for case in ET.parse(junit).getroot().iter("testcase")
        ]
    assert reports["1"] == reports["2"]
    assert any(failures for _, failures in reports["2"])


def test_a_broken_event_in_one_share_is_a_configuration_error_named_once(capsys, tmp_path) -> None:
    checks = replay_folder(tmp_path, ["a", "b", "c"])
    (tmp_path / "events" / "b.json").write_text('{"name":\n  oops}')
    code, out, err = run(capsys, checks, "--target", GOOD, "--jobs", "2")

    assert code == 2 and out == ""
    assert err.count("b.json: line 2") == 1, err


def test_a_configuration_error_every_share_meets_is_shown_once(capsys, tmp_path) -> None:
    code, _, err = run(capsys, HERE / "checks.py", "--target", f"local:{TEMPLATE}#NoSuchFunction", "--jobs", "2")
    assert code == 2
    assert err.count("hookkit: error:") == 1 and "NoSuchFunction" in err


def test_a_share_that_dies_fails_the_run_naming_the_process(capsys, tmp_path) -> None:
    checks = tmp_path / "checks.py"
    checks.write_text(
        "import os\nfrom hookkit import pre_traffic\n\n"
        "@pre_traffic\ndef fine():\n    pass\n\n"
        "@pre_traffic\ndef kills_its_process():\n    os._exit(3)\n"
    )
    code, out, err = run(capsys, checks, "--jobs", "2")
    assert code == 2 and out == ""
    assert "process 2 of 2 ended with exit code 3 before finishing its checks" in err


def test_no_checks_in_any_share_is_a_usage_error(capsys, tmp_path) -> None:
    checks = tmp_path / "checks.py"
    checks.write_text("from hookkit import pre_traffic\n\n@pre_traffic\ndef a():\n    pass\n")
    code, _, err = run(capsys, checks, "--phase", "post", "--jobs", "2")
    assert code == 2 and "declares no checks for --phase post" in err


def test_jobs_is_a_positive_number_or_auto(capsys) -> None:
    assert build_parser().parse_args(["run", "c.py", "--jobs", "auto"]).jobs == usable_cpus() >= 1
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["run", "c.py", "--jobs", "0"])
    assert info.value.code == 2 and "pass 1 or more, or auto" in capsys.readouterr().err


def test_a_difference_that_cannot_be_pickled_still_reaches_the_report(capsys, tmp_path) -> None:
    checks = tmp_path / "checks.py"
    checks.write_text(
        "import threading\nfrom hookkit import Difference, ExpectationFailed, pre_traffic\n\n"
        "@pre_traffic\ndef odd_difference():\n"
        "    raise ExpectationFailed('odd', [Difference('/lock', 1, threading.Lock())])\n"
    )
    report = tmp_path / "out.json"
    code, _, err = run(capsys, checks, "--jobs", "2", "--json", report)
    assert code == 1, err
    (check,) = json.loads(report.read_text())["phases"][0]["checks"]
    assert check["differences"][0]["path"] == "/lock" and "lock" in check["differences"][0]["actual"]


@pytest.mark.parametrize(("files", "quota"), [
    ({"cpu.max": "200000 100000\n"}, 2.0),                      # cgroup v2: two CPUs' worth
    ({"cpu.max": "max 100000\n"}, None),                        # v2, unlimited
    ({"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1.5),  # v1
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),     # v1, unlimited
    ({}, None),                                                   # no cgroup files: not a container
])
def test_a_containers_cpu_quota_is_read_from_its_cgroup(tmp_path, files, quota) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cpu_quota(tmp_path) == quota


def test_auto_uses_no_more_processes_than_the_quota_allows(monkeypatch) -> None:
    import hookkit.ci.split as split

    monkeypatch.setattr(split, "cpu_quota", lambda: 1.5)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert split.usable_cpus() == min(2, cpus)
    monkeypatch.setattr(split, "cpu_quota", lambda: 0.5)
    assert split.usable_cpus() == 1


def test_a_share_runs_unpinned_where_pinning_is_forbidden(monkeypatch) -> None:
    import hookkit.ci.split as split

    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity on this system")

    def forbidden(pid, cpus):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setaffinity", forbidden)
    split._pin(0)  # returns: pinning only speeds a share up
