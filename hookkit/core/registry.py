"""Where checks are declared: a registry object, its decorators, and a default instance.

Decorators are thin sugar over :meth:`HookRegistry.add_check` and return the user's function
unchanged, so a check stays a plain function that can be called directly in a unit test.
Everything that can be wrong with a declaration is refused here, at import time, so a mistake
shows up in CI rather than in the middle of a deployment; the message names the check's own file
and line, not hookkit's.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import os
import types
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

from .errors import RegistrationError
from .phases import Phase

F = TypeVar("F", bound=Callable[..., Any])

#: What a check may ask for, by parameter name.
PARAMETERS = {
    "target": "the new version of the function (invoke, compare)",
    "api": "smoke calls to the deployed API",
    "deployment": "ids, function, versions and phase of the deployment",
    "context": "the hook's own Lambda context",
}


@dataclass(frozen=True)
class CheckOptions:
    """How one check runs; validated on creation so a bad option fails at registration."""

    timeout: float = 30.0
    retries: int = 0
    retry_delay: float = 1.0
    blocking: bool = True

    def __post_init__(self) -> None:
        for field_name in ("timeout", "retry_delay"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{field_name} must be a number of seconds, got {value!r}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be greater than 0 seconds, got {self.timeout!r}")
        if self.retry_delay < 0:
            raise ValueError(f"retry_delay cannot be negative, got {self.retry_delay!r}")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"retries must be a whole number >= 0, got {self.retries!r}")
        if not isinstance(self.blocking, bool):
            raise ValueError(f"blocking must be True or False, got {self.blocking!r}")


@dataclass(frozen=True)
class Check:
    """A registered check: the function, the phase it guards, and how to run it.

    ``params`` are the resources it asks for by name (see :data:`PARAMETERS`); ``base_dir`` is
    where its relative event and schema paths start.
    """

    name: str
    func: Callable[..., Any]
    phase: Phase
    options: CheckOptions
    params: tuple[str, ...]
    base_dir: Path | None
    #: The file and line that declare the check, for reports that link a failure to its code.
    source: tuple[str, int] | None = None

    @property
    def blocking(self) -> bool:
        return self.options.blocking


def source_of(func: Callable[..., Any]) -> tuple[str, int] | None:
    """The file and first line of ``func``'s definition (the function a decorator or partial wraps, if any)."""
    while isinstance(func, functools.partial):
        func = func.func
    code = getattr(inspect.unwrap(func), "__code__", None)
    if code is None:
        return None
    return _absolute(code.co_filename), code.co_firstlineno


def _absolute(file: str) -> str:
    """``os.path.abspath``, worked out once per file when the working directory plays no part."""
    return _normalised(file) if os.path.isabs(file) else os.path.abspath(file)


@functools.lru_cache(maxsize=256)
def _normalised(file: str) -> str:
    return os.path.abspath(file)


@functools.lru_cache(maxsize=256)
def _folder(file: str) -> Path:
    return Path(os.path.dirname(file))


def where(func: Callable[..., Any]) -> str:
    """``file.py:12`` for the line that defines ``func``, so an error points at the user's code.

    For a class, or an object whose class defines ``__call__``, the class's own line: an error path
    only, so reading the source file to find it costs nothing that matters.
    """
    found = source_of(func)
    if found is not None:
        return f"{found[0]}:{found[1]}"
    declared = func if inspect.isclass(func) else type(func)
    try:
        file, line = inspect.getsourcefile(declared), inspect.getsourcelines(declared)[1]
    except (OSError, TypeError):  # a builtin, or a class made at run time
        return repr(func)
    return f"{os.path.abspath(file)}:{line}" if file else repr(func)


def options_for(name: str, func: Callable[..., Any], **options: Any) -> CheckOptions:
    """:class:`CheckOptions` from keyword options; a bad one is a RegistrationError naming the check."""
    try:
        return CheckOptions(**options)
    except (TypeError, ValueError) as exc:
        raise RegistrationError(f"check {name!r} ({where(func)}): {exc}") from None


