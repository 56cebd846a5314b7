"""Import checks modules named by module name or by path, turning every failure into data.

A checks module that fails to import is the classic way for a hook to crash before it reports;
here every failure, even ``SystemExit`` at import time, becomes a ``ConfigurationError`` that
names the module and the cause, and the handler reports ``Failed``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType

from . import settings
from .errors import ConfigurationError
from .registry import HookRegistry, default_registry

#: hookkit's own package folder: frames inside it are never "where the user's code failed".
_HOOKKIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_lock = threading.Lock()
_by_path: dict[Path, ModuleType] = {}
#: The file of the checks module being imported right now, for declarations made at its top level
#: that name files relative to it (``recorded_events("events")``).
_importing: ContextVar[Path | None] = ContextVar("hookkit_importing", default=None)


def importing_folder() -> Path | None:
    """The folder of the checks module hookkit is importing at this moment, if any."""
    file = _importing.get()
    return file.parent if file is not None else None


@contextlib.contextmanager
def _importing_file(file: str | Path | None) -> Iterator[None]:
    token = _importing.set(Path(file).resolve() if file else None)
    try:
        yield
    finally:
        _importing.reset(token)


def split_spec(spec: str | Iterable[str] | None) -> list[str]:
    """``"a, b"`` or ``["a", "b"]`` -> ``["a", "b"]``, dropping blanks."""
    if spec is None:
        return []
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    return [item.strip() for item in items if item and item.strip()]


def _names(spec: str | Iterable[str] | None, source: str) -> list[str]:
    names = split_spec(spec)
    if not names:
        raise ConfigurationError(
            f"{source} is empty: set it to the checks module(s) to run, e.g. {source}=checks "
            "(a module name on the function's path, or a path to a .py file or folder)"
        )
    return names


def import_checks(
    spec: str | Iterable[str] | None, *, registry: HookRegistry | None = None, source: str = settings.CHECKS
) -> list[ModuleType]:
    """Import each module once (a warm container or a second call gets the same module back).

    Registrations on ``registry`` (the default one unless given) made by a module that then fails
    to import are undone, so a retry reports the real error again.
    """
    registry = registry if registry is not None else default_registry
    modules = []
    for name in _names(spec, source):
        with _lock, registry.atomic():
            modules.extend(_import_one(name, source))
    return modules


def _looks_like_path(name: str) -> bool:
    """A bare word is a module name (as Lambda's handler setting is); ``./checks`` names a folder."""
    return name.endswith(".py") or "/" in name or "\\" in name or name in (".", "..")


def _import_one(name: str, source: str) -> list[ModuleType]:
    try:
        if _looks_like_path(name):
            return [_import_file(file, source) for file in _path_files(Path(name), source)]
        found = importlib.util.find_spec(name)
        with _importing_file(found.origin if found is not None else None):
            return [importlib.import_module(name)]
    except ConfigurationError:
        raise
    except BaseException as exc:
        raise _import_error(name, source, exc) from exc


def _import_error(name: str, source: str, exc: BaseException) -> ConfigurationError:
    if is_missing(name, exc):
        return ConfigurationError(
            f"{source}: checks module {name!r} was not found on the path; check the name, "
            "and that the module is packaged with the hook function"
        )
    return ConfigurationError(f"{source}: importing checks module {name!r} failed: {import_failure(exc)}")


def checks_modules(spec: str | Iterable[str] | None, *, source: str = settings.CHECKS) -> list[tuple[str, Path]]:
    """``(what to import, its file)`` for each checks module ``spec`` names, without importing any.

    In the order :func:`import_checks` imports them; importing the first item of each pair with
    :func:`import_checks` imports that module alone. Front ends that show checks per file (the
    pytest plugin) use it. A module name is found on the path (its parent packages are imported).
    """
    modules: list[tuple[str, Path]] = []
    for name in _names(spec, source):
        if _looks_like_path(name):
            modules.extend((str(file), file) for file in _path_files(Path(name), source))
            continue
        try:
            found = importlib.util.find_spec(name)
        except BaseException as exc:  # a parent package that does not import: said as an import failure
            raise _import_error(name, source, exc) from exc
        if found is None:
            raise _import_error(name, source, ModuleNotFoundError(name=name))
        if not found.origin or not Path(found.origin).is_file():
            raise ConfigurationError(f"{source}: checks module {name!r} has no source file (a namespace package?)")
        modules.append((name, Path(found.origin)))
    return modules


def is_missing(module_name: str, exc: BaseException) -> bool:
    """Whether importing ``module_name`` failed because that module itself (or its package) is absent,
    rather than because something it imports is."""
    return isinstance(exc, ModuleNotFoundError) and bool(exc.name) and (
        module_name == exc.name or module_name.startswith(f"{exc.name}.")
    )


def import_failure(exc: BaseException) -> str:
    """What went wrong importing user code, and where: the line of a SyntaxError, else the
    exception and the innermost frame of its traceback that is the user's (not the import
    system's, nor hookkit's own: a RegistrationError points at the declaration that caused it)."""
    if isinstance(exc, SyntaxError):
        line = f"{exc.filename}:{exc.lineno}" if exc.filename else "?"
        return describe_failure("SyntaxError", exc.msg, line, syntax=True)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    # the innermost line of the user's code: a check declared wrongly fails inside hookkit's registry
    users = [f for f in frames if not os.path.abspath(f.filename).startswith(_HOOKKIT_DIR)] or frames
    place = f"{users[-1].filename}:{users[-1].lineno}" if users else None
    return describe_failure(type(exc).__name__, str(exc), place)


def describe_failure(type_name: str, message: str, where: str | None, *, syntax: bool = False) -> str:
    """:func:`import_failure`'s words, also for a failure seen in another process (a local function's
    environment sends the exception's type, message and ``file:line``); a message that already names
    the place gets no second ``(at ...)``."""
    if syntax:
        return f"SyntaxError at {where}: {message}"
    return f"{type_name}: {message}" + (f" (at {where})" if where and where not in message else "")


def _path_files(path: Path, source: str) -> list[Path]:
    """A file, a package folder (its ``__init__.py``), or a plain folder's every ``*.py`` (not ``_*``)."""
    path = path.resolve()
    if path.is_dir():
        init = path / "__init__.py"
        if not init.exists():
            files = sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
            if not files:
                raise ConfigurationError(f"{source}: folder {path} holds no checks (*.py files)")
            return files
        path = init
    if not path.exists():
        raise ConfigurationError(f"{source}: checks file {path} does not exist; check the path")
    return [path]


def _import_file(path: Path, source: str) -> ModuleType:
    if path in _by_path:
        return _by_path[path]
    module_name = f"hookkit_checks_{abs(hash(path)):x}_{path.stem}"
    spec = importlib.util.spec_from_file_location(
        module_name, path, submodule_search_locations=[str(path.parent)] if path.name == "__init__.py" else None
    )
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"{source}: {path} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    # the checks' own folder on the path, so a checks file can import its helpers as Lambda would
    folder = str(path.parent if path.name != "__init__.py" else path.parent.parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        with _importing_file(path):
            spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    finally:
        if added:
            sys.path.remove(folder)
    _by_path[path] = module
    return module
