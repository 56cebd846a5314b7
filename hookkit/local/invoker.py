"""Run a SAM function's own code in-process, answering like Lambda does.

This is the CI target: the checks that guard production invoke the function's code with no AWS
and no Docker. The invoker imports the handler as Lambda's Python runtime would (the code folder
first on ``sys.path``, the function's environment set during import and calls), and returns an
:class:`~hookkit.checks.invocation.Invocation` shaped like a real ``lambda.invoke``: function errors as
``errorType``/``errorMessage`` JSON, a log tail, ``Sandbox.Timedout`` after the timeout.

Two builds of one function (current and target) usually share module names (``app``,
``models``), so each invoker keeps the modules of its folder to itself: they are in
``sys.modules`` only while that invoker runs, and same-named modules of the process are put back
afterwards.

Limits of doing this in one process: a handler that times out keeps running in its daemon thread
(a thread cannot be killed, only abandoned), outside the function's environment once the call has
returned; and threads the handler starts itself are not captured in its log.
"""

from __future__ import annotations

import contextvars
import decimal
import importlib
import io
import json
import logging
import math
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TextIO, cast

from ..checks.invocation import Invocation
from ..core.errors import ConfigurationError, InvokeError, TargetError
from ..core.loader import import_failure, is_missing
from .context import LocalContext
from .sam import FunctionSpec

LOG_TAIL_BYTES = 4096  # what LogType=Tail returns

# os.environ, sys.path, sys.modules and sys.stdout/stderr belong to the whole process, and the
# runner calls invokers from several threads: two local calls at once would see each other's
# environment variables and modules. So every local call, in every invoker, holds this one lock
# from setting the function's world up until it is torn down.
_PROCESS_LOCK = threading.Lock()

_capture = threading.local()  # .buffer / .request_id, set in the thread running a handler


def _held_lock() -> threading.Lock:
    lock = threading.Lock()  # a bare lock, released by the handler's thread: the cheapest signal
    lock.acquire()
    return lock


@dataclass
class _Run:
    """What happened in the handler's thread; written by that thread, read once ``done`` is released."""

    request_id: str
    limit: float
    buffer: io.StringIO = field(default_factory=io.StringIO)
    done: threading.Lock = field(default_factory=_held_lock)
    finished: bool = False
    result: Any = None
    error: BaseException | None = None
    load_error: ConfigurationError | None = None
    duration_ms: float = 0.0


