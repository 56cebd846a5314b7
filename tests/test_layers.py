"""The package's layers (DESIGN.md section 3): imports only point down, and the hook loads no CI code.

    ci            the CLI, reports, the pytest plugin, the wiring they share
    hook | local  the Lambda side | the offline side; neither imports the other
    checks        what a check uses
    core          registry, runner, outcomes: no AWS, no HTTP, no YAML

Imports are read from the source (every ``import`` statement, those inside functions included,
since a lazy import is still an arrow), so a new module cannot slip past by importing late.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hookkit"
LAYERS = ("core", "checks", "hook", "local", "ci")
#: What each layer may import, besides itself.
ALLOWED = {
    "core": set(),
    "checks": {"core"},
    "hook": {"core", "checks"},
    "local": {"core", "checks"},
    "ci": {"core", "checks", "hook", "local", "top"},
    "top": {"core", "checks", "hook"},  # hookkit/__init__, __main__, testing: what `import hookkit` loads
}
#: Third-party packages core must not import: it runs everywhere, with nothing but the standard library
#: and Powertools' logger.
CORE_FORBIDDEN = ("boto3", "botocore", "requests", "urllib3", "yaml", "jsonschema")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    if module == "hookkit.__main__":  # python -m hookkit is the command line
        return "ci"
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "top"


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (absolute names), with the line of the import."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).split(".") if path.name == "__init__.py" else module_name(path).split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            if node.level and not node.module:  # "from .. import x": x may be a module
                found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_sits_in_a_layer() -> None:
    stray = [p for p in SOURCES if p.parent != PACKAGE and p.relative_to(PACKAGE).parts[0] not in LAYERS]
    assert not stray


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    own = layer(module_name(path))
    wrong = []
    for line, target in imports(path):
        if target.split(".")[0] == "hookkit":
            other = layer(target)
            if other != own and other not in ALLOWED[own]:
                wrong.append(f"line {line}: {own} imports {target} ({other})")
        elif own == "core" and target.split(".")[0] in CORE_FORBIDDEN:
            wrong.append(f"line {line}: core imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    known = {module_name(p) for p in SOURCES}
    for path in SOURCES:
        name = module_name(path)
        graph[name] = set()
        for _, target in imports(path):
            while target and target not in known:  # "hookkit.core.errors.X" names the module hookkit.core.errors
                target = target.rpartition(".")[0]
            # a package's __init__ is not an edge back into its own modules, nor a module into its package
            if target and target != name and not name.startswith(f"{target}.") and target != "hookkit":
                graph[name].add(target)
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_the_lambda_hook_path_loads_no_ci_or_local_code() -> None:
    """What ``Handler: hookkit.handler`` loads on its first delivery, in a fresh interpreter."""
    code = (
        "import json, sys\n"
        "import hookkit, hookkit.hook.handler\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('hookkit'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(done.stdout)
    assert "hookkit.hook.handler" in loaded
    assert not [m for m in loaded if layer(m) in ("ci", "local")], loaded
    done = subprocess.run(
        [sys.executable, "-c", "import json, sys, hookkit; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    heavy = {"boto3", "botocore", "requests", "jsonschema", "yaml"} & set(json.loads(done.stdout))
    assert not heavy, f"import hookkit loads {heavy}: declaring checks must stay cheap"


def test_the_fallback_path_loads_no_check_running_ci_or_local_code() -> None:
    """``Handler: hookkit.fallback`` only reports: it must start even where the checks could not."""
    code = (
        "import json, sys\n"
        "import hookkit, hookkit.hook.fallback\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('hookkit'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(done.stdout)
    assert "hookkit.hook.fallback" in loaded
    assert not [m for m in loaded if layer(m) in ("ci", "local")], loaded
    assert not {"hookkit.hook.handler", "hookkit.core.runner", "hookkit.checks.target"} & set(loaded), loaded
