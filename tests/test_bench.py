"""The benchmark harness: its table, and a tiny CI replay, so ``make bench`` cannot rot unnoticed."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def bench(monkeypatch_module: pytest.MonkeyPatch):
    monkeypatch_module.syspath_prepend(str(BENCH))
    import harness
    import replay

    return harness, replay


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_table_lines_up_and_marks_each_target(bench) -> None:
    harness, _ = bench
    rows = [
        harness.Row("a figure", "1.0 ms", "2.0 ms", "0.50", "<= 1.5", True),
        harness.Row("  an aside", "10 ms", "", "", "", None),
        harness.Row("a miss", "3.0 s", "1.0 s", "3.00", "<= 1.5", False),
    ]
    assert harness.table(rows).splitlines() == [
        "figure      hookkit  baseline  ratio  target  result",
        "----------  -------  --------  -----  ------  ------",
        "a figure     1.0 ms    2.0 ms   0.50  <= 1.5  pass",
        "  an aside    10 ms",
        "a miss        3.0 s     1.0 s   3.00  <= 1.5  MISS",
    ]
    assert harness.table(rows, markdown=True).splitlines()[2] == "| a figure | 1.0 ms | 2.0 ms | 0.50 | <= 1.5 | pass |"
    assert (harness.ratio(3, 2), harness.ratio(300, 2), harness.ratio(1, 0)) == ("1.50", "150", "-")


def test_a_tiny_ci_replay_runs_both_sides_on_the_same_events(bench) -> None:
    _, replay = bench
    steps: list[str] = []
    rows = replay.run(steps.append, events=6, rounds=1)
    assert [row.figure for row in rows] == [
        "CI replay: 6 events, hookkit run (one command) vs bare loop (wall)",
        "CI replay throughput",
        "CI replay CPU time per event, every process",
        "local environment: cold start, first call answered (wall)",
        "local environment: a warm call vs the handler called in-process",
        "  overhead of a warm call (pipe round trip, log, context)",
    ]
    assert rows[0].target == "<= 1.0"  # six events measure start-up, not throughput: no verdict here
    assert all(float(row.hookkit.split()[0].replace(",", "")) > 0 for row in (rows[2], rows[3], rows[4]))
    assert steps == [
        "CI replay: writing 6 recorded events",
        "CI replay: warm-up (hookkit)",
        "CI replay: warm-up (baseline)",
        "CI replay: round 1/1 (hookkit)",
        "CI replay: round 1/1 (baseline)",
        "environment cold start: warm-up (environment)",
        "environment cold start: warm-up (fresh process)",
        "environment cold start: round 1/1 (environment)",
        "environment cold start: round 1/1 (fresh process)",
        "environment warm call: warm-up (warm call)",
        "environment warm call: warm-up (direct)",
        "environment warm call: round 1/1 (warm call)",
        "environment warm call: round 1/1 (direct)",
    ]


def test_the_replay_profile_times_every_stage() -> None:
    import re
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(BENCH / "replay_stages.py"), "10"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    stages = re.findall(r"^  (bare loop|hookkit|environment): .*?\s+(\d+\.\d)$", done.stdout, re.MULTILINE)
    assert [side for side, _ in stages] == ["bare loop"] * 3 + ["hookkit"] * 7 + ["environment"] * 2
    assert all(float(value) > 0 for _, value in stages[3:10])  # hookkit's stages are measured, never zero
    assert float(stages[-1][1]) > 0  # a round trip's wall time (an environment's CPU is counted in clock ticks)


def test_a_tiny_supervisor_benchmark_times_both_isolations(bench) -> None:
    import supervisor

    steps: list[str] = []
    [row] = supervisor.run(steps.append, rounds=1, deliveries=2, sizes=(10,))
    assert row.figure == "supervisor: a delivery with 10 trivial check(s), child process / threads"
    assert row.target == "<= +10 ms"  # judged at 10 checks (whether it passes is the benchmark's to say)
    assert all(float(value.split()[0]) > 0 for value in (row.hookkit, row.baseline))
    assert steps == [f"supervisor, 10 check(s): {step}" for step in (
        "warm-up (process)", "warm-up (thread)", "round 1/1 (process)", "round 1/1 (thread)")]
