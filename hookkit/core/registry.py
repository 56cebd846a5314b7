"""Where checks are declared: a registry object, its decorators, and a default instance.

Decorators are thin sugar over :meth:`HookRegistry.add_check` and return the user's function
unchanged, so a check stays a plain function that can be called directly in a unit test.
Everything that can be wrong with a declaration is refused here, at import time, so a mistake
shows up in CI rather than in the middle of a deployment.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import os
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar, overload

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
    """A registered check: the function, the phase it guards, and how to run it."""

    name: str
    func: Callable[..., Any]
    phase: Phase
    options: CheckOptions
    params: tuple[str, ...]
    base_dir: Path | None

    @property
    def blocking(self) -> bool:
        return self.options.blocking


def _base_dir(func: Callable[..., Any]) -> Path | None:
    """The folder of the module that defines ``func``: relative event and schema paths start there."""
    try:
        return _resolved(inspect.getfile(func)).parent
    except (TypeError, OSError):
        return None


def _resolved(path: str | os.PathLike[str]) -> Path:
    return _resolved_absolute(path if os.path.isabs(path) else os.path.abspath(path))


@functools.lru_cache(maxsize=256)
def _resolved_absolute(path: str | os.PathLike[str]) -> Path:
    # Resolving costs a system call per path component, and a checks module registers all its
    # checks from one file and folder: a folder of recorded events registers thousands.
    return Path(path).resolve()


def _requested_params(func: Callable[..., Any], name: str) -> tuple[str, ...]:
    """The resource names ``func`` asks for; a RegistrationError names what it cannot be given.

    Functions made by one ``def`` (closures such as ``recorded_events``' replays) share their
    code and defaults, so their answer is remembered: reading a signature costs more than the
    rest of a registration, and a folder of recorded events registers thousands.
    """
    key = _signature_key(func)
    if key is not None and key in _PARAMS:
        return _PARAMS[key]
    requested = _read_params(func, name)
    if key is not None:
        _PARAMS[key] = requested
    return requested


_PARAMS: dict[tuple[Any, ...], tuple[str, ...]] = {}


def _signature_key(func: Callable[..., Any]) -> tuple[Any, ...] | None:
    """What a plain function's signature depends on, if hashable; ``None`` for anything else."""
    if type(func) is not types.FunctionType or "__wrapped__" in func.__dict__ or "__signature__" in func.__dict__:
        return None
    key = (func.__code__, func.__defaults__, func.__kwdefaults__ and tuple(func.__kwdefaults__.items()))
    try:
        hash(key)
    except TypeError:  # an unhashable default value
        return None
    return key


def _read_params(func: Callable[..., Any], name: str) -> tuple[str, ...]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise RegistrationError(f"check {name!r}: cannot read its signature ({exc})") from None
    requested = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise RegistrationError(
                f"check {name!r}: parameter {param.name!r} must be a plain named parameter; "
                f"checks ask for what they need by name ({', '.join(PARAMETERS)})"
            )
        if param.name in PARAMETERS:
            requested.append(param.name)
        elif param.default is param.empty:
            raise RegistrationError(
                f"check {name!r}: unknown parameter {param.name!r}; a check can ask for "
                + ", ".join(f"{p} ({why})" for p, why in PARAMETERS.items())
                + ", or give the parameter a default value"
            )
    return tuple(requested)


class HookRegistry:
    """An ordered collection of checks per phase.

    Most code uses the module-level default (``hookkit.pre_traffic``); tests and programs that
    host several hooks create their own so declarations never leak between them.
    """

    def __init__(self) -> None:
        self._checks: dict[Phase, dict[str, Check]] = {}
        # In one process of a run split over several (``hookkit run --jobs``): which share of
        # each phase's checks is kept here, and the names of those left to the other processes.
        self._share: tuple[int, int] | None = None
        self._elsewhere: dict[Phase, set[str]] = {}

    def share(self, index: int, count: int) -> None:
        """Keep only checks ``index``, ``index + count``, ... of each phase, in declaration order.

        One of ``count`` processes running a split run calls this before importing the checks:
        every process declares every check (so names, errors and positions agree) but keeps,
        and reads the files of, only its own share.
        """
        if not 0 <= index < count:
            raise ValueError(f"share {index} of {count} does not exist")
        self._share = (index, count)

    def keeps_next(self, phase: Phase | str) -> bool:
        """Whether the next check declared for ``phase`` will be kept (and run) by this process."""
        if self._share is None:
            return True
        phase = Phase.parse(phase)
        declared = len(self._checks.get(phase, ())) + len(self._elsewhere.get(phase, ()))
        index, count = self._share
        return declared % count == index

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
        try:
            options = CheckOptions(timeout=timeout, retries=retries, retry_delay=retry_delay, blocking=blocking)
        except ValueError as exc:
            raise RegistrationError(f"check {check_name!r}: {exc}") from None
        self._refuse_duplicate(phase, check_name)
        check = Check(
            name=check_name,
            func=func,
            phase=phase,
            options=options,
            params=_requested_params(func, check_name),
            base_dir=_resolved(base_dir) if base_dir is not None else _base_dir(func),
        )
        if self.keeps_next(phase):
            self._checks.setdefault(phase, {})[check_name] = check
        else:
            self._elsewhere.setdefault(phase, set()).add(check_name)
        return check

    def leave(self, phase: Phase | str, name: str) -> None:
        """Declare, by name only, a check that another process of a split run keeps.

        For callers that asked :meth:`keeps_next` first and need not build a check they will not
        run; the name is still refused if it is taken, as in every process.
        """
        phase = Phase.parse(phase)
        self._refuse_duplicate(phase, name)
        self._elsewhere.setdefault(phase, set()).add(name)

    def _refuse_duplicate(self, phase: Phase, name: str) -> None:
        if name in self._checks.get(phase, ()) or name in self._elsewhere.get(phase, ()):
            raise RegistrationError(
                f"check {name!r} is already registered for {phase}; give one of them another "
                f"name with name=... (or import the checks module only once)"
            )

    @overload
    def on(self, phase: Phase | str, func: F, /) -> F: ...
    @overload
    def on(self, phase: Phase | str, func: None = None, /, **options: Any) -> Callable[[F], F]: ...

    def on(self, phase: Phase | str, func: F | None = None, /, **options: Any) -> Any:
        """Decorator for any lifecycle event (ECS hooks included); bare or with options."""
        phase = Phase.parse(phase)
        if func is not None:
            self.add_check(func, phase, **options)
            return func

        def decorate(f: F) -> F:
            self.add_check(f, phase, **options)
            return f

        return decorate

    def pre_traffic(self, func: F | None = None, /, **options: Any) -> Any:
        """Register a BeforeAllowTraffic (SAM: PreTraffic) check; ``@pre_traffic`` or ``@pre_traffic(...)``."""
        return self.on(Phase.BEFORE_ALLOW_TRAFFIC, func, **options)

    def post_traffic(self, func: F | None = None, /, **options: Any) -> Any:
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
        elsewhere = {phase: set(names) for phase, names in self._elsewhere.items()}
        try:
            yield
        except BaseException:
            self._checks, self._elsewhere = snapshot, elsewhere
            raise

    def handler(
        self, phase: Phase | str | None = None, *, checks: str | None = None, **kwargs: Any
    ) -> Callable[[Any, Any], dict[str, Any]]:
        """A Lambda handler that runs ``phase`` of this registry and always reports to CodeDeploy.

        ``checks`` names modules to import on each delivery (as ``HOOKKIT_CHECKS`` does), so an
        import error is reported as ``Failed`` instead of breaking the Lambda's init.
        """
        from ..hook.handler import HookHandler  # the runtime imports the registry, not the reverse

        return HookHandler(self, phase=phase, checks=checks, **kwargs)


#: The registry the module-level decorators and ``hookkit.handler`` use.
default_registry = HookRegistry()
