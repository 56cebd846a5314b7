"""How many CPUs this process may really use, for sizing work that runs in parallel processes."""

from __future__ import annotations

import math
import os
from pathlib import Path


def usable_cpus() -> int:
    """The CPUs this process may use: those it may run on, fewer when its container's quota says so.

    A CI container often sees every CPU of its host but may use two of them; a process per
    visible CPU would then queue dozens of processes on those two.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    quota = cpu_quota()
    return max(1, min(cpus, math.ceil(quota))) if quota else cpus


def cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPUs' worth of time this container may use (cgroup v2, else v1); None if unlimited or unknown."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        return int(quota) / int(period) if int(quota) > 0 else None
    except (ValueError, ZeroDivisionError):  # "max": no quota
        return None

