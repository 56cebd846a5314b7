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
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import RegistrationError
from ..core.loader import importing_folder
from ..core.phases import Phase
from ..core.registry import Check, HookRegistry, default_registry, options_for
from .eventfiles import ExpectSpec, discover_events, event_payload, load_expect

if TYPE_CHECKING:
    from .target import Target


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
    for name, event_path, expect_path in discover_events(root):
        # read now: a broken file must fail the import, not the deployment; replays send these bytes
        payload = event_payload(event_path)
        spec = load_expect(expect_path) if expect_path else ExpectSpec()
        replay = _replay(event_path, payload, spec)
        check_name = f"{prefix}{name}"
        checks.append(registry.add(Check(
            name=check_name, func=replay, phase=phase, options=options_for(check_name, replay, **options),
            params=("target",), base_dir=root, source=(str(event_path), 1),
        )))
    return checks


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


def _replay(event_path: Path, payload: bytes, spec: ExpectSpec) -> Callable[[Target], None]:
    def replay(target: Target) -> None:
        from .expect import expectation_failed, spec_differences  # not at import: declaring checks stays cheap

        result = target.invoke_payload(payload, str(event_path))
        result.examined = True  # the expect file (or its absence: "must not raise") is the check
        found = spec_differences(result.observed, spec, base_dir=result.base_dir)
        if found:
            raise expectation_failed(result.observed, found)

    replay.__qualname__ = replay.__name__ = f"replay_{event_path.stem}"
    return replay
