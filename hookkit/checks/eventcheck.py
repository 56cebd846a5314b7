"""A large replay's recorded files read on two CPUs: a helper process alongside hookkit's own.

``hookkit run`` reads every recorded event of a run strictly before its first check runs, so a
broken file stops the run (exit 2) rather than failing it halfway; for thousands of events that
reading is a good part of the run. :meth:`Helper.start` runs :mod:`.strictjson` as a program,
which reads and checks the files from the last event back while hookkit's process reads them
from the first (:func:`hookkit.checks.recorded.read_events`); where they meet, hookkit's process
takes the rest from the helper, and stops it.

What the helper hands over is the bytes it read and checked, so what was checked is what the
function receives. It hands over only files that passed: an event that is not strict JSON, or a
file it could not read, is read again in hookkit's process, which words the error. A helper that
fails to start or dies hands over nothing: nothing is lost.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence

from ..core.cpus import usable_cpus
from . import strictjson
from .eventfiles import MAX_EVENT_BYTES

#: Fewer events than this are read in hookkit's process alone: a helper's start (a Python process,
#: about 20 ms of CPU) would not pay for itself.
WORTH = 1000
_PROGRAM = os.path.abspath(strictjson.__file__)
_HEADER = strictjson.FILES.size


class Helper:
    """A running helper, and the files it has handed over: by event index, its bytes and its expect file's."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self._out = process.stdout.fileno()  # type: ignore[union-attr]
        self._pending = bytearray()
        self._files: dict[int, tuple[bytes, bytes | None]] = {}
        self._lowest = sys.maxsize  # every event from here to the last has been handed over (or refused)
        self._open = True

    @classmethod
    def start(cls, files: Sequence[tuple[str, str | None]]) -> Helper | None:
        """A helper reading ``files`` (each event's path and its expect file's, or None); None when a
        helper would not pay (few files, one CPU) or cannot start."""
        if len(files) < WORTH or os.name != "posix" or usable_cpus() < 2:
            return None
        digits = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
        with tempfile.TemporaryFile() as listing:  # its stdin: a list this long would fill a pipe
            listing.write(b"\0".join(os.fsencode(path or "") for pair in files for path in pair))
            listing.seek(0)
            try:
                process = subprocess.Popen(  # noqa: S603 - this interpreter and hookkit's own module, no shell
                    [sys.executable, "-I", "-S", _PROGRAM, str(digits), str(sys.getrecursionlimit()),
                     str(MAX_EVENT_BYTES)],
                    stdin=listing, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                )
            except OSError:  # no usable sys.executable: hookkit's process reads every file
                return None
        _on_idle_cpu(process.pid)
        os.set_blocking(process.stdout.fileno(), False)  # type: ignore[union-attr]
        return cls(process)

    def take(self, index: int) -> tuple[bytes, bytes | None] | None:
        """Event ``index``'s bytes and its expect file's (None: it has none), read and checked by the
        helper; None when the helper has not got there, or refused it: read it here."""
        if index < self._lowest:
            self._collect()
            if index < self._lowest:
                return None
        return self._files.pop(index, None)

    def _collect(self) -> None:
        """Take in what the helper has sent, without waiting (which also lets it go on writing)."""
        while self._open:
            try:
                chunk = os.read(self._out, 1 << 20)
            except BlockingIOError:
                break
            if not chunk:  # it has read every file, or died: nothing more comes
                self._open = False
                break
            self._pending += chunk
        pending, at = self._pending, 0
        view = memoryview(pending)
        while len(pending) - at >= _HEADER:
            index, flags, event_length, expect_length = strictjson.FILES.unpack_from(pending, at)
            end = at + _HEADER + event_length + expect_length
            if end > len(pending):
                break
            if flags & strictjson.STRICT:
                event_end = at + _HEADER + event_length
                expect = bytes(view[event_end:end]) if flags & strictjson.EXPECT else None
                self._files[index] = (bytes(view[at + _HEADER:event_end]), expect)
            self._lowest = index
            at = end
        view.release()
        del pending[:at]

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
