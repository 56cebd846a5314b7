"""Run a SAM function's own code locally, in execution environments, answering like Lambda does.

This is the CI target: the checks that guard production invoke the function's code with no AWS
and no Docker. As in Lambda, the code runs in execution environments, here worker processes
(:mod:`.environment` running :mod:`.bootstrap`): each is started on first use, where its cold
start imports the handler with the function's environment variables, in its code folder, under
the declared ``Runtime``'s Python when the machine has it; then it stays warm and serves one
request at a time. Calls that overlap start more environments, up to ``concurrency`` (the CPUs
this process may use, by default); beyond that a call waits for one to be free.

Nothing of the function's runs in hookkit's process, so nothing process-wide is swapped around a
call: hookkit's environment variables, modules and streams are its own while checks run. A call
past the function's ``Timeout`` kills its environment and answers ``Sandbox.Timedout``; a function
that ends its process (``os._exit``, a segfault) answers ``Runtime.ExitError``; the next call starts
a fresh environment either way. Answers are :class:`~hookkit.checks.invocation.Invocation` shaped
like a real ``lambda.invoke``: function errors as ``errorType``/``errorMessage`` JSON, and the log's
last 4 KB (``LogType=Tail``) with its ``START``/``END``/``REPORT`` lines.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from random import Random
from types import TracebackType
from typing import Any, NamedTuple

from ..checks.invocation import Invocation
from ..core.cpus import usable_cpus
from ..core.errors import ConfigurationError, InvokeError, TargetError
from ..core.loader import describe_failure
from ..core.redact import redact_text
from ..core.stages import Unstaged
from .bootstrap import ERROR, INVALID
from .environment import BOOTSTRAP, Environment, EnvironmentGone, EnvironmentTimedOut, InitFailed, Reply
from .intrinsics import LOCAL_ACCOUNT_ID
from .pool import Pool, Request, Ticket
from .runtime import OWN, Interpreter, code_path, fallback_warning, find_interpreter, lambda_environment
from .sam import FunctionSpec

LOG_TAIL_BYTES = 4096  # what LogType=Tail returns
#: What ``call`` passes on to the console of the function's output, at most, per call.
CONSOLE_LOG_BYTES = 64 * 1024
#: Lambda's limit for a function's initialisation; a longer Timeout raises it to the Timeout.
INIT_LIMIT = 10.0

# Interpreters that were found but did not run the bootstrap, and why: every function of a run
# that declares that Runtime then uses hookkit's own Python without trying it again.
_broken_interpreters: dict[str, str] = {}
_interpreters_lock = threading.Lock()


class FunctionError(InvokeError):
    """The function raised (or could not answer): ``error_type`` and ``body`` are Lambda's error answer."""

    def __init__(self, message: str, error_type: str, body: dict[str, Any]) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.body = body


class _Call(NamedTuple):
    """What one request came to, before it is shaped into an answer."""

    request_id: str
    answer: bytes
    function_error: str | None
    log: str  # the function's output and the runtime's lines, without START/END/REPORT
    duration_ms: float
    memory_mb: int
    init_ms: float | None  # set for the cold start's request


