"""The rehearsal's virtual clock: virtual seconds since the deployment started.

Hook code runs in real time and cannot be sped up, so while a hook runs the clock runs at the
speed of real time. The rest of a deployment is waiting (a canary's five minutes, CodeDeploy's
hour for a hook that never reports), and that is what the clock shortens: at ``speed`` virtual
seconds per real second, or, with ``speed=None``, by jumping straight to the next thing due.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class VirtualClock:
    """Thread-safe; ``now()`` is read by the stand-ins' threads to stamp what they record."""

    def __init__(self, speed: float | None, *, real: Callable[[], float] = time.monotonic) -> None:
        if speed is not None and not speed >= 1:
            raise ValueError(f"speed must be at least 1 (real time), got {speed!r}")
        self.speed = speed
        self._real = real
        self._lock = threading.Lock()
        self._virtual = 0.0
        self._since = real()
        self._rate = 1.0

    @property
    def jumping(self) -> bool:
        return self.speed is None

    def now(self) -> float:
        with self._lock:
            return self._virtual + (self._real() - self._since) * self._rate

    def idle(self, idle: bool) -> None:
        """Run at ``speed`` while nothing real is running, at real time otherwise."""
        rate = (self.speed or 1.0) if idle else 1.0
        with self._lock:
            self._rebase()
            self._rate = rate

    def jump_to(self, moment: float) -> None:
        """Skip ahead to ``moment`` (never back)."""
        with self._lock:
            self._rebase()
            self._virtual = max(self._virtual, moment)

    def real_seconds_until(self, moment: float) -> float:
        with self._lock:
            now = self._virtual + (self._real() - self._since) * self._rate
            return max(0.0, (moment - now) / self._rate)

    def _rebase(self) -> None:
        real = self._real()
        self._virtual += (real - self._since) * self._rate
        self._since = real


def stamp(seconds: float) -> str:
    """``+05:03`` (``+1:05:03`` past an hour): how the timeline shows a virtual moment."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"+{hours}:{minutes:02d}:{secs:02d}" if hours else f"+{minutes:02d}:{secs:02d}"
