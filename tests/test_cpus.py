"""How many CPUs a run may use: those it may run on, fewer when its container's quota says so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hookkit.core import cpus
from hookkit.core.cpus import cpu_quota, usable_cpus


@pytest.mark.parametrize(("files", "quota"), [
    ({"cpu.max": "200000 100000\n"}, 2.0),                      # cgroup v2: two CPUs' worth
    ({"cpu.max": "max 100000\n"}, None),                        # v2, unlimited
    ({"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1.5),  # v1
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),     # v1, unlimited
    ({}, None),                                                   # no cgroup files: not a container
])
def test_a_containers_cpu_quota_is_read_from_its_cgroup(tmp_path: Path, files: dict[str, str], quota: float) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cpu_quota(tmp_path) == quota


def test_no_more_cpus_than_the_quota_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpus, "cpu_quota", lambda: 1.5)
    visible = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert usable_cpus() == min(2, visible or 1)
    monkeypatch.setattr(cpus, "cpu_quota", lambda: 0.5)
    assert usable_cpus() == 1