class LocalInvoker:
    """Invokes one build of one function in local execution environments (an
    :class:`~hookkit.checks.invocation.Invoker`).

    ``warnings`` lists what differs from Lambda (a declared ``Runtime`` this machine does not
    have, reserved variables the function sets); :meth:`close` (or leaving a ``with`` block, or
    the end of the process) stops its environments.
    """

    def __init__(
        self, spec: FunctionSpec, *, version: str = "local", concurrency: int | None = None,
        caller: Mapping[str, str] | None = None,
    ) -> None:
        if os.name != "posix":
            raise ConfigurationError(
                f"{spec.logical_id}: local targets run the function in worker processes, which need a POSIX "
                "system (Linux, macOS); run hookkit there, or against a deployed version (NAME:VERSION)"
            )
        if concurrency is not None and concurrency < 1:
            raise ConfigurationError(f"concurrency {concurrency}: a function needs at least 1 environment")
        self.spec = spec
        self.version = version
        self.concurrency = concurrency or usable_cpus()
        self.warnings: list[str] = []
        caller = dict(os.environ if caller is None else caller)  # whose credentials and endpoints it passes on
        interpreter, warning = find_interpreter(spec, caller.get("PATH"))
        with _interpreters_lock:
            if interpreter.executable in _broken_interpreters:
                interpreter, warning = OWN, fallback_warning(spec, _broken_interpreters[interpreter.executable])
        self._interpreter = interpreter
        if warning:
            self.warnings.append(warning)
        self._variables, reserved = lambda_environment(
            spec, version=version, runtime_dir=os.path.dirname(BOOTSTRAP), caller=caller
        )
        self.warnings += reserved
        self._path = code_path(spec)
        self._init_limit = max(INIT_LIMIT, spec.timeout)
        self._arns: dict[str, str] = {}
        self._pool = Pool(self.concurrency, spec.timeout)
        self._loading: tuple[Environment, Interpreter, float, float] | None = None  # begin_load's, for load
        self._loading_lock = threading.Lock()
        weakref.finalize(self, self._pool.close)

    @property
    def interpreter(self) -> Interpreter:
        """The Python the function's environments run under."""
        return self._interpreter

    # --- the Invoker interface -----------------------------------------------------------------

    def invoke(self, payload: bytes, *, qualifier: str, timeout: float) -> Invocation:
        """Run the handler with ``payload`` as the event; ``qualifier`` only has to be safe.

        ``timeout`` bounds the whole call: waiting for a free environment, a cold start, the run.
        """
        self._refuse_latest(qualifier)
        return self._invocation(self._call(payload, budget=timeout, arn=self._arn(qualifier), tail=LOG_TAIL_BYTES))

    def begin(
        self, payload: bytes, *, qualifier: str, timeout: float, notify: Callable[[], None]
    ) -> PendingInvoke | None:
        """:meth:`invoke` without a thread waiting for it: the call goes on as its caller steps it.

        The request is sent to a warm environment now, or the call takes its place in line for
        one, and ``notify`` is called (from whichever thread hands it over) once it has one. Returns
        ``None``, having done nothing, when the call would need a cold start: that waits for a
        process to start and import the handler, which only :meth:`invoke` does.

        A call in line may have its request waiting in an environment's pipe behind other calls,
        and gets that environment once their answers have been read: step every begun call of an
        invoker as its pipe (or ``notify``) says, as the runner does, never one to its end first.
        """
        self._refuse_latest(qualifier)
        if self._loading is not None:
            self.load()
        deadline = time.monotonic() + timeout
        request = Request(_request_id(), self._arn(qualifier), payload, LOG_TAIL_BYTES)
        environment, sent, ticket = self._pool.try_acquire(request, notify)
        if environment is None and ticket is None:
            return None
        return PendingInvoke(self, request, deadline, environment, sent, ticket)

    def load(self) -> None:
        """Start an environment now, which imports the handler, rather than at the first call.

        The CLI does this before running any check, so a handler that does not import is a
        configuration error (exit 2, naming the handler) rather than every check erroring. It
        waits for the cold start :meth:`begin_load` began, if it did.
        """
        self.begin_load()
        with self._loading_lock:
            loading, self._loading = self._loading, None
            if loading is None:
                return
            environment = None
            try:
                environment = self._ready(*loading, whole=True)
            finally:
                self._pool.release(environment)

    def begin_load(self) -> None:
        """Start the first environment's cold start and return at once; :meth:`load` waits for it.

        The CLI reads the recorded events meanwhile: the function imports in its process while
        hookkit works in its own.
        """
        with self._loading_lock:
            if self._loading is not None or not self._pool.reserve_first():
                return
            try:
                environment, interpreter = self._spawn()
            except BaseException:
                self._pool.give_back()
                raise
            until = time.monotonic() + self._init_limit
            self._loading = (environment, interpreter, until, until)

    def call(self, event: Any) -> Any:
        """Run the handler on an event object; return its answer decoded, raise if it failed.

        For the in-process API adapter, which turns answers and exceptions into HTTP answers
        itself. A function error raises :class:`FunctionError`, a timeout or a crash
        :class:`~hookkit.core.errors.InvokeError`. The function's output goes to hookkit's
        stderr, where a CI log shows it. Waiting for an environment and its cold start get the
        init limit on top of the function's ``Timeout``.
        """
        payload = json.dumps(event).encode()
        call = self._call(payload, budget=self._init_limit + self.spec.timeout, arn=self._arn(None),
                          tail=CONSOLE_LOG_BYTES)
        if call.log:
            sys.stderr.write(redact_text(call.log))
        if call.function_error is None:
            try:
                return json.loads(call.answer)
            except ValueError:  # a handler that returned bytes
                return call.answer
        body = json.loads(call.answer)
        error_type = str(body.get("errorType"))
        if error_type in ("Sandbox.Timedout", "Runtime.ExitError"):
            raise InvokeError(f"{self.spec.function_name}: handler {self.spec.handler}: {body.get('errorMessage')}")
        raise FunctionError(
            f"{self.spec.function_name}: handler {self.spec.handler} raised {error_type}: {body.get('errorMessage')}",
            error_type, body,
        )

    def close(self) -> None:
        """Stop this function's environments; a later call starts new ones."""
        self._pool.close()

    def __enter__(self) -> LocalInvoker:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # --- one call --------------------------------------------------------------------------------

    def _refuse_latest(self, qualifier: str) -> None:
        if qualifier == "$LATEST":
            raise TargetError(
                f"{self.spec.function_name}: qualifier '$LATEST' does not name the code under "
                "test; pass the version to check (locally, any other value runs this invoker's "
                f"build at {self.spec.code_uri})"
            )

    def _invocation(self, call: _Call) -> Invocation:
        """A call's outcome as ``lambda.invoke`` answers it (``LogType=Tail``)."""
        return Invocation(
            status_code=200,
            payload=call.answer,
            function_error=call.function_error,
            log_tail=self._log_tail(call),
            executed_version=self.version,
            duration_ms=call.duration_ms,
        )

    def _call(self, payload: bytes, *, budget: float, arn: str, tail: int) -> _Call:
        if self._loading is not None:
            self.load()
        deadline = time.monotonic() + budget
        request = Request(_request_id(), arn, payload, tail)
        environment, sent = self._pool.acquire(request, deadline, self.spec.function_name)
        cold = environment is None
        try:
            if environment is None:  # no warm one: a cold start, in this call
                try:
                    environment = self._start(deadline)
                except EnvironmentTimedOut as timed_out:  # the call's budget ran out in the cold start
                    return self._timed_out(request.request_id, budget, timed_out.output)
                sent = self._pool.send(environment, request)
            limit = max(0.0, min(self.spec.timeout, deadline - sent))
            reply = environment.receive(sent + limit)
        except EnvironmentTimedOut as timed_out:
            return self._timed_out(request.request_id, limit, timed_out.output)
        except EnvironmentGone as gone:
            return self._exited(request.request_id, gone, (time.monotonic() - sent) * 1000)
        finally:
            self._pool.release(environment)
        return self._answered(request, reply, environment.init_ms if cold else None)

    def _answered(self, request: Request, reply: Reply, init_ms: float | None) -> _Call:
        """What a reply came to; a payload the function could not even parse is refused, as Lambda does."""
        if reply.kind == INVALID:
            raise InvokeError(
                f"{self.spec.function_name}: the payload is not JSON ({reply.answer.decode(errors='replace')}); "
                "Lambda would refuse it (InvalidRequestContentException): fix the event file"
            )
        return _Call(request.request_id, reply.answer, "Unhandled" if reply.kind == ERROR else None,
                     reply.log.decode(errors="replace"), reply.duration_ms, reply.memory_mb, init_ms)

    def _timed_out(self, request_id: str, limit: float, output: bytes) -> _Call:
        message = f"Task timed out after {limit:.2f} seconds"
        log = f"{output.decode(errors='replace')}{_timestamp(time.time())} {request_id} {message}\n"
        body = {"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: {request_id} Error: {message}"}
        return _Call(request_id, json.dumps(body).encode(), "Unhandled", log, limit * 1000, 0, None)

    def _exited(self, request_id: str, gone: EnvironmentGone, duration_ms: float) -> _Call:
        reason = ("Runtime exited without providing a reason" if gone.status == "exit status 0"
                  else f"Runtime exited with error: {gone.status}")
        message = f"RequestId: {request_id} Error: {reason}"
        log = f"{gone.output.decode(errors='replace')}{message}\nRuntime.ExitError\n"
        body = {"errorType": "Runtime.ExitError", "errorMessage": message}
        return _Call(request_id, json.dumps(body).encode(), "Unhandled", log, duration_ms, 0, None)

    def _log_tail(self, call: _Call) -> str:
        rid = call.request_id
        init = f"\tInit Duration: {call.init_ms:.2f} ms" if call.init_ms is not None else ""
        text = (
            f"START RequestId: {rid} Version: {self.version}\n{call.log}END RequestId: {rid}\n"
            f"REPORT RequestId: {rid}\tDuration: {call.duration_ms:.2f} ms\tBilled Duration: "
            f"{math.ceil(call.duration_ms)} ms\tMemory Size: {self.spec.memory_size} MB\t"
            f"Max Memory Used: {call.memory_mb} MB{init}\n"
        )
        if len(text) * 4 <= LOG_TAIL_BYTES:  # short enough in any encoding
            return text
        return text.encode()[-LOG_TAIL_BYTES:].decode("utf-8", errors="ignore")

    def _arn(self, qualifier: str | None) -> str:
        """The invoked function's ARN, qualified when a version number was invoked (as Lambda shows it)."""
        key = qualifier or ""
        arn = self._arns.get(key)
        if arn is None:
            arn = f"arn:aws:lambda:{self.spec.region}:{LOCAL_ACCOUNT_ID}:function:{self.spec.function_name}"
            if key.isdigit():
                arn += f":{key}"
            self._arns[key] = arn
        return arn

    # --- environments ----------------------------------------------------------------------------

    def _start(self, deadline: float) -> Environment:
        """A new environment, its cold start done; ConfigurationError if the handler does not import.

        Raises :class:`EnvironmentTimedOut` when the cold start outlasts ``deadline`` before the
        init limit.
        """
        now = time.monotonic()
        whole = deadline - now >= self._init_limit
        environment, interpreter = self._spawn()
        return self._ready(environment, interpreter, min(now + self._init_limit, deadline), deadline, whole=whole)

    def _spawn(self) -> tuple[Environment, Interpreter]:
        """A new environment's process, started: its cold start under way."""
        interpreter = self._interpreter
        variables = dict(self._variables, AWS_LAMBDA_LOG_STREAM_NAME=_log_stream(self.version))
        environment = Environment(interpreter.executable, path=self._path, cwd=str(self.spec.code_uri), env=variables)
        return environment, interpreter

    def _ready(
        self, environment: Environment, interpreter: Interpreter, until: float, deadline: float, *, whole: bool
    ) -> Environment:
        """``environment`` once its cold start is done, by ``until``; ``whole``: that is Lambda's whole init
        limit. Another interpreter tried instead gets until ``deadline``."""
        try:
            environment.wait_ready(max(0.0, until - time.monotonic()))
        except EnvironmentGone as gone:
            if not gone.started and not interpreter.own:  # that Python cannot run the bootstrap
                self._fall_back(interpreter, gone)
                return self._start(deadline)
            raise self._init_error(gone) from None
        except InitFailed as failed:
            raise self._import_error(failed.info, interpreter) from None
        except EnvironmentTimedOut:
            if not whole:
                raise
            raise ConfigurationError(
                f"handler {self.spec.handler!r}: importing {self._expected()} did not finish within "
                f"{self._init_limit:.2f} seconds, Lambda's limit for a function's initialisation; make the "
                "module's top-level code do less"
            ) from None
        return environment

    def _fall_back(self, interpreter: Interpreter, gone: EnvironmentGone) -> None:
        said = gone.output.decode(errors="replace").strip().splitlines()[:1]
        why = f"{interpreter.executable} did not start ({': '.join([gone.status, *said])})"
        with _interpreters_lock:
            _broken_interpreters[interpreter.executable] = why
            if self._interpreter == interpreter:
                self._interpreter = OWN
                self.warnings.append(fallback_warning(self.spec, why))

    def _expected(self) -> str:
        module = self.spec.handler.rpartition(".")[0].replace("/", ".")
        return os.path.join(self.spec.code_uri, *module.split(".")) + ".py"

    def _import_error(self, info: dict[str, Any], interpreter: Interpreter) -> ConfigurationError:
        handler, root, expected = self.spec.handler, self.spec.code_uri, self._expected()
        kind = info.get("kind")
        if kind == "bad_handler":
            return ConfigurationError(
                f"handler {handler!r}: must be module.function (e.g. app.lambda_handler); fix Handler"
            )
        if kind == "missing":
            return ConfigurationError(
                f"handler {handler!r}: no module {info.get('module')!r} in {root} (expected {expected}); "
                "fix Handler or CodeUri"
            )
        if kind == "no_function":
            function = handler.rpartition(".")[2]
            return ConfigurationError(
                f"handler {handler!r}: {info.get('file') or expected} has no function {function!r}; "
                "fix Handler or define the function"
            )
        failure = describe_failure(str(info.get("type")), str(info.get("message")), info.get("where"),
                                   syntax=bool(info.get("syntax")))
        hint = "fix the function's code"
        if info.get("type") == "ModuleNotFoundError":
            from .requirements import explain_missing_module  # only when an import failed: it loads packaging

            explained = explain_missing_module(self.spec, info.get("module"), python=interpreter.executable)
            if explained is not None:
                hint = explained
            elif not interpreter.own:
                hint = (
                    f"it runs under {interpreter.executable} (Python {interpreter.version}, its Runtime): install "
                    "the function's dependencies for that Python, or build the function (sam build) and point "
                    "CodeUri at the build"
                )
        return ConfigurationError(f"handler {handler!r}: importing {expected} failed ({failure}); {hint}")

    def _init_error(self, gone: EnvironmentGone) -> ConfigurationError:
        last = gone.output.decode(errors="replace").strip().splitlines()[-1:]
        said = f": {last[0]}" if last else ""
        where = "importing " + self._expected() if gone.started else f"starting {self._interpreter.executable}"
        return ConfigurationError(
            f"handler {self.spec.handler!r}: {where} ended its process ({gone.status}{said}); fix the function's code"
        )


