"""The HTTP servers a rehearsal runs on 127.0.0.1 (the AWS stand-ins, the local API): one base."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer(ThreadingHTTPServer):
    """A threading server on a free port of 127.0.0.1, whose request threads never hold up the exit.

    A client that hangs up mid-request (a hook's process killed at its timeout, as Lambda ends it)
    is part of a rehearsal, not an error of the server's: its connection error is not printed as a
    traceback. Anything else still is.
    """

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # reset, broken pipe, aborted
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serving(server: LocalServer) -> Iterator[LocalServer]:
    """Serve for the ``with`` block on a thread of its own."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                              name="hookkit-simulate-server")
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
