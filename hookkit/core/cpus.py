"""How many CPUs this process may really use, for sizing work that runs in parallel processes."""

from __future__ import annotations

import contextlib
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


_before_pin: frozenset[int] | None = None


def pin_to_one() -> int | None:
    """Keep this process, every thread it has and will start, on one of the CPUs it may use.

    Python runs one thread at a time, so a process that hands work from thread to thread loses
    nothing by staying on one CPU, and gains: waking a thread on the CPU that is running the
    waker is cheap, waking it on another CPU is not (most of all on virtual machines, where an
    idle CPU must be woken by the host). Processes started afterwards inherit the pin;
    :func:`cpus_before_pin` is the set to give them back. Returns the CPU, or None where the
    system does not allow pinning (then nothing changed). The CPU is chosen by process id, so
    that runs started side by side do not all pick the same one.
    """
    global _before_pin
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = frozenset(os.sched_getaffinity(0))
    cpu = sorted(allowed)[os.getpid() % len(allowed)]
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    try:
        for thread in threads:
            os.sched_setaffinity(thread, {cpu})
    except OSError:  # a sandbox that forbids it: put back what was changed
        for thread in threads:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(thread, allowed)
        return None
    _before_pin = _before_pin or allowed
    return cpu


def cpus_before_pin() -> frozenset[int] | None:
    """The CPUs this process could use before :func:`pin_to_one`; None if it was never pinned."""
    return _before_pin