class PendingInvoke:
    """An invoke under way that no thread waits for (:meth:`LocalInvoker.begin`).

    It is in line for an environment until one is handed over with its request sent, then waits
    for the answer. Whoever drives it waits until :meth:`fileno` is readable (``None``: until the
    ``notify`` given to ``begin`` is called) or :attr:`wake_at` (monotonic) comes, and calls
    :meth:`step`, which never blocks. Timeouts, a function's crash and its log are those of
    :meth:`LocalInvoker.invoke`, which the same call would have answered.
    """

    __slots__ = ("_deadline", "_environment", "_invoker", "_limit", "_request", "_sent", "_ticket", "wake_at")

    def __init__(
        self, invoker: LocalInvoker, request: Request, deadline: float, environment: Environment | None, sent: float,
        ticket: Ticket | None,
    ) -> None:
        self._invoker, self._request, self._deadline, self._ticket = invoker, request, deadline, ticket
        self._environment: Environment | None = None
        self._sent = self._limit = 0.0
        self.wake_at = deadline
        if environment is not None:
            self._sending(environment, sent)

    def fileno(self) -> int | None:
        """The pipe its answer comes on; ``None`` while it waits for an environment."""
        return self._environment.replies if self._environment is not None else None

    def step(self, readable: bool) -> Invocation | None:
        """Go on without blocking (``readable``: :meth:`fileno` is); the answer once it is there.

        Raises :class:`~hookkit.core.stages.Unstaged` when its turn came with no environment (one
        ended): starting another is a cold start, for :meth:`LocalInvoker.invoke` to do.
        """
        environment = self._environment
        if environment is None:
            self._in_line()
            environment = self._environment
            if environment is None:
                return None
            readable = False  # handed over just now: its answer may have been read with the one before it
        invoker, request_id = self._invoker, self._request.request_id
        try:
            # not readable: handed over just now, or due; its answer may have come all the same
            reply = environment.receive_ready() if readable else environment.receive_come()
            if reply is None:
                if time.monotonic() < self.wake_at:
                    return None
                raise environment.timed_out()
            if reply.sent > self.wake_at:  # answered after its Timeout, read late: Lambda had ended it by then
                raise environment.timed_out()
        except EnvironmentTimedOut as timed_out:
            call = invoker._timed_out(request_id, self._limit, timed_out.output)
        except EnvironmentGone as gone:
            call = invoker._exited(request_id, gone, (time.monotonic() - self._sent) * 1000)
        else:
            self._release()
            return invoker._invocation(invoker._answered(self._request, reply, None))
        self._release()
        return invoker._invocation(call)

    def cancel(self) -> None:
        """Give the call up: its place in line, or its environment, which is stopped (the function may be running)."""
        ticket, environment = self._ticket, self._environment
        pool = self._invoker._pool
        if ticket is not None:
            self._ticket = None
            if pool.withdraw(ticket):
                return
            ticket.handed.acquire()  # being handed over at this very moment
            environment = ticket.environment
            if environment is None:
                pool.give_back()
                return
        if environment is not None:
            self._environment = None
            environment.close()
            pool.release(environment)

    def _sending(self, environment: Environment, sent: float) -> None:
        self._environment, self._sent = environment, sent
        self._limit = max(0.0, min(self._invoker.spec.timeout, self._deadline - sent))
        self.wake_at = sent + self._limit

    def _in_line(self) -> None:
        ticket = self._ticket
        if ticket is None:
            return
        pool = self._invoker._pool
        if ticket.given:
            self._ticket = None
            if ticket.environment is None:
                pool.give_back()
                raise Unstaged("its turn came without an environment: one has to be started")
            self._sending(ticket.environment, ticket.sent)
        elif time.monotonic() >= self.wake_at:
            if pool.withdraw(ticket):
                self._ticket = None
                raise pool.busy(self._invoker.spec.function_name)
            self.wake_at = math.inf  # handed over at this very moment: its notify follows

    def _release(self) -> None:
        environment, self._environment = self._environment, None
        self.wake_at = math.inf
        self._invoker._pool.release(environment)


def _request_id() -> str:
    """A request id as Lambda's are: a random (version 4) UUID, without building a ``uuid.UUID``.

    From a generator of hookkit's own (seeded from the system once, and again in a forked child),
    not a system call per request: an id only has to be unique, and a replay makes thousands. Not
    ``random``'s shared one, which a check (or pytest-randomly) may seed, repeating the ids.
    """
    text = f"{_IDS.getrandbits(128) & _UUID_RANDOM | _UUID_4:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_IDS = Random()  # noqa: S311 - request ids need uniqueness, not secrecy
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_IDS.seed)  # a forked child must not repeat its parent's ids
_UUID_4 = 0x4 << 76 | 0x2 << 62  # the version (4) and RFC 4122 variant bits of a UUID, as an int
_UUID_RANDOM = (1 << 128) - 1 ^ (0xF << 76 | 0x3 << 62)  # every other bit is random


def _log_stream(version: str) -> str:
    """A log stream's name as Lambda makes one per environment: ``2024/05/02/[7]0f3e...``."""
    return f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{version}]{uuid.uuid4().hex}"


def _timestamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z"
