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
from .environment import Environment, EnvironmentGone, encode_request

#: Requests that may wait in one environment's pipe behind the call it serves, when its requests are
#: quick (``Environment.quick``; else one), and all of them within ``environment.AHEAD_BYTES``. Enough
#: that an environment seldom runs out of work and goes to sleep while hookkit's thread judges the
#: answers of others: waking it costs both processes CPU time. Slow requests gain nothing from it,
#: and each waiting request would wait behind the others' whole time.
AHEAD = 4


class Request(NamedTuple):
    request_id: str
    arn: str
    payload: bytes
    tail: int


class Ticket:
    """A call waiting for an environment; it is handed one with its request already sent, or a
    place to start one in. ``notify``, when given, is called once it has been handed over.

    Its request may have been sent ahead (``ahead``: to that environment, behind the call it
    serves and perhaps others sent ahead before it); it is handed that environment when the calls
    before it have ended. ``withdrawn``: its caller gave up while its request was in that pipe.
    """

    __slots__ = ("ahead", "data", "environment", "given", "handed", "notify", "request", "sent", "withdrawn")

    def __init__(self, request: Request, data: bytes, notify: Callable[[], None] | None = None) -> None:
        self.request = request
        self.data = data
        self.notify = notify
        self.environment: Environment | None = None
        self.ahead: Environment | None = None
        self.sent = 0.0
        self.given = False
        self.withdrawn = False
        self.handed = threading.Lock()
        self.handed.acquire()


class Pool:
    """One function's environments: idle ones, calls waiting for one, and how many exist.

    No environment serves two calls at once. A call that finds every environment busy (and no
    room to start another) waits its turn. Its request is sent ahead into the pipe of the serving
    environment with the fewest waiting there (up to :data:`AHEAD` of them while its requests are
    quick, else one): the environment reads
    each as soon as it has answered the one before, and never sleeps between them (waking a process
    that went to sleep costs it more than the request's own work, measured in
    ``bench/replay_stages.py``). A request starts then, with the whole of its time; its call is handed
    the environment when the calls before it in that pipe have been answered, so calls begun without a
    thread (:meth:`~hookkit.local.invoker.LocalInvoker.begin`) must all be driven at once, as the
    runner does. Otherwise the call that ends with an environment sends the next waiting requests to
    it before handing it over. Requests in the pipe of an environment that ended never ran: their
    calls are first in line again. Holds no reference to its invoker, so an invoker nobody uses any
    more is collected and its environments closed.
    """

    def __init__(self, size: int, timeout: float) -> None:
        self.size = size
        self._timeout_ms = round(timeout * 1000)  # the function's: the context's deadline is its start plus this
        self._idle: list[Environment] = []
        self._waiting: collections.deque[Ticket] = collections.deque()
        #: environments serving a call: the calls whose requests wait in their pipes, in order
        self._serving: dict[Environment, collections.deque[Ticket]] = {}
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
                    ticket = self._line_up(request, None)
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
                    return None, 0.0, self._line_up(request, notify)
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
            if ticket.ahead is not None:
                if ticket not in self._serving.get(ticket.ahead, ()):
                    return False
                ticket.withdrawn = True  # its request is in the pipe: the environment goes when it is read
                return True
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
        """Send ``request`` to an environment that serves no call; when, on the monotonic clock."""
        return self._send(environment, self._encode(request))

    def release(self, environment: Environment | None) -> None:
        """After a call: the first call sent ahead to its environment gets it; else the environment (or,
        if it ended, its place) goes to the next waiting call, else idles."""
        if environment is not None:
            with self._lock:
                behind = self._serving.pop(environment, None) or collections.deque()
                ahead = behind.popleft() if behind else None
            if ahead is not None and ahead.withdrawn:  # its request would run with nobody to read the answer
                environment.close()
                with self._lock:
                    self._line_again(behind)
            elif ahead is not None:
                self._hand_ahead(environment, ahead, behind)
                return
        self._pass_on(environment if environment is not None and environment.alive else None)

    def _hand_ahead(self, environment: Environment, ticket: Ticket, behind: collections.deque[Ticket]) -> None:
        """The environment reads the request sent ahead now: its call has it, from now on."""
        with self._lock:
            if environment.alive:  # else the place passes on: the call starts an environment
                # Its request started when it was in the pipe and the call before had been answered:
                # timed from then, not from now (hookkit may read that answer late), it gets no more
                # than its Timeout.
                ticket.environment, ticket.sent = environment, max(ticket.sent, environment.answered_at)
                self._serving[environment] = behind
                self._send_ahead(environment)
            else:
                self._line_again(behind)
        self._hand(ticket)

    def _pass_on(self, environment: Environment | None) -> None:
        """An environment serving nothing (or, when None, the place of one that ended) to the next call in line."""
        with self._lock:
            ticket = self._waiting.popleft() if self._waiting else None
            if ticket is None:
                if environment is not None:
                    self._idle.append(environment)
                else:
                    self._count -= 1
                return
        if environment is not None:
            try:
                ticket.sent = self._send(environment, ticket.data)
                ticket.environment = environment
            except EnvironmentGone:  # the place passes on: the waiting call starts an environment
                pass
        self._hand(ticket)

    @staticmethod
    def _hand(ticket: Ticket) -> None:
        ticket.given = True
        ticket.handed.release()
        if ticket.notify is not None:
            ticket.notify()

    def _send(self, environment: Environment, data: bytes) -> float:
        sent = environment.send(data)
        with self._lock:
            self._serving[environment] = collections.deque()
            self._send_ahead(environment)
        return sent

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

    # --- with the lock held ------------------------------------------------------------------------

    def _line_up(self, request: Request, notify: Callable[[], None] | None) -> Ticket:
        """A call in line; its request is sent ahead to the serving environment with the fewest waiting
        that takes it."""
        ticket = Ticket(request, self._encode(request), notify)
        self._waiting.append(ticket)
        for environment in sorted(self._serving, key=lambda serving: len(self._serving[serving])):
            if self._send_ahead(environment):
                break
        return ticket

    def _line_again(self, behind: collections.deque[Ticket]) -> None:
        """Calls whose requests were in the pipe of an environment that ended: first in line again (their
        requests never ran), but for those given up meanwhile."""
        for ticket in reversed(behind):
            if not ticket.withdrawn:
                ticket.ahead = None
                self._waiting.appendleft(ticket)

    def _send_ahead(self, environment: Environment) -> bool:
        """Send waiting requests ahead to ``environment``, which serves a call, while they fit in its pipe
        (at most :data:`AHEAD` of them, or one when its requests are not quick); whether one was."""
        behind = self._serving[environment]
        limit = AHEAD if environment.quick else 1
        sent = False
        while self._waiting and len(behind) < limit and environment.alive:
            ticket = self._waiting[0]
            if not environment.fits_ahead(ticket.data) or not environment.send_ahead(ticket.data):
                break
            self._waiting.popleft()
            ticket.ahead, ticket.sent = environment, time.monotonic()
            behind.append(ticket)
            sent = True
        return sent

    def _encode(self, request: Request) -> bytes:
        return encode_request(request.request_id, request.arn, request.payload, timeout_ms=self._timeout_ms,
                              tail=request.tail)
