"""``hookkit run --jobs N``: one run split over N processes, reported as one.

Checks run in threads, and a local target runs its handler in-process, one call at a time: a
replay of thousands of recorded events is bound to one CPU, and every event hands work from
thread to thread, which is costly when the threads sit on different CPUs. Split, each process
imports every check and runs a share of every phase's checks (every N-th, in declaration order)
on a CPU of its own. This process starts them, shows one progress line,
and writes the one table, JUnit and JSON report a single process would, checks in declaration order.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, TextIO

from ..core.errors import ConfigurationError, Difference, HookkitError
from ..core.outcome import Outcome, RunResult, jsonable
from ..core.phases import Phase
from ..core.registry import default_registry
from .progress import Progress
from .reports import EXIT_USAGE, emit
from .run import prepare, run_command
from .wiring import parse_phases


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


# --- one share, in a process of its own ----------------------------------------------------------

def serve_share(args: argparse.Namespace, *, stderr: TextIO) -> int:
    """Run this process's share and send every outcome to the process that split the run.

    Messages, in order: ``("counts", {phase: n})`` once the checks are imported; then
    ``("outcomes", [(position, outcome), ...])`` as checks end, position being a check's place in
    its phase's declaration order; ``("phase", phase, duration_ms)`` as each phase ends; ``("done",)``.
    """
    index, count, fd = args.shard
    channel = Connection(fd, readable=False)
    _pin(index)
    try:
        wiring = prepare(args, stderr=stderr, registry=default_registry)
    except HookkitError as exc:
        print(f"hookkit: error: {exc}", file=stderr)
        return EXIT_USAGE
    mine = {phase: wiring.checks(phase)[index::count] for phase in wiring.phases}
    channel.send(("counts", {phase: len(checks) for phase, checks in mine.items()}))
    outbox = _Outbox(channel)
    for phase, checks in mine.items():
        if not checks:
            continue
        positions = {check.name: index + n * count for n, check in enumerate(checks)}
        result = wiring.run_phase(phase, checks, functools.partial(_send, outbox, positions))
        outbox.flush()
        channel.send(("phase", phase, result.duration_ms))
    channel.send(("done",))
    return 0


def _send(outbox: _Outbox, positions: dict[str, int], outcome: Outcome) -> None:
    outbox.add(positions[outcome.name], outcome)


class _Outbox:
    """Outcomes sent in batches, a few times a second: a message per check would cost a replay
    of small events as much as some of its checks, for a progress line nobody reads that fast."""

    INTERVAL = 0.1  # seconds

    def __init__(self, channel: Connection) -> None:
        self._channel = channel
        self._batch: list[tuple[int, Outcome]] = []
        self._sent = time.monotonic()

    def add(self, position: int, outcome: Outcome) -> None:
        self._batch.append((position, outcome))
        if time.monotonic() - self._sent >= self.INTERVAL:
            self.flush()

    def flush(self) -> None:
        if self._batch:
            try:
                self._channel.send(("outcomes", self._batch))  # pickled whole before anything is written
            except Exception:  # noqa: BLE001 - something a check put in a difference cannot be pickled
                self._channel.send(("outcomes", [(position, _plain(outcome)) for position, outcome in self._batch]))
            self._batch = []
        self._sent = time.monotonic()


def _pin(index: int) -> None:
    """Keep this process on one CPU of those allowed, a different one for each share.

    Handing work between threads is cheap while both sit on one CPU and slow when one has to be
    woken on another (most of all on virtual machines); with one share per CPU nothing is lost.
    """
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        with contextlib.suppress(OSError):  # a sandbox that forbids it: the share runs unpinned, only slower
            os.sched_setaffinity(0, {cpus[index % len(cpus)]})


def _plain(outcome: Outcome) -> Outcome:
    """The outcome with its differences' values made plain data, which always pickles."""
    plain = tuple(Difference(d.path, jsonable(d.expected), jsonable(d.actual)) for d in outcome.differences)
    return replace(outcome, differences=plain)


# --- the process that split the run ----------------------------------------------------------

@dataclass
class _Share:
    index: int
    process: subprocess.Popen[bytes]
    channel: Connection
    counts: dict[Phase, int] | None = None
    done: bool = False
    said_error: bool = False
    unfinished_line: bytes = b""
    durations: dict[Phase, float] = field(default_factory=dict)


