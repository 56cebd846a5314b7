"""Does the interpreter that runs a function have what its ``requirements.txt`` asks for?

In Lambda a function's packages come with it: ``sam build`` installs its ``requirements.txt`` into
the package. A local target runs the code folder as it is, so unless ``sam build``'s output is used
(see :mod:`hookkit.local.build`) the packages must be installed where the function runs, and a
missing one surfaces as ``No module named 'requests'`` on import. These functions say instead
what is missing and the two fixes.

For whoever runs the function (the invoker, ``hookkit run``):

- :func:`explain_missing_module` when the handler's import fails with ``ModuleNotFoundError``:
  pass the spec, the missing module's name (``exc.name``) and the interpreter that ran the import;
  it returns a sentence to put after the import error (or None: nothing to add, keep your own
  advice). A missing module of the function's own code is not explained away.
- :func:`requirements_warning` up front, for a warning before any check runs (None when all is
  there or nothing can be told).

``python`` is the interpreter that runs the function, a command or path (``python3.12``,
``/usr/bin/python3.12``); None finds the one a local target runs it under, as the invoker does (its
``Runtime``'s on ``PATH``, else, or if that one cannot be asked, hookkit's own). An interpreter
other than hookkit's is asked once per run in a subprocess (about 50 ms). Requirements are read
with ``packaging`` and checked against the distributions visible from the function's own
``sys.path`` entries (:func:`hookkit.local.runtime.code_path`: its code folder, its layers'
folders) and the interpreter's ``sys.path``; markers (``; python_version < "3.12"``) are evaluated
for that interpreter. Lines that are not requirements (``-e``, URLs, paths, options) are not
checked; ``-r other.txt`` is followed. Results are cached per interpreter and set of folders for
the run.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion

from .build import modified_at
from .layers import OPT_PYTHON
from .runtime import code_path, find_interpreter
from .sam import FunctionSpec, shown_path

REQUIREMENTS_FILE = "requirements.txt"
_QUERY_TIMEOUT = 30.0  # seconds for another interpreter to list its distributions
_OPTION = re.compile(r"\s+--?[A-Za-z]")  # per-requirement options: --hash=..., --config-settings
_INCLUDE = re.compile(r"^(?:-r\s*|--requirement(?:\s+|=))(?P<file>\S+)$")

# What another interpreter runs to report its distributions and marker environment: stdlib only.
_QUERY = r"""
import json, os, platform, re, sys
from importlib import metadata
versions = {}
for dist in metadata.distributions(path=sys.argv[1:] + sys.path):
    name = dist.metadata["Name"]
    if name:
        versions.setdefault(re.sub(r"[-_.]+", "-", name).lower(), dist.version)
