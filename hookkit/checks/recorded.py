"""A folder of recorded events becomes one check per event, declared in one line.

Teams already have the traffic their function should handle; replaying it against the new version
with a per-event expectation file turns that traffic into a regression suite::

    recorded_events("events/direct", phase=Phase.BEFORE_ALLOW_TRAFFIC)

A relative folder is relative to the checks module that declares it: hookkit knows that module's
file while it imports it (``HOOKKIT_CHECKS``, ``hookkit run``, ``pytest --hookkit``); a module
imported some other way passes ``base_dir=Path(__file__).parent``.

Files are read at registration, so a broken event or expect file fails the import (CI exit 2, a
``Failed`` report in the hook) with the file, line and column, not halfway through a deployment.
Each replay sends the bytes read then: what was checked is what the function receives.

A CI run that runs only a share of the checks (``hookkit run --shard K/N``, a shard of a CI
matrix) imports the checks inside :func:`deferred_reading`: each folder is listed (the check
names are the whole plan every shard must agree on), and the files are read by
:func:`read_events` for the checks this shard runs, before any of them runs. A broken file of
this shard still stops the run before it starts; another shard's files are never opened.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError, RegistrationError
from ..core.loader import importing_folder
from ..core.phases import Phase
from ..core.registry import Check, CheckOptions, HookRegistry, default_registry, options_for
from .eventfiles import (
    EVENT_SUFFIX,
    EXPECT_SUFFIX,
    NO_EXPECTATIONS,
    ExpectSpec,
    event_payload,
    list_events,
    load_expect,
    payload_of,
)

if TYPE_CHECKING:
    from .target import InvokeResult, PendingResult, Target

#: Inside :func:`deferred_reading`: register recorded events without reading their files yet.
_deferred: ContextVar[bool] = ContextVar("hookkit_recorded_deferred", default=False)


@contextlib.contextmanager
def deferred_reading() -> Iterator[None]:
    """Register recorded events without reading their files; :func:`read_events` reads those a run keeps."""
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def read_events(checks: Iterable[Check]) -> None:
    """Read and check the files of the recorded-event checks among ``checks`` not read yet.

    Every file is tried; a ConfigurationError names each broken one (the first ten), so a large
    replay with several bad recordings is fixed in one go. Thousands of events are read on two
    CPUs (:mod:`.eventcheck`), with the same errors.
    """
    from .eventcheck import Helper  # only for a run that reads its events now: it loads subprocess

    replays = [check.func for check in checks if isinstance(check.func, Replay) and check.func.payload is None]
    helper = Helper.start([(replay._event, replay._expect) for replay in replays])
    problems = []
    try:
        for n, replay in enumerate(replays):
            read = helper.take(n) if helper is not None else None
            try:
                if read is None:
                    replay.load()
                else:
                    replay.accept(*read)
            except ConfigurationError as exc:
                problems.append(str(exc))
    finally:
        if helper is not None:
            helper.close()
    if problems:
        shown = "\n  ".join(problems[:10]) + (f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise ConfigurationError(f"{len(problems)} recorded event file(s) cannot be used:\n  {shown}")


def recorded_events(
    folder: str | os.PathLike[str],
    *,
    phase: Phase | str = Phase.BEFORE_ALLOW_TRAFFIC,
    registry: HookRegistry | None = None,
    prefix: str | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    **options: Any,
) -> list[Check]:
    """Register a check per ``NAME.json`` in ``folder`` and return them, in name order.

    Each check invokes the target with the event and applies ``NAME.expect.json`` when present
    (``status``, ``schema``, ``fields``, ``within_ms``, ``function_error``); without one, the
    function must answer without raising. ``options`` are the decorators' (timeout, retries...).
    Check names are ``<prefix><NAME>``, the prefix defaulting to the folder's name and a slash.
    """
    root = _folder(folder, base_dir)
    registry = registry if registry is not None else default_registry
    phase = Phase.parse(phase)
    prefix = f"{Path(folder).name}/" if prefix is None else prefix
    checks = []
    defer = _deferred.get()
    in_folder = os.path.join(str(root), "")  # the folder and a separator: each file's path is this and its name
    checked: CheckOptions | None = None  # the same options for every event: checked once
    for name, has_expect in list_events(root):
        event_path = f"{in_folder}{name}{EVENT_SUFFIX}"
        replay = Replay(event_path, f"{in_folder}{name}{EXPECT_SUFFIX}" if has_expect else None, name=name)
        if not defer:  # read now: a broken file must fail the import, not the deployment
            replay.load()
        check_name = f"{prefix}{name}"
        if checked is None:
            checked = options_for(check_name, replay, **options)
        checks.append(registry.add(Check(
            name=check_name, func=replay, phase=phase, options=checked, params=_TARGET, base_dir=root,
            source=(event_path, 1),
        )))
    return checks


_TARGET = ("target",)


def _folder(folder: str | os.PathLike[str], base_dir: str | os.PathLike[str] | None) -> Path:
    path = Path(folder)
    if path.is_absolute():
        return path
    base = Path(base_dir) if base_dir is not None else importing_folder()
    if base is None:
        raise RegistrationError(
            f"recorded_events({os.fspath(folder)!r}): a relative folder is relative to the checks module, "
            "which hookkit knows only while it imports the module itself (HOOKKIT_CHECKS, hookkit run, "
            "pytest --hookkit); pass base_dir=Path(__file__).parent, or an absolute folder"
        )
    return base.resolve() / path


class Replay:
    """The check made of one recorded event: invoke the target with it, apply its expect file.

    :meth:`load` reads both files once (at registration, or for a shard before its run); the
    replay sends the bytes read then. A replay never loaded reads its files on first call, so a
    check someone runs directly still works.
    """

    def __init__(
        self, event_path: str | os.PathLike[str], expect_path: str | os.PathLike[str] | None, *, name: str | None = None
    ) -> None:
        self._event = os.fspath(event_path)
        self._expect = None if expect_path is None else os.fspath(expect_path)
        self.payload: bytes | None = None
        self.spec = NO_EXPECTATIONS
        name = os.path.splitext(os.path.basename(self._event))[0] if name is None else name  # the event's, known
        self.__name__ = self.__qualname__ = f"replay_{name}"

    @property
    def event_path(self) -> Path:
        return Path(self._event)

    @property
    def expect_path(self) -> Path | None:
        return None if self._expect is None else Path(self._expect)

    def __repr__(self) -> str:
        return f"<recorded event {self._event}>"

    def load(self) -> bytes:
        """The event's bytes, its file and the expect file read and checked on the first call."""
        if self.payload is None:
            payload = event_payload(self._event)
            self.spec = self._expectations(None)
            self.payload = payload
        return self.payload

    def accept(self, event: bytes, expect: bytes | None) -> None:
        """:meth:`load` with the files' bytes read already, the event's known to be strict JSON (by
        :mod:`.eventcheck`'s helper); the expect file is checked here, as :meth:`load` checks it."""
        self.spec = self._expectations(expect)
        self.payload = payload_of(event)

    def _expectations(self, data: bytes | None) -> ExpectSpec:
        """The expect file (``data``: its bytes, read already) read and checked, its schema too; or none."""
        if not self._expect:
            return NO_EXPECTATIONS
        spec = load_expect(self._expect, data=data)
        _check_schema(spec.schema, self._expect)
        return spec

    def __call__(self, target: Target) -> None:
        self.judge(target.invoke_payload(self.load(), self._event))

    def begin_stage(self, notify: Callable[[], None], /, target: Target) -> ReplayStage | None:
        """The replay with no thread waiting for the function's answer, when the target allows it
        (a local one; see ``hookkit.core.stages``); ``None`` otherwise, having done nothing."""
        pending = target.begin_payload(self.load(), self._event, notify)
        return None if pending is None else ReplayStage(self, pending)

    def judge(self, result: InvokeResult) -> None:
        """Apply the expect file to the answer; ExpectationFailed lists every difference."""
        expect = _expect()
        result.examined = True  # the expect file (or its absence: "must not raise") is the check
        found = expect.spec_differences(result.observed, self.spec, base_dir=result.base_dir)
        if found:
            raise expect.expectation_failed(result.observed, found)