def refuse_non_checks(func: Callable[..., Any], name: str) -> None:
    """Refuse a callable whose call would not run the check: hookkit would count it as a pass.

    Calling a generator function (or an async generator function) only creates a generator, and
    its body, asserts included, never runs; calling a class only builds an object. An ``async
    def`` is fine: the runner awaits it. Partials, bound methods and objects with ``__call__`` are
    judged by the function that runs when they are called.
    """
    if not callable(func):
        raise RegistrationError(f"check {name!r}: a check must be a function, got {func!r}")
    if inspect.isclass(func):
        raise RegistrationError(
            f"check {name!r} ({where(func)}) is a class: calling it only builds an object, which would count "
            "as a pass. Register a function (def or async def), or a method of an instance"
        )
    called = func
    if not (inspect.isfunction(func) or inspect.ismethod(func) or isinstance(func, functools.partial)):
        called = type(func).__call__  # an object with __call__: that method is what runs
        if called in _runs_its_body:  # thousands of objects of one class (recorded events): judged once
            return
    if inspect.isasyncgenfunction(called):
        raise RegistrationError(
            f"check {name!r} ({where(func)}) is an async generator function (async def with yield): calling it "
            "runs none of its body, so it could never fail. Remove the yield: an async def check is awaited"
        )
    if inspect.isgeneratorfunction(called):
        raise RegistrationError(
            f"check {name!r} ({where(func)}) is a generator function (it contains yield): calling it runs none "
            "of its body, so it could never fail. Write a plain def that returns or raises (loop inside it "
            "to check several things), or an async def"
        )
    if called is not func:
        with contextlib.suppress(TypeError):  # a __call__ that cannot be weakly referenced is judged each time
            _runs_its_body.add(called)


#: ``__call__`` methods already judged to run their body when called (weakly held: classes come and go).
_runs_its_body: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def _base_dir(func: Callable[..., Any]) -> Path | None:
    """The folder of the module that defines ``func``: relative event and schema paths start there.

    Made absolute without resolving links: no system call per check, and paths shown in reports
    read as the user wrote the project.
    """
    try:
        file = _absolute(inspect.getfile(func))
    except TypeError:  # a builtin, or a callable object without a source file
        return None
    return _folder(file)  # one Path for every check of a module


def _requested_params(func: Callable[..., Any], name: str) -> tuple[str, ...]:
    """The resource names ``func`` asks for; a RegistrationError names what it cannot be given."""
    plain = _plain_params(func)
    return plain if plain is not None else _signature_params(func, name)


