"""Environment variable overrides for local targets, with ``sam local invoke --env-vars``' rules.

A function's variables built from ``!Ref``/``!GetAtt`` (a table's name, a queue's URL) exist only in
a deployed stack; locally they need values from somewhere. SAM CLI's answer, kept here so that the
same ``env.json`` serves both tools:

- the file is a JSON object; ``"Parameters"`` holds values for every function, and a function's own
  object (keyed by logical id, else by ``FunctionName``) holds values for it alone, winning over
  ``"Parameters"``;
- a value from the shell's environment wins over the template's, and a value from the file wins
  over both;
- only variables the template declares for the function are set: others are ignored;
- values are strings for Lambda: ``true``/``false`` for booleans, numbers as written, and an
  empty string for ``null``, lists and objects (which SAM CLI takes for unresolved intrinsics).

SAM CLI also reads ``.env`` files for ``--env-vars``; hookkit reads JSON only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..core.errors import ConfigurationError

ALL_FUNCTIONS = "Parameters"  # the key whose values apply to every function
_EXAMPLE = '{"OrdersFunction": {"TABLE_NAME": "orders-dev"}, "Parameters": {"LOG_LEVEL": "DEBUG"}}'

Source = Literal["template", "shell", "env-vars"]


@dataclass(frozen=True)
class EnvVarsFile:
    """A parsed ``--env-vars`` file: values for all functions and values per function."""

    path: Path
    everywhere: dict[str, Any]
    functions: dict[str, dict[str, Any]]

    def section(self, *names: str) -> tuple[str | None, dict[str, Any]]:
        """The first non-empty section named by ``names`` (logical id first, then FunctionName,
        as SAM CLI looks them up) and its values."""
        for name in names:
            values = self.functions.get(name)
            if values:
                return name, values
        return None, {}

    def overrides(self, *names: str) -> dict[str, Any]:
        """``"Parameters"``' values, overridden by the function's own section."""
        return {**self.everywhere, **self.section(*names)[1]}


def load_env_vars(path: str | os.PathLike[str]) -> EnvVarsFile:
    """Read an ``--env-vars`` file; anything but SAM CLI's JSON shape is a ConfigurationError."""
    source = Path(path)
    shape = f"the format is SAM CLI's: {_EXAMPLE}"
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"--env-vars {source} does not exist; pass the path of a JSON file ({shape})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"--env-vars {source} cannot be read ({exc}); pass a UTF-8 JSON file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"--env-vars {source}, line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg}); fix the "
            f"file ({shape})"
        ) from None
    except (RecursionError, ValueError) as exc:  # nested too deeply, an integer too long to read
        raise ConfigurationError(f"--env-vars {source}: invalid JSON ({exc}); fix the file ({shape})") from None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"--env-vars {source} holds a JSON {_json_type(data)}, not an object of functions to variables; "
            f"{shape}"
        )
    functions: dict[str, dict[str, Any]] = {}
    for key, values in data.items():
        if not isinstance(values, dict):
            raise ConfigurationError(
                f"--env-vars {source}: {key!r} holds a JSON {_json_type(values)}; each key (a function's "
                f"logical id or FunctionName, or \"Parameters\" for every function) holds an object of "
                f"variable names to values: {shape}"
            )
        functions[key] = values
    everywhere = functions.pop(ALL_FUNCTIONS, {})
    return EnvVarsFile(source, everywhere, functions)


def sam_string(value: Any) -> str:
    """A value as SAM CLI passes it to the function: Lambda's variables are strings."""
    if value is None or isinstance(value, (dict, list, tuple)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolve_environment(
    declared: Mapping[str, str], *, shell: Mapping[str, str], overrides: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, Source]]:
    """The function's variables, and where each value came from: file over shell over template."""
    values: dict[str, str] = {}
    sources: dict[str, Source] = {}
    for name, value in declared.items():
        values[name], sources[name] = value, "template"
        if name in shell:
            values[name], sources[name] = shell[name], "shell"
        if name in overrides:
            values[name], sources[name] = sam_string(overrides[name]), "env-vars"
    return values, sources


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
