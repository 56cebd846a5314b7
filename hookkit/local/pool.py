"""One function's execution environments: which are idle, which calls wait for one, how many exist.

:class:`~hookkit.local.invoker.LocalInvoker` asks the pool for an environment per call and gives it
back after; the pool never lets an environment serve two calls at once, and never holds a
reference to its invoker (so an invoker nobody uses any more is collected, closing its
environments).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from ..core.errors import InvokeError
from .environment import Environment, EnvironmentGone


class Request(NamedTuple):
    request_id: str
    arn: str
    payload: bytes
    tail: int


class Ticket:
    """A call waiting for an environment; it is handed one with its request already sent, or a
    place to start one in. ``notify``, when given, is called once it has been handed over."""

    __slots__ = ("environment", "given", "handed", "notify", "request", "sent")

    def __init__(self, request: Request, notify: Callable[[], None] | None = None) -> None:
        self.request = request
        self.notify = notify
        self.environment: Environment | None = None
        self.sent = 0.0
        self.given = False
        self.handed = threading.Lock()
        self.handed.acquire()


class Pool:
    """One function's environments: idle ones, calls waiting for one, and how many exist.

    No environment serves two calls at once. A call that finds every environment busy (and no
    room to start another) waits its turn; the call that ends with an environment sends the next
    waiting request to it before handing it over, so the environment goes back to work at once
    rather than when the waiting thread gets to run. Holds no reference to its invoker, so an
    invoker nobody uses any more is collected and its environments closed.
    """

    def __init__(self, size: int, timeout: float) -> None:
        self.size = size
        self._timeout_ms = round(timeout * 1000)  # the function's: the context's deadline is its start plus this
        self._idle: list[Environment] = []
        self._waiting: collections.deque[Ticket] = collections.deque()
        self._count = 0
        self._lock = threading.Lock()

    def reserve_first(self) -> bool:
        """Room to start the first environment; False when one exists already."""
        with self._lock:
            if self._count:
                return False
            self._count += 1
            return True

    def acquire(self, request: Request, deadline: float, name: str) -> tuple[Environment | None, float]:
        """An environment with ``request`` sent to it, and when; ``(None, 0.0)``: start one for it."""
        while True:
            with self._lock:
                environment = self._idle.pop() if self._idle else None
                if environment is None:
                    if self._count < self.size:
                        self._count += 1
                        return None, 0.0
                    ticket = Ticket(request)
                    self._waiting.append(ticket)
            if environment is None:
                return self._wait(ticket, deadline, name)
            try:
                return environment, self.send(environment, request)
            except EnvironmentGone:  # it ended while idle (a thread of the function's, say): take another
                with self._lock:
                    self._count -= 1

    def try_acquire(
        self, request: Request, notify: Callable[[], None]
    ) -> tuple[Environment | None, float, Ticket | None]:
        """:meth:`acquire` without waiting: a warm environment with ``request`` sent, and when; else a
        place in line (a ticket, handed over later with ``notify``); ``(None, 0.0, None)`` when there is
        room to start another environment instead (the room is not taken)."""
        while True:
            with self._lock:
                environment = self._idle.pop() if self._idle else None
                if environment is None:
                    if self._count < self.size:
                        return None, 0.0, None
                    ticket = Ticket(request, notify)
                    self._waiting.append(ticket)
                    return None, 0.0, ticket
            try:
                return environment, self.send(environment, request), None
            except EnvironmentGone:
                with self._lock:
                    self._count -= 1

    def _wait(self, ticket: Ticket, deadline: float, name: str) -> tuple[Environment | None, float]:
        if not ticket.handed.acquire(timeout=max(0.0, deadline - time.monotonic())):
            if self.withdraw(ticket):
                raise self.busy(name)
            ticket.handed.acquire()  # handed over at this very moment
        return ticket.environment, ticket.sent

    def withdraw(self, ticket: Ticket) -> bool:
        """Take a call out of line; False when it is being handed over already."""
        with self._lock:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
                return True
            return False

    def busy(self, name: str) -> InvokeError:
        return InvokeError(
            f"{name}: all {self.size} of its local environments stayed busy for the whole time "
            f"this call had; raise the check's timeout, or run more at once (hookkit run --concurrency {self.size * 2})"
        )

    def send(self, environment: Environment, request: Request) -> float:
        return environment.send(request.request_id, request.arn, request.payload, timeout_ms=self._timeout_ms,
                                tail=request.tail)

    def release(self, environment: Environment | None) -> None:
        """After a call: the environment (or, if it ended, its place) goes to the next waiting call, else idles."""
        with self._lock:
            ticket = self._waiting.popleft() if self._waiting else None
            if ticket is None:
                if environment is not None and environment.alive:
                    self._idle.append(environment)
                else:
                    self._count -= 1
                return
        if environment is not None and environment.alive:
            try:
                ticket.sent = self.send(environment, ticket.request)
                ticket.environment = environment
            except EnvironmentGone:  # the place passes on: the waiting call starts an environment
                pass
        ticket.given = True
        ticket.handed.release()
        if ticket.notify is not None:
            ticket.notify()

    def give_back(self) -> None:
        """A place handed over without an environment, returned unused: there is room for one more."""
        with self._lock:
            self._count -= 1

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for environment in idle:
            environment.close()