def _signature_params(func: Callable[..., Any], name: str) -> tuple[str, ...]:
    """:func:`_requested_params` as ``inspect.signature`` reads any callable."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise RegistrationError(f"check {name!r}: cannot read its signature ({exc})") from None
    requested = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise RegistrationError(
                f"check {name!r} ({where(func)}): parameter {param.name!r} must be a plain named parameter; "
                f"checks ask for what they need by name ({', '.join(PARAMETERS)})"
            )
        if param.name in PARAMETERS:
            requested.append(param.name)
        elif param.default is param.empty:
            raise RegistrationError(
                f"check {name!r} ({where(func)}): unknown parameter {param.name!r}; a check can ask for "
                + ", ".join(f"{p} ({why})" for p, why in PARAMETERS.items())
                + ", or give the parameter a default value"
            )
    return tuple(requested)


def _plain_params(func: Callable[..., Any]) -> tuple[str, ...] | None:
    """:func:`_requested_params` read from the code of a plain function that asks only for resources
    (or has defaults), as ``inspect.signature`` would, at a fraction of its cost; ``None`` for anything else."""
    if type(func) is not types.FunctionType or hasattr(func, "__wrapped__") or hasattr(func, "__signature__"):
        return None
    code = func.__code__
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) or code.co_posonlyargcount:
        return None
    positional = code.co_varnames[:code.co_argcount]
    keyword_only = code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]
    first_default = len(positional) - len(func.__defaults__ or ())
    keyword_defaults = func.__kwdefaults__ or {}
    requested = []
    for index, param in enumerate(positional + keyword_only):
        if param in PARAMETERS:
            requested.append(param)
        elif index < first_default or (index >= len(positional) and param not in keyword_defaults):
            return None  # an unknown parameter without a default: the slow path words the error
    return tuple(requested)


class HookRegistry:
    """An ordered collection of checks per phase.

    Most code uses the module-level default (``hookkit.pre_traffic``); tests and programs that
    host several hooks create their own so declarations never leak between them.
    """

    def __init__(self) -> None:
        self._checks: dict[Phase, dict[str, Check]] = {}

    def add_check(
        self,
        func: Callable[..., Any],
        phase: Phase | str,
        *,
        name: str | None = None,
        timeout: float = CheckOptions.timeout,
        retries: int = CheckOptions.retries,
        retry_delay: float = CheckOptions.retry_delay,
        blocking: bool = CheckOptions.blocking,
        base_dir: Path | None = None,
    ) -> Check:
        """Register ``func`` as a check of ``phase``; the imperative form of the decorators.

        ``base_dir`` is where the check's relative event and schema paths start; by default the
        folder of the module that defines ``func``.
        """
        if not callable(func):
            raise RegistrationError(f"a check must be a function, got {func!r}")
        phase = Phase.parse(phase)
        check_name = name if name is not None else getattr(func, "__name__", None)
        if not isinstance(check_name, str) or not check_name.strip():
            raise RegistrationError(f"check {func!r}: name must be a non-empty string, got {check_name!r}")
        refuse_non_checks(func, check_name)
        options = options_for(check_name, func, timeout=timeout, retries=retries, retry_delay=retry_delay,
                              blocking=blocking)
        source = source_of(func)
        self._refuse_duplicate(phase, check_name, func, source)
        return self._keep(Check(
            name=check_name,
            func=func,
            phase=phase,
            options=options,
            params=_requested_params(func, check_name),
            base_dir=Path(os.path.abspath(base_dir)) if base_dir is not None else _base_dir(func),
            source=source,
        ))

    def add(self, check: Check) -> Check:
        """Register a check already built (``recorded_events`` makes thousands of one shape)."""
        refuse_non_checks(check.func, check.name)
        self._refuse_duplicate(check.phase, check.name, check.func, check.source)
        return self._keep(check)

    def _keep(self, check: Check) -> Check:
        self._checks.setdefault(check.phase, {})[check.name] = check
        return check

    def _refuse_duplicate(
        self, phase: Phase, name: str, func: Callable[..., Any], source: tuple[str, int] | None
    ) -> None:
        """Refuse a second check of one name in a phase, unless it is the same declaration again.

        A module imported under two names (``import checks`` in a unit test, and by path by
        ``pytest --hookkit`` or ``hookkit run``) runs its declarations twice: another function,
        declared at the same file and line. The newer one replaces the older, in its place.
        """
        existing = self._checks.get(phase, {}).get(name)
        if existing is None or (existing.func is not func and source is not None and existing.source == source):
            return
        where = f" (declared at {existing.source[0]}:{existing.source[1]})" if existing.source else ""
        raise RegistrationError(
            f"check {name!r} is already registered for {phase}{where}; give one of them another "
            f"name with name=... (or import the checks module only once)"
        )

    @overload
    def on(self, phase: Phase | str, func: F, /) -> F: ...
    @overload
    def on(
        self, phase: Phase | str, func: None = None, /, *, name: str | None = None, timeout: float = ...,
        retries: int = ..., retry_delay: float = ..., blocking: bool = ...,
    ) -> Callable[[F], F]: ...

    def on(self, phase: Phase | str, func: F | None = None, /, **options: Any) -> F | Callable[[F], F]:
        """Decorator for any lifecycle event (ECS hooks included); bare or with options."""
        phase = Phase.parse(phase)
        if func is not None:
            self.add_check(func, phase, **options)
            return func

        def decorate(f: F) -> F:
            self.add_check(f, phase, **options)
            return f

        return decorate

    @overload
    def pre_traffic(self, func: F, /) -> F: ...
    @overload
    def pre_traffic(
        self, func: None = None, /, *, name: str | None = None, timeout: float = ..., retries: int = ...,
        retry_delay: float = ..., blocking: bool = ...,
    ) -> Callable[[F], F]: ...

    def pre_traffic(self, func: F | None = None, /, **options: Any) -> F | Callable[[F], F]:
        """Register a BeforeAllowTraffic (SAM: PreTraffic) check; ``@pre_traffic`` or ``@pre_traffic(...)``."""
        return self.on(Phase.BEFORE_ALLOW_TRAFFIC, func, **options)

    @overload
    def post_traffic(self, func: F, /) -> F: ...
    @overload
    def post_traffic(
        self, func: None = None, /, *, name: str | None = None, timeout: float = ..., retries: int = ...,
        retry_delay: float = ..., blocking: bool = ...,
    ) -> Callable[[F], F]: ...

    def post_traffic(self, func: F | None = None, /, **options: Any) -> F | Callable[[F], F]:
        """Register an AfterAllowTraffic (SAM: PostTraffic) check; ``@post_traffic`` or ``@post_traffic(...)``."""
        return self.on(Phase.AFTER_ALLOW_TRAFFIC, func, **options)

    def checks(self, phase: Phase | str) -> list[Check]:
        """The checks of one phase, in declaration order."""
        return list(self._checks.get(Phase.parse(phase), {}).values())

    def phases(self) -> list[Phase]:
        return [phase for phase, checks in self._checks.items() if checks]

    def __iter__(self) -> Iterator[Check]:
        for checks in self._checks.values():
            yield from checks.values()

    def __len__(self) -> int:
        return sum(len(checks) for checks in self._checks.values())

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """Undo the registrations made inside the block if it raises.

        A checks module that fails halfway through its import must not leave half its checks
        behind: the next delivery to a warm container imports it again, and would otherwise fail
        on "already registered" instead of the real error.
        """
        snapshot = {phase: dict(checks) for phase, checks in self._checks.items()}
        try:
            yield
        except BaseException:
            self._checks = snapshot
            raise


#: The registry the module-level decorators and ``hookkit.handler`` use.
default_registry = HookRegistry()