class LocalInvoker:
    """Invokes one build of one function in this process (an :class:`~hookkit.checks.invocation.Invoker`).

    The handler is imported on first use, inside the first call, so module-level code sees the
    function's environment variables as it would in Lambda, and its output lands in that call's
    log.
    """

    def __init__(self, spec: FunctionSpec, *, version: str = "local") -> None:
        self.spec = spec
        self.version = version
        self._root = str(spec.code_uri)
        self._prefix = os.path.join(self._root, "")
        self._handler: Callable[[Any, Any], Any] | None = None
        self._modules: dict[str, ModuleType] = {}
        self._path: list[str] = [self._root]
        self._shadowed: frozenset[str] | None = None  # the folder's top-level names, but the stdlib's
        self._seen: set[str] = set()  # sys.modules' names at the previous call
        self._shape: tuple[int, str | None] | None = None  # and its _shape then, while they are valid
        self._named_like_mine: set[str] = set()  # of those, names in this folder's namespace
        self._variables: dict[Any, Any] | None = None  # the function's environment, encoded

    def invoke(self, payload: bytes, *, qualifier: str, timeout: float) -> Invocation:
        """Run the handler with ``payload`` as the event; ``qualifier`` only has to be safe."""
        if qualifier == "$LATEST":
            raise TargetError(
                f"{self.spec.function_name}: qualifier '$LATEST' does not name the code under "
                "test; pass the version to check (locally, any other value runs this invoker's "
                f"build at {self._root})"
            )
        try:
            event = json.loads(payload) if payload.strip() else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvokeError(
                f"{self.spec.function_name}: the payload is not JSON ({exc}); Lambda would refuse "
                "it (InvalidRequestContentException): fix the event file"
            ) from None
        run = self._run(event, budget=timeout, capture=True)
        if run.load_error is not None:
            raise run.load_error
        body, function_error = self._answer(run)
        return Invocation(
            status_code=200,
            payload=body.encode(),
            function_error=function_error,
            log_tail=self._log_tail(run),
            executed_version=self.version,
            duration_ms=run.duration_ms,
        )

    def _answer(self, run: _Run) -> tuple[str, str | None]:
        """The payload Lambda would return and its FunctionError; failures are logged as Lambda does."""
        if not run.finished:
            message = f"Task timed out after {run.limit:.2f} seconds"
            run.buffer.write(f"{_timestamp(time.time())} {run.request_id} {message}\n")
            run.duration_ms = run.limit * 1000
            return json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": message}), "Unhandled"
        if run.error is not None:
            return json.dumps(_error_body(run.error, run.request_id, run.buffer)), "Unhandled"
        try:
            return json.dumps(run.result, default=_lambda_json_default), None
        except (TypeError, ValueError) as exc:
            message = f"Unable to marshal response: {exc}"
            run.buffer.write(f"[ERROR] Runtime.MarshalError: {message}\n")
            body = {"errorType": "Runtime.MarshalError", "errorMessage": message,
                    "requestId": run.request_id, "stackTrace": []}
            return json.dumps(body), "Unhandled"

    def load(self) -> None:
        """Import the handler now, in the function's environment, instead of at the first call.

        The CLI does this before running any check, so a handler that does not import is a
        configuration error (exit 2, naming the handler) rather than every check erroring.
        """
        with _PROCESS_LOCK, self._environment(), self._own_modules():
            self._load()

    def call(self, event: Any) -> Any:
        """Run the handler on an event object; return what it returns, raise what it raises.

        For the in-process API adapter, which turns results and exceptions into HTTP answers
        itself. Output is not captured: it goes to the console, where a CI log shows it.
        """
        run = self._run(event, budget=self.spec.timeout, capture=False)
        if run.load_error is not None:
            raise run.load_error
        if not run.finished:
            raise InvokeError(
                f"{self.spec.function_name}: handler {self.spec.handler} did not return within its "
                f"Timeout of {run.limit:.2f} seconds"
            )
        if run.error is not None:
            raise run.error
        return run.result

    # --- one call ------------------------------------------------------------------------

    def _run(self, event: Any, *, budget: float, capture: bool) -> _Run:
        """Run the handler in a daemon thread: a thread cannot be killed, but it can be abandoned."""
        started = time.monotonic()
        if not _PROCESS_LOCK.acquire(timeout=max(budget, 0.0)):
            raise InvokeError(
                f"{self.spec.function_name}: other local invocations held the process for the "
                f"whole {budget:.2f} second budget of this call; raise the check's timeout or run "
                "fewer local checks at once"
            )
        try:
            limit = max(0.0, min(self.spec.timeout, budget - (time.monotonic() - started)))
            context = LocalContext(
                function_name=self.spec.function_name,
                function_version=self.version,
                timeout_s=self.spec.timeout,
                memory_limit_in_mb=self.spec.memory_size,
                region=self.spec.region,
            )
            run = _Run(request_id=context.aws_request_id, limit=limit)
            with self._environment(), self._own_modules(), _captured(streams=capture):
                _HandlerThread.submit(self._work, event, context, run, capture,
                                      name=f"hookkit-local-{self.spec.logical_id}")
                run.finished = run.done.acquire(timeout=limit)
                if not run.finished:
                    _HandlerThread.abandon()
            return run
        finally:
            _PROCESS_LOCK.release()

    def _work(self, event: Any, context: LocalContext, run: _Run, capture: bool) -> None:
        _capture.buffer = run.buffer if capture else None
        _capture.request_id = run.request_id
        try:
            try:
                handler = self._load()
            except ConfigurationError as exc:
                run.load_error = exc
                return
            started = time.perf_counter()
            try:
                run.result = handler(event, context)
            except BaseException as exc:  # noqa: BLE001 - the function's failure is data, as in Lambda
                run.error = exc
            finally:
                run.duration_ms = (time.perf_counter() - started) * 1000
        finally:
            _capture.buffer = None
            run.done.release()

    def _log_tail(self, run: _Run) -> str:
        rid = run.request_id
        text = (
            f"START RequestId: {rid} Version: {self.version}\n{run.buffer.getvalue()}"
            f"END RequestId: {rid}\nREPORT RequestId: {rid}\tDuration: {run.duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(run.duration_ms)} ms\tMemory Size: {self.spec.memory_size} MB\n"
        )
        return text.encode()[-LOG_TAIL_BYTES:].decode("utf-8", errors="ignore")

    # --- the function's world ------------------------------------------------------------

    @contextmanager
    def _environment(self) -> Iterator[None]:
        """The function's variables during the call, then the process's exactly as they were."""
        if self._variables is None:
            self._variables = _encoded({
                **self.spec.environment,
                "AWS_LAMBDA_FUNCTION_NAME": self.spec.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": self.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.spec.memory_size),
                "AWS_REGION": self.spec.region,
                "AWS_DEFAULT_REGION": self.spec.region,
            })
        saved = _ENVIRON.copy()
        _environ_update(self._variables)
        ours = _ENVIRON.copy()
        try:
            yield
        finally:
            if ours == _ENVIRON:  # the usual case: the handler left the environment alone
                _environ_restore(saved, self._variables.keys())
            else:
                _environ_restore(saved, _ENVIRON.keys() | saved.keys())

    @contextmanager
    def _own_modules(self) -> Iterator[None]:
        """Put this build's modules (and path entries) in place; take them back out afterwards.

        Modules that would hide this folder's (named like its top-level files and folders, or
        like the modules it loaded before) are evicted for the call; after it, this folder's
        modules are taken out and kept for the next call. Standard-library names are left
        alone: Lambda's runtime has imported those before the function's code runs, so a
        same-named file in the folder never replaces them there either.

        CI makes thousands of calls in a process holding a thousand modules, so sys.modules is
        not searched on every call: importing appends a name to it and dropping one shortens
        it, so while its size and last name stay as they were, so do its names.
        """
        # A new list rather than the old one changed in place: another thread importing at this
        # moment walks sys.path, and an entry inserted under its feet makes it skip another
        # (seen: "No module named 'unicodedata'" in a check importing while a handler ran).
        saved_path = sys.path
        sys.path = [*self._path, *saved_path]
        modules = sys.modules
        if _shape(modules) != self._shape:  # something was imported or dropped since the last call
            self._rescan(modules)
        before = self._seen
        suspects = self._named_like_mine | self._modules.keys()
        evicted = {name: modules.pop(name) for name in suspects if name in modules and not self._is_mine(modules[name])}
        inserted = {name for name in self._modules if name not in modules}
        modules.update(self._modules)
        during = _shape(modules)
        try:
            yield
        finally:
            imported = _shape(modules) != during
            if imported:  # by the call, or by another thread meanwhile
                suspects |= modules.keys() - before
            mine = {name: modules.pop(name) for name in suspects if name in modules and self._is_mine(modules[name])}
            self._modules = mine if self._handler is not None else {}
            # entries the code added (a vendor folder, say) stay with it for the next call
            added = [entry for entry in sys.path if entry not in saved_path and entry != self._root]
            self._path = [self._root, *added]
            sys.path = saved_path
            modules.update(evicted)
            # unless the call left the names as they were, look again next time
            self._shape = None if imported or mine.keys() != inserted else _shape(modules)

    def _rescan(self, modules: dict[str, ModuleType]) -> None:
        """Note the names that appeared since the last call which belong to this folder's namespace."""
        if self._shadowed is None:
            self._shadowed = _top_level_names(self._root) - sys.stdlib_module_names
        names = set(modules)
        self._named_like_mine = (self._named_like_mine & names) | {
            name for name in names - self._seen if name.partition(".")[0] in self._shadowed
        }
        self._seen = names

    def _is_mine(self, module: ModuleType | None) -> bool:
        location = _module_location(module)
        return location is not None and location.startswith(self._prefix)

    def _load(self) -> Callable[[Any, Any], Any]:
        """Import the handler as Lambda does: ``path/to/module.function``, module on sys.path."""
        if self._handler is not None:
            return self._handler
        handler = self.spec.handler
        module_name, _, function_name = handler.rpartition(".")
        module_name = module_name.replace("/", ".")
        expected = os.path.join(self._root, *module_name.split(".")) + ".py"
        if not module_name or not function_name:
            raise ConfigurationError(
                f"handler {handler!r}: must be module.function (e.g. app.lambda_handler); fix Handler"
            )
        importlib.invalidate_caches()
        try:
            module = importlib.import_module(module_name)
        except BaseException as exc:
            if is_missing(module_name, exc):
                raise ConfigurationError(
                    f"handler {handler!r}: no module {module_name!r} in {self._root} (expected "
                    f"{expected}); fix Handler or CodeUri"
                ) from exc
            raise ConfigurationError(
                f"handler {handler!r}: importing {expected} failed ({import_failure(exc)}); fix the function's code"
            ) from exc
        function = getattr(module, function_name, None)
        if not callable(function):
            raise ConfigurationError(
                f"handler {handler!r}: {getattr(module, '__file__', None) or expected} has no "
                f"function {function_name!r}; fix Handler or define the function"
            )
        self._handler = cast(Callable[[Any, Any], Any], function)
        return self._handler


