"""What doctor learns from a hook's code: where it is, whether the checks module is there, what it declares.

The checks module is user code, so it is imported in a child process (:mod:`.probe`), one per
hook code and module, never in doctor's own: it may print, hang, exit or leave modules behind,
and every hook gets a fresh default registry to register into (checks use ``@pre_traffic``, which
registers in the default one). The child reports each check's phase and options as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ...core import settings
from ...core.loader import split_spec
from ...core.phases import Phase
from ...core.redact import redact_text
from .model import Hook, SamTemplate, literal, referenced_resource

SERVERLESS_LAYER = "AWS::Serverless::LayerVersion"
#: How long importing one checks module may take before doctor gives up on it.
PROBE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class CheckInfo:
    """One declared check: its phase and how long it may take at most."""

    name: str
    phase: Phase
    timeout: float
    retries: int
    retry_delay: float
    blocking: bool = True
    #: the resources it asks for by name (``target``, ``api``, ...)
    params: tuple[str, ...] = ()

    @property
    def longest_s(self) -> float:
        """Every try running to its timeout, with the delays between tries."""
        return self.timeout * (1 + self.retries) + self.retry_delay * self.retries

    def explain(self) -> str:
        """``32 s (10 s x 3 tries + 2 x 1 s between)``: the longest time, and how it adds up."""
        if not self.retries:
            return f"{self.longest_s:g} s"
        return (f"{self.longest_s:g} s ({self.timeout:g} s x {1 + self.retries} tries + {self.retries} x "
                f"{self.retry_delay:g} s between)")


@dataclass(frozen=True)
class Probe:
    """What importing a checks module declared, or why it could not be imported."""

    checks: tuple[CheckInfo, ...] = ()
    error: str | None = None

    def of_phase(self, phase: Phase) -> list[CheckInfo]:
        return [check for check in self.checks if check.phase is phase]


@dataclass(frozen=True)
class HookCode:
    """Where a hook's code is (``folder``, its CodeUri as ``shown``; None with ``why_not``) and the folders
    its modules load from."""

    folder: Path | None
    search: tuple[Path, ...] = ()
    why_not: str = ""
    shown: str = ""

    def locate(self, spec: str) -> Path | None:
        """The file or folder ``spec`` (a module name or a path, as ``HOOKKIT_CHECKS`` has it) names, if there."""
        if self.folder is None:
            return None
        if spec.endswith(".py") or "/" in spec or "\\" in spec or spec in (".", ".."):
            candidate = self.folder / spec  # Lambda runs with the code folder as its working directory
            return candidate if candidate.exists() else None
        parts = spec.split(".")
        for root in self.search:
            base = root.joinpath(*parts)
            for candidate in (base.with_name(base.name + ".py"), base / "__init__.py", base):
                if candidate.exists():
                    return candidate
        return None

    def modules(self) -> list[str]:
        """The top-level Python modules in the code folder, to suggest one."""
        if self.folder is None:
            return []
        return sorted(p.stem for p in self.folder.glob("*.py") if not p.name.startswith("_"))


class CodeReader:
    """Reads the code of one template's hooks; probes each checks module once."""

    _readers: ClassVar[weakref.WeakKeyDictionary[Any, CodeReader]] = weakref.WeakKeyDictionary()

    def __init__(self, sam: SamTemplate, template_file: str | None) -> None:
        self.sam = sam
        self.template_dir = Path(template_file).resolve().parent if template_file else None
        self._probes: dict[tuple[Any, ...], Probe] = {}

    @classmethod
    def of(cls, key: Any, sam: SamTemplate, template_file: str | None) -> CodeReader:
        """The reader for one template (``key``: the object that stands for it, while it lives)."""
        reader = cls._readers.get(key)
        if reader is None:
            reader = cls._readers[key] = cls(sam, template_file)
        return reader

    def code(self, hook: Hook) -> HookCode:
        if self.template_dir is None:
            return HookCode(None, why_not="the template was read from standard input, so its folder is unknown")
        uri = hook.properties.get("CodeUri")
        if uri is None:
            why = "it has InlineCode" if "InlineCode" in hook.properties else "it has no CodeUri"
            return HookCode(None, why_not=why)
        text = literal(uri)
        if text is None or text.startswith("s3://"):
            return HookCode(None, why_not="its CodeUri is not a local folder (it is in S3, or computed at deploy time)")
        folder = (self.template_dir / text).resolve()
        if not folder.is_dir():
            return HookCode(None, why_not=f"its CodeUri {text!r} is not a folder ({folder})")
        return HookCode(folder, (folder, *self._layer_folders(hook, self.template_dir)), shown=f"CodeUri {text}")

    def _layer_folders(self, hook: Hook, template_dir: Path) -> list[Path]:
        """``python/`` of each layer of this template the hook uses, where Lambda would find modules."""
        folders = []
        layers = hook.properties.get("Layers")
        for layer in layers if isinstance(layers, list) else []:
            name = referenced_resource(layer)
            content = literal(self.sam.properties(name).get("ContentUri")) if name else None
            if name and self.sam.type_of(name) == SERVERLESS_LAYER and content:
                folder = template_dir / content / "python"
                if folder.is_dir():
                    folders.append(folder.resolve())
        return folders

    def declared(self, hook: Hook) -> tuple[str, Probe] | None:
        """The hook's ``HOOKKIT_CHECKS`` and what importing it declares, with the hook's literal environment.

        None when there is nothing to import: no such setting, no code folder, a module not there
        (the rules that read the code say which).
        """
        spec = literal(hook.variables.get(settings.CHECKS))
        names = split_spec(spec) if spec else []
        code = self.code(hook)
        if spec is None or not names or code.folder is None or any(code.locate(name) is None for name in names):
            return None
        environment = {name: text for name, value in hook.variables.items() if (text := literal(value)) is not None}
        key = (code.folder, code.search, spec, tuple(sorted(environment.items())))
        if key not in self._probes:
            self._probes[key] = run_probe(code.folder, code.search, spec, environment)
        return spec, self._probes[key]


def run_probe(
    folder: Path, search: Sequence[Path], spec: str, environment: Mapping[str, str], *, timeout: float = PROBE_TIMEOUT_S
) -> Probe:
    """Import ``spec`` in a child process started in ``folder``; its checks, or why importing failed."""
    command = [sys.executable, "-P", "-m", "hookkit.ci.doctor.probe", spec, *map(str, search)]
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, the user's module name as data
            command, cwd=folder, env={**os.environ, **environment}, capture_output=True, text=True,
            timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        return Probe(error=f"importing it did not finish within {timeout:g} s")
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        tail = done.stderr.strip().splitlines()[-3:]
        return Probe(error=redact_text(" / ".join(tail) or f"the import process ended with code {done.returncode}"))
    if answer.get("error"):
        return Probe(error=redact_text(str(answer["error"])))
    return Probe(checks=tuple(
        CheckInfo(c["name"], Phase(c["phase"]), float(c["timeout"]), int(c["retries"]), float(c["retry_delay"]),
                  bool(c["blocking"]), tuple(map(str, c.get("params", ()))))
        for c in answer.get("checks", [])
    ))
