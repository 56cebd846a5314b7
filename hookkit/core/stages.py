"""Checks that can run without a thread of their own, for runs of thousands of them.

Most checks are plain functions: the runner calls each on a worker thread, which waits on the
network (or a local environment) while others run. A check whose attempt is one request to a
process of hookkit's making and one look at its answer (a recorded event replayed against a
local target) can do better: the runner's own thread sends the request, waits on every such
request's pipe at once, and judges each answer as it comes, with no thread to wake per check.

Such a check object has a ``begin(notify, **resources)`` method (see :class:`Stageable`) that
returns a :class:`Stage`, or ``None`` when this attempt cannot run that way (it would wait on
something other than a pipe, such as a process starting): the runner then calls the check on a
thread as usual. Its timeout, retries, the run's deadline and the outcome it comes to are the
same either way. The runner only stages checks when the run's resources are made without
waiting (``run_checks(..., staged=True)``, as ``hookkit run`` does), since ``begin`` is given
them in the runner's own thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Unstaged(Exception):
    """Raised by a stage that cannot go on without a thread; it has sent nothing, and its attempt
    runs the usual way, from the start."""


class Stage(Protocol):
    """One attempt of a check under way, driven by the runner's thread; no method may block.

    The runner waits until :meth:`fileno` is readable or :attr:`wake_at` (monotonic) has come,
    then calls :meth:`step`. A stage whose :meth:`fileno` is ``None`` waits for something else
    (its turn for a local environment): it calls the ``notify`` given to ``begin`` when that
    changes, from whichever thread changed it.
    """

    @property
    def wake_at(self) -> float:
        """When :meth:`step` must be called even if nothing is readable (a timeout)."""
        ...

    def fileno(self) -> int | None:
        """The file descriptor this stage waits on, or ``None`` (until its ``notify`` is called)."""
        ...

    def step(self, readable: bool) -> bool:
        """Go on as far as possible without blocking; True once the attempt has come to an end."""
        ...

    def result(self) -> Any:
        """What the check returns, or raises what it raises, once :meth:`step` said it ended."""
        ...

    def cancel(self) -> None:
        """Abandon the attempt (its timeout or the run's deadline came): release what it holds."""
        ...


class Stageable(Protocol):
    """A check object that can begin an attempt as a :class:`Stage` rather than be called."""

    def begin(self, notify: Callable[[], None], /, **resources: Any) -> Stage | None: ...