# os.environ is a mapping over _ENVIRON, its variables encoded as the platform stores them
# (bytes on POSIX), kept in step with the C environment by putenv/unsetenv. A local call sets
# the function's variables and puts the process's back for every event of a CI replay; working
# on the stored form costs a dict copy and one putenv per variable, where going through
# os.environ's mapping decodes every variable of the process twice per call.
_ENVIRON: dict[Any, Any] = os.environ._data  # type: ignore[attr-defined]


def _encoded(variables: dict[str, str]) -> dict[Any, Any]:
    return {os.environ.encodekey(k): os.environ.encodevalue(v) for k, v in variables.items()}


def _environ_update(variables: dict[Any, Any]) -> None:
    for key, value in variables.items():
        os.putenv(key, value)
        _ENVIRON[key] = value


def _environ_restore(saved: dict[Any, Any], keys: Iterable[Any]) -> None:
    """Put ``keys`` back as they are in ``saved`` (absent ones removed), C environment included."""
    for key in keys:
        value = saved.get(key)
        if value is None:
            if _ENVIRON.pop(key, None) is not None:
                os.unsetenv(key)
        elif _ENVIRON.get(key) != value:
            os.putenv(key, value)
            _ENVIRON[key] = value


def _shape(modules: dict[str, ModuleType]) -> tuple[int, str | None]:
    return len(modules), next(reversed(modules), None)


