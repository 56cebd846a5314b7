"""``sam build``'s output, used instead of the sources when it is there, as ``sam local`` does.

``sam build`` writes ``.aws-sam/build/template.yaml``: the template with each built function's
``CodeUri`` (and each built layer's ``ContentUri``/``Content``) pointing at its folder next to it,
``.aws-sam/build/<LogicalId>/``, which holds the code and the packages of its ``requirements.txt``
(a built Python layer holds them under ``python/``). ``sam local`` run without ``--template``
prefers that template to the source one; a local target does the same when the build sits in the
named template's folder, so the functions run with their dependencies as packaged.

A build older than its sources runs old code: :func:`newer_source` finds a source file changed
since, so the user can be told to build again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BUILD_DIR = Path(".aws-sam") / "build"
BUILT_TEMPLATE = "template.yaml"
_MAX_FILES = 5000  # a staleness check looks at this many source files at most
_SKIPPED = frozenset({"__pycache__", "node_modules"})


@dataclass(frozen=True)
class Build:
    """The output of ``sam build`` run in a template's folder: its ``template`` (the code is next to it)."""

    template: Path


def find_build(template: Path) -> Build | None:
    """The build next to ``template``, or None (none there, or ``template`` is itself built)."""
    resolved = template.resolve()
    if BUILD_DIR.parts[0] in resolved.parts:
        return None
    built = resolved.parent / BUILD_DIR / BUILT_TEMPLATE
    return Build(built) if built.is_file() else None


def newer_source(build: Build, sources: list[Path]) -> Path | None:
    """A file among ``sources`` (files or folders, walked) changed after the build, if any.

    Hidden folders (``.git``, ``.aws-sam``, virtual environments) and caches are skipped, and
    the walk stops after a few thousand files: this is a hint, not a proof.
    """
    try:
        built_at = build.template.stat().st_mtime
    except OSError:
        return None
    seen = 0
    for source in sources:
        if source.is_file():
            if modified_at(source) > built_at:
                return source
            continue
        for folder, folders, files in os.walk(source):
            folders[:] = sorted(f for f in folders if not f.startswith(".") and f not in _SKIPPED)
            for name in sorted(files):
                seen += 1
                if seen > _MAX_FILES:
                    return None
                path = Path(folder) / name
                if modified_at(path) > built_at:
                    return path
    return None


def modified_at(path: Path) -> float:
    """A file's modification time; 0 when it cannot be read (gone, not allowed)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