#: Schemas an expect file holds or names already checked, by identity: expect files with the same
#: bytes in one folder share one spec, and expect files naming one schema file share its Path, so a
#: replay of thousands of events checks each distinct schema once. The value keeps the id its own.
_checked_schemas: dict[int, object] = {}
_CHECKED_SCHEMAS = 4096


def _check_schema(schema: object, expect_path: str) -> None:
    """A schema that is not a schema (or a schema file that is missing or broken) is a broken expect
    file: said when the file is read, with the others, naming it (see :func:`read_events`)."""
    if schema is None or _checked_schemas.get(id(schema)) is schema:
        return
    try:
        _expect()._validator(schema, None)  # built once per schema and kept, for the checks to use
    except ConfigurationError as exc:
        raise ConfigurationError(f"expect file {expect_path}: {exc}") from None
    if len(_checked_schemas) < _CHECKED_SCHEMAS:
        _checked_schemas[id(schema)] = schema


@functools.cache
def _expect() -> ModuleType:
    """:mod:`.expect`, imported when an expect file with a schema is read or a replay first runs."""
    from . import expect

    return expect


class ReplayStage:
    """A replay under way in the runner's thread (a :class:`~hookkit.core.stages.Stage`)."""

    __slots__ = ("_answer", "_pending", "_replay")

    def __init__(self, replay: Replay, pending: PendingResult) -> None:
        self._replay, self._pending = replay, pending
        self._answer: InvokeResult | None = None

    @property
    def wake_at(self) -> float:
        return self._pending.wake_at

    def fileno(self) -> int | None:
        return self._pending.fileno()

    def step(self, readable: bool) -> bool:
        self._answer = self._pending.step(readable)
        return self._answer is not None

    def result(self) -> None:
        assert self._answer is not None, "result() before the replay's answer came"  # noqa: S101 - the protocol's order
        self._replay.judge(self._answer)

    def cancel(self) -> None:
        self._pending.cancel()