def _top_level_names(folder: str) -> frozenset[str]:
    names = set()
    for entry in os.scandir(folder):
        name = entry.name.split(".", 1)[0] if entry.is_file() else entry.name
        if name.isidentifier() and (entry.is_dir() or entry.name.endswith((".py", ".pyc", ".so", ".pyd"))):
            names.add(name)
    return frozenset(names)


def _module_location(module: ModuleType | None) -> str | None:
    try:
        location = getattr(module, "__file__", None)
        if location is None:  # a namespace package has only __path__
            location = next(iter(getattr(module, "__path__", None) or ()), None)
    except Exception:  # noqa: BLE001 - odd objects in sys.modules (lazy proxies) are never ours
        return None
    return os.path.normpath(location) if isinstance(location, str) else None


class _HandlerThread:
    """The daemon thread handlers run in, reused from call to call while none hangs.

    A handler runs in a thread other than the caller's so that a call can give up on it at the
    function's timeout; starting a thread per call costs more than many handlers take. Calls hold
    ``_PROCESS_LOCK``, so one thread serves every invoker; when a handler overruns its timeout the
    thread is abandoned to it and the next call starts a new one. Each call runs in a fresh
    ``contextvars`` context, as it would in a thread of its own.
    """

    _current: _HandlerThread | None = None

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...], str] | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="hookkit-local", daemon=True).start()

    @classmethod
    def submit(cls, work: Callable[..., None], *args: Any, name: str) -> None:
        """Run ``work(*args)`` in the handler thread (callers hold ``_PROCESS_LOCK``)."""
        if cls._current is None:
            cls._current = cls()
        cls._current._jobs.put((work, args, name))

    @classmethod
    def abandon(cls) -> None:
        """Leave the current thread to its hung handler; it exits once the handler returns."""
        if cls._current is not None:
            cls._current._jobs.put(None)
            cls._current = None

    def _serve(self) -> None:
        thread = threading.current_thread()
        while (job := self._jobs.get()) is not None:
            work, args, thread.name = job
            contextvars.Context().run(work, *args)