info = sys.implementation
env = {
    "implementation_name": info.name,
    "implementation_version": "{0.major}.{0.minor}.{0.micro}".format(info.version),
    "os_name": os.name, "platform_machine": platform.machine(), "platform_release": platform.release(),
    "platform_system": platform.system(), "platform_version": platform.version(),
    "python_full_version": platform.python_version(), "platform_python_implementation":
    platform.python_implementation(), "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
print(json.dumps({"versions": versions, "environment": env, "executable": sys.executable}))
"""


@dataclass(frozen=True)
class Unmet:
    """A requirement the interpreter does not satisfy: missing, or another version installed."""

    requirement: str
    file: Path
    installed: str | None

    def __str__(self) -> str:
        state = "not installed" if self.installed is None else f"{self.installed} installed"
        return f"{self.requirement} ({state})"


@dataclass(frozen=True)
class _Inventory:
    label: str
    executable: str
    #: The version of the distribution of that canonical name the interpreter sees first, if any.
    version: Callable[[str], str | None]
    environment: dict[str, str]


class _Installed:
    """The distributions hookkit's own interpreter sees (``path`` first), looked up by name when asked.

    Reading every installed distribution's metadata to compare a few requirements costs tens of
    milliseconds on each ``hookkit run``; a lookup by name reads only the ones asked for.
    """

    def __init__(self, path: list[str]) -> None:
        self.path = path
        self.found: dict[str, str | None] = {}

    def __call__(self, name: str) -> str | None:
        if name not in self.found:
            self.found[name] = next(
                (dist.version for dist in metadata.distributions(name=name, path=self.path)
                 if dist.metadata["Name"] and canonicalize_name(dist.metadata["Name"]) == name),
                None,
            )
        return self.found[name]


def requirement_files(spec: FunctionSpec) -> list[Path]:
    """The ``requirements.txt`` files whose packages the function needs: its code folder's and
    each layer's (in ``python/``, where a built layer's packages go)."""
    candidates = [spec.code_uri / REQUIREMENTS_FILE, *(root / OPT_PYTHON / REQUIREMENTS_FILE for root in spec.layers)]
    return [path for path in candidates if path.is_file()]


def requirements_warning(spec: FunctionSpec, *, python: str | None = None) -> str | None:
    """A warning naming what is missing and the fixes, for before any check runs; else None."""
    hint = _requirements_hint(spec, python)
    return None if hint is None else f"{spec.logical_id}: {hint}"


def explain_missing_module(spec: FunctionSpec, module: str | None, *, python: str | None = None) -> str | None:
    """Why importing the handler found no module ``module``, and the fix; None to add nothing.

    Unmet requirements come first; else layers that are not available locally (the module may
    be theirs). A module that the code folder itself should hold is the code's own problem.
    """
    top = (module or "").partition(".")[0]
    if top and _is_own_module(spec, top):
        return None
    hint = _requirements_hint(spec, python)
    if hint is not None:
        return hint
    if spec.remote_layers:
        arns = ", ".join(spec.remote_layers)
        what = f"{top!r} may be provided" if top else "the module may be provided"
        return (
            f"{what} by a layer that is not available locally ({arns}): install what the layer provides "
            "where the function runs locally (pip install ...), or add it to the function's requirements.txt"
        )
    return None


def _requirements_hint(spec: FunctionSpec, python: str | None) -> str | None:
    files = requirement_files(spec)
    if not files:
        return None
    paths = tuple(code_path(spec))
    if python is None:  # the Python a local target runs it under; one that cannot be asked, hookkit's own
        found, _ = find_interpreter(spec, os.environ.get("PATH"))
        inventory = _inventory(found.executable, paths) or _inventory(None, paths)
    else:
        inventory = _inventory(python, paths)
    if inventory is None:
        return None
    unmet = list(_unmet(files, inventory))
    if not unmet:
        return None
    named = sorted({shown_path(u.file) for u in unmet})
    folder = _build_folder(spec)
    install = " ".join(f"-r {shown_path(f)}" for f in dict.fromkeys(u.file for u in unmet))
    return (
        f"{' and '.join(named)} {'ask' if len(named) > 1 else 'asks'} for what {inventory.label} does not have: "
        f"{', '.join(map(str, unmet))}; run `sam build` in {folder} (hookkit then runs its output, as sam "
        f"local does), or install them for that interpreter: {inventory.executable} -m pip install {install}"
    )


def _build_folder(spec: FunctionSpec) -> str:
    template = spec.template
    if template is None:
        return "the template's folder"
    shown = shown_path(template.parent)
    return shown if shown != "." else "this folder"


def _is_own_module(spec: FunctionSpec, top: str) -> bool:
    folder = spec.code_uri
    return (folder / top).is_dir() or (folder / f"{top}.py").is_file()


def _unmet(files: list[Path], inventory: _Inventory) -> Iterable[Unmet]:
    for text, file in _requirements(tuple((file, modified_at(file)) for file in files)):
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue  # a URL, a path, an option: nothing to compare
        if requirement.marker is not None and not requirement.marker.evaluate({**inventory.environment, "extra": ""}):
            continue
        installed = inventory.version(canonicalize_name(requirement.name))
        if installed is None:
            yield Unmet(text, file, None)
            continue
        try:
            satisfied = requirement.specifier.contains(installed, prereleases=True)
        except InvalidVersion:
            satisfied = True  # a version packaging cannot read: cannot tell, so do not complain
        if not satisfied:
            yield Unmet(text, file, installed)


@functools.lru_cache(maxsize=64)
def _requirements(files: tuple[tuple[Path, float], ...]) -> tuple[tuple[str, Path], ...]:
    """The requirement lines of ``files`` (each with its modification time, so an edit is re-read)."""
    found: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    for file, _ in files:
        _read(file, found, seen)
    return tuple(found)


def _read(file: Path, found: list[tuple[str, Path]], seen: set[Path]) -> None:
    resolved = file.resolve()
    if resolved in seen:
        return
    seen.add(resolved)
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    for line in text.replace("\\\n", " ").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line:
            continue
        include = _INCLUDE.match(line)
        if include:
            _read(file.parent / include["file"], found, seen)
        elif not line.startswith("-"):
            found.append((_OPTION.split(line, maxsplit=1)[0].strip(), file))


@functools.lru_cache(maxsize=16)
def _inventory(python: str | None, paths: tuple[str, ...]) -> _Inventory | None:
    """The distributions the interpreter sees (with ``paths`` first) and its marker environment."""
    if python is None or python == sys.executable:
        label = f"Python {sys.version_info.major}.{sys.version_info.minor} ({sys.executable})"
        environment = {key: str(value) for key, value in default_environment().items()}
        return _Inventory(label, sys.executable, _Installed([*paths, *sys.path]), environment)
    try:
        done = subprocess.run(  # noqa: S603 - the interpreter the function runs on, with a fixed script
            [python, "-c", _QUERY, *paths], capture_output=True, text=True, timeout=_QUERY_TIMEOUT, check=True,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        )
        answer = json.loads(done.stdout)
        versions = {str(k): str(v) for k, v in answer["versions"].items()}
        return _Inventory(
            f"{python} ({answer['executable']})", str(answer["executable"]), versions.get,
            {str(k): str(v) for k, v in answer["environment"].items()},
        )
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError, AttributeError):
        return None  # cannot ask that interpreter: say nothing rather than something wrong
