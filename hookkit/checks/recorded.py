"""A folder of recorded events becomes one check per event, declared in one line.

Teams already have the traffic their function should handle; replaying it against the new version
with a per-event expectation file turns that traffic into a regression suite::

    recorded_events("events/direct", phase=Phase.BEFORE_ALLOW_TRAFFIC)

Files are read at registration, so a broken event or expect file fails the import (CI exit 2, a
``Failed`` report in the hook) with the file, line and column, not halfway through a deployment.
Each replay sends the bytes read then: what was checked is what the function receives.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..core.errors import ExpectationFailed
from .eventfiles import ExpectSpec, event_files, event_names, event_payload, load_expect
from ..core.phases import Phase
from ..core.registry import Check, HookRegistry, default_registry


def recorded_events(
    folder: str | os.PathLike[str],
    *,
    phase: Phase | str = Phase.BEFORE_ALLOW_TRAFFIC,
    registry: HookRegistry | None = None,
    prefix: str | None = None,
    **options: Any,
) -> list[Check]:
    """Register a check per ``NAME.json`` in ``folder`` (relative to the calling module's folder).

    Each check invokes the target with the event and applies ``NAME.expect.json`` when present
    (``status``, ``schema``, ``fields``, ``within_ms``, ``function_error``); without one, the
    function must answer without raising. ``options`` are the decorators' (timeout, retries...).
    Check names are ``<prefix><NAME>``, the prefix defaulting to the folder's name and a slash.
    Returns the checks registered (in a process of a split run, that process's share).
    """
    caller_file = sys._getframe(1).f_globals.get("__file__")
    base_dir = Path(caller_file).resolve().parent if caller_file else Path.cwd()
    root = Path(folder) if Path(folder).is_absolute() else base_dir / folder
    registry = registry if registry is not None else default_registry
    prefix = f"{Path(folder).name}/" if prefix is None else prefix
    checks = []
    root, names = event_names(root)
    for name, expected in names:
        if not registry.keeps_next(phase):  # another process of a split run (hookkit run --jobs) reads and runs it
            registry.leave(phase, f"{prefix}{name}")
            continue
        event_path, expect_path = event_files(root, name, expected)
        # read now: a broken file must fail the import, not the deployment; replays send these bytes
        payload = event_payload(event_path)
        spec = load_expect(expect_path) if expect_path else ExpectSpec()
        replay = _replay(event_path, payload, spec)
        checks.append(registry.add_check(replay, phase, name=f"{prefix}{name}", base_dir=base_dir, **options))
    return checks


def _replay(event_path: Path, payload: bytes, spec: ExpectSpec):
    def replay(target: Any) -> None:
        from .expect import spec_differences  # not at import: declaring checks stays cheap

        result = target.invoke_payload(payload, str(event_path))
        result.examined = True  # the expect file (or its absence: "must not raise") is the check
        found = spec_differences(result.observed, spec, base_dir=result.base_dir)
        if found:
            raise ExpectationFailed(result.observed.subject, found)

    replay.__qualname__ = replay.__name__ = f"replay_{event_path.stem}"
    return replay