# --- capturing what the handler prints and logs --------------------------------------------

class _RoutedStream:
    """Stands in for sys.stdout/stderr: a capturing thread's writes go to its buffer.

    Routing by thread keeps other threads' output (the runner, other checks) out of the
    function's log. Objects that kept a reference to it (a logging handler created at import
    time) keep working after the call: with no capture active they write to the stream it
    replaced.
    """

    def __init__(self, fallback: TextIO) -> None:
        self._fallback = fallback

    def write(self, text: str) -> int:
        buffer = getattr(_capture, "buffer", None)
        if buffer is None:
            return self._fallback.write(text)
        return int(buffer.write(text))

    def flush(self) -> None:
        if getattr(_capture, "buffer", None) is None:
            self._fallback.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fallback, name)


class _LambdaLogHandler(logging.Handler):
    """Writes a capturing thread's log records the way Lambda's runtime formats them."""

    def emit(self, record: logging.LogRecord) -> None:
        buffer = getattr(_capture, "buffer", None)
        if buffer is None:
            return
        try:
            buffer.write(
                f"[{record.levelname}]\t{_timestamp(record.created)}\t{_capture.request_id}\t"
                f"{self.format(record)}\n"
            )
        except Exception:  # noqa: BLE001 - logging's own contract
            self.handleError(record)


# One instance for the whole process: filters that libraries add to the root logger's handlers
# when the function's code configures logging (Powertools' Logger adds one so its records are
# not written twice) must still be on it in later calls.
_LOG_HANDLER = _LambdaLogHandler()


@contextmanager
def _captured(streams: bool) -> Iterator[None]:
    """Route the handler thread's log records (and, if ``streams``, its stdout/stderr) to its log."""
    stdout, stderr = sys.stdout, sys.stderr
    if streams:
        sys.stdout, sys.stderr = _RoutedStream(stdout), _RoutedStream(stderr)
    root = logging.getLogger()
    root.addHandler(_LOG_HANDLER)
    try:
        yield
    finally:
        root.removeHandler(_LOG_HANDLER)
        sys.stdout, sys.stderr = stdout, stderr


def _timestamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z"


# --- Lambda's answer shapes ----------------------------------------------------------------

def _lambda_json_default(value: Any) -> Any:
    # Lambda's runtime writes Decimals (what DynamoDB hands back) as JSON numbers
    if isinstance(value, decimal.Decimal):
        return int(value) if value.is_finite() and value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _error_body(error: BaseException, request_id: str, log: io.StringIO) -> dict[str, Any]:
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename != __file__]
    stack = traceback.format_list(frames)
    log.write(f"[ERROR] {type(error).__name__}: {error}\nTraceback (most recent call last):\n{''.join(stack)}")
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": stack,
    }