def run_split(argv: list[str], args: argparse.Namespace, *, stdout: TextIO, stderr: TextIO) -> int:
    """Start ``args.jobs`` processes on shares of the checks and report their outcomes as one run."""
    if os.name != "posix":
        print("hookkit: warning: --jobs needs a POSIX system; running in one process", file=stderr)
        return run_command(args, stdout=stdout, stderr=stderr)
    shares = [_start(argv, index, args.jobs) for index in range(args.jobs)]
    try:
        return _collect(shares, args, stdout=stdout, stderr=stderr)
    finally:
        for share in shares:
            if share.process.poll() is None:
                share.process.kill()
            share.process.wait()
            share.channel.close()


def _start(argv: list[str], index: int, count: int) -> _Share:
    read, write = os.pipe()
    try:
        process = subprocess.Popen(  # noqa: S603 - this interpreter running hookkit, no shell
            [sys.executable, "-m", "hookkit", *argv, "--jobs", "1", "--shard", f"{index}/{count}/{write}"],
            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(write,),
        )
    except BaseException:
        os.close(read)
        raise
    finally:
        os.close(write)
    return _Share(index, process, Connection(read, writable=False))


def _collect(shares: list[_Share], args: argparse.Namespace, *, stdout: TextIO, stderr: TextIO) -> int:
    said: set[bytes] = set()
    waiting: dict[Any, _Share] = {}
    for share in shares:
        waiting[share.channel] = share
        waiting[share.process.stderr.fileno()] = share  # type: ignore[union-attr]
    arrived: list[tuple[Phase, int, Outcome]] = []
    progress: Progress | None = None
    failed: _Share | None = None
    while waiting:
        for ready in wait(list(waiting)):
            share = waiting[ready]
            if isinstance(ready, int):
                if not _relay(share, ready, stderr, said):
                    del waiting[ready]
                continue
            try:
                message = share.channel.recv()
            except (EOFError, OSError):
                del waiting[ready]
                if not share.done and failed is None:
                    failed = share
                    for other in shares:  # one share's configuration error is the whole run's
                        if other is not share and other.process.poll() is None:
                            other.process.terminate()
                continue
            kind = message[0]
            if kind == "counts":
                share.counts = message[1]
            elif kind == "outcomes":
                arrived.extend((outcome.phase, position, outcome) for position, outcome in message[1])
            elif kind == "phase":
                share.durations[message[1]] = message[2]
            elif kind == "done":
                share.done = True
            if progress is None and all(s.counts is not None for s in shares):
                total = sum(sum(s.counts.values()) for s in shares if s.counts is not None)
                if not total:
                    raise ConfigurationError(f"CHECKS {args.checks!r} declares no checks for --phase {args.phase}")
                progress = Progress(stderr, total=total)
            if progress is not None:
                while progress.finished < len(arrived):
                    progress.update(arrived[progress.finished][2])
    if progress is not None:
        progress.done()
    if failed is not None:
        failed.process.wait()
        if not failed.said_error:
            print(f"hookkit: error: process {failed.index + 1} of {len(shares)} ended with exit code "
                  f"{failed.process.returncode} before finishing its checks: a check or the function's "
                  "code exited or crashed the process (os._exit, a signal, a crash in an extension); its "
                  "output, if any, is above", file=stderr)
        return EXIT_USAGE
    results = []
    for phase in parse_phases(args.phase):
        outcomes = sorted((position, outcome) for p, position, outcome in arrived if p is phase)
        if any(s.counts and s.counts.get(phase) for s in shares):
            duration = max((s.durations.get(phase, 0.0) for s in shares), default=0.0)
            results.append(RunResult.from_outcomes(phase, [o for _, o in outcomes], duration_ms=duration))
    return emit(results, junit_xml=args.junit_xml, json_path=args.json, stdout=stdout, stderr=stderr)


def _relay(share: _Share, fd: int, stderr: TextIO, said: set[bytes]) -> bool:
    """Pass on what a share wrote to stderr, line by line; False once it has closed it.

    Every share imports the same checks and targets, so a warning or an error about them comes
    from each: lines of hookkit's own are passed on once.
    """
    chunk = os.read(fd, 65536)
    if chunk:
        *lines, share.unfinished_line = (share.unfinished_line + chunk).split(b"\n")
    else:
        lines, share.unfinished_line = [share.unfinished_line] if share.unfinished_line else [], b""
    for line in lines:
        if line.startswith(b"hookkit: "):
            share.said_error = share.said_error or line.startswith(b"hookkit: error:")
            if line in said:
                continue
            said.add(line)
        stderr.write(("\r\033[K" if stderr.isatty() else "") + line.decode(errors="replace") + "\n")
    stderr.flush()
    return bool(chunk)
