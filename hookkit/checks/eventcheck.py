"""A large replay's event files checked on two CPUs: a helper process alongside hookkit's own.

``hookkit run`` reads every recorded event of a run strictly before its first check runs, so a
broken file stops the run (exit 2) rather than failing it halfway; checking the JSON is most of
that reading. For thousands of events, :meth:`Helper.start` runs :mod:`.strictjson` as a program,
which checks the files from the last one back while hookkit's process reads them from the first
(:func:`hookkit.checks.recorded.read_events`); hookkit's process then checks only the files the
helper has not reached, and stops it.

A verdict counts only for the very bytes hookkit's process read (their CRC-32), so what was
checked is what the function receives. Only "strict JSON" verdicts are taken: a file the helper
refuses, could not read or has not reached yet is checked in hookkit's process, which words the
error. A helper that fails to start or dies is a helper with no verdicts: nothing is lost.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Sequence

from ..core.cpus import usable_cpus
from . import strictjson

#: Fewer event files than this are checked in hookkit's process alone: a helper's start (a Python
#: process, about 20 ms of CPU) would not pay for itself.
WORTH = 1000
_PROGRAM = os.path.abspath(strictjson.__file__)


class Helper:
    """A running helper and the verdicts it has sent: the index of each file found strict, with its CRC-32."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self._replies = process.stdout.fileno()  # type: ignore[union-attr]
        self._pending = b""
        self._passed: dict[int, int] = {}
        self._lowest = sys.maxsize  # every file from here to the last has its verdict
        self._open = True

    @classmethod
    def start(cls, paths: Sequence[str]) -> Helper | None:
        """A helper checking ``paths``; None when a helper would not pay (few files, one CPU) or cannot start."""
        if len(paths) < WORTH or os.name != "posix" or usable_cpus() < 2:
            return None
        digits = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
        with tempfile.TemporaryFile() as listing:  # its stdin: a list this long would fill a pipe
            listing.write(b"\0".join(os.fsencode(path) for path in paths))
            listing.seek(0)
            try:
                process = subprocess.Popen(  # noqa: S603 - this interpreter and hookkit's own module, no shell
                    [sys.executable, "-I", "-S", _PROGRAM, str(digits), str(sys.getrecursionlimit())],
                    stdin=listing, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                )
            except OSError:  # no usable sys.executable: hookkit's process checks every file
                return None
        _on_idle_cpu(process.pid)
        os.set_blocking(process.stdout.fileno(), False)  # type: ignore[union-attr]
        return cls(process)

    def collect(self) -> None:
        """Take in the verdicts that have come, without waiting (and keep the helper's pipe from filling)."""
        while self._open:
            try:
                chunk = os.read(self._replies, 65536)
            except BlockingIOError:
                return
            if not chunk:  # it has checked every file, or died: no more verdicts
                self._open = False
                return
            data = self._pending + chunk
            whole = len(data) - len(data) % strictjson.VERDICT.size
            for index, strict, crc in strictjson.VERDICT.iter_unpack(data[:whole]):
                if strict:
                    self._passed[index] = crc
                self._lowest = min(self._lowest, index)
            self._pending = data[whole:]

    def passed(self, index: int, data: bytes) -> bool:
        """Whether the helper found file ``index`` strict JSON, with these very bytes; False: check it here."""
        if index < self._lowest:
            self.collect()
        crc = self._passed.get(index)
        return crc is not None and crc == zlib.crc32(data)

    def close(self) -> None:
        """Stop the helper, done or not."""
        self._open = False
        self._process.kill()
        self._process.wait()
        self._process.stdout.close()  # type: ignore[union-attr]


def _on_idle_cpu(pid: int) -> None:
    """Let Linux run the helper only on CPU time nobody else wants (``SCHED_IDLE``): it must never take
    the CPU from hookkit's process, which reads the files meanwhile, or from the function's
    environments starting. Elsewhere (macOS), or where the system refuses, it is an ordinary process."""
    setscheduler, idle = getattr(os, "sched_setscheduler", None), getattr(os, "SCHED_IDLE", None)
    if setscheduler is not None and idle is not None:
        with contextlib.suppress(OSError):  # it ended already, or a sandbox forbids it
            setscheduler(pid, idle, os.sched_param(0))
