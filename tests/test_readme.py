"""Every code block of the README is exercised: what a user copies must work.

A block's treatment comes from its language, and for Python from a marker comment on the lines
just above its fence (``<!-- readme: run -->``):

- ``yaml``: parsed with the loader ``hookkit run`` reads SAM templates with (CloudFormation
  tags); every ``hookkit`` command in its strings (a workflow's ``run:``, a job's ``script:``)
  is checked as a bash line is.
- ``json``: parsed; marked ``report``: it has the keys of the report ``hookkit run --json`` writes.
- ``bash``: each ``hookkit`` command parsed by hookkit's real argparse parser, ``make`` targets
  found in the Makefile, ``pytest --hookkit-*`` options found in the plugin, ``pip install``
  extras found in pyproject.toml and wheel names carrying hookkit's version.
- ``text`` or none: nothing; marked ``synopsis``: every ``--option`` exists for its command.
- ``python``, marked ``run``: written as a checks module next to the example's events and
  schemas and run with ``hookkit run`` against the example function (it must exit 0);
  ``fragment``: the same after ``from hookkit import *``; ``typecheck``: ``mypy --strict``.

A Python block without a marker, a marker naming no treatment, or a language with no treatment
fails :func:`test_every_block_has_a_treatment`, so a block someone adds is exercised from the
start. ``$VAR``, ``${VAR}`` and GitHub's ``${{ ... }}`` in commands are read as ``1``.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hookkit import __version__
from hookkit.ci import pytest_plugin
from hookkit.ci.cli import build_parser, main
from hookkit.local.sam import load_template

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
HOOKS = ROOT / "example_hooks" / "orders" / "hooks"
TEMPLATE = ROOT / "template.yaml"

PYTHON_TREATMENTS = {"run", "fragment", "typecheck"}
TEXT_TREATMENTS = {"synopsis"}
JSON_TREATMENTS = {"report"}
LANGUAGES = {"yaml", "yml", "json", "bash", "sh", "shell", "python", "text", ""}

_FENCE = re.compile(r"^\s*```([\w+-]*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*readme:\s*(.*?)\s*-->\s*$")
_COMMENT = re.compile(r"^\s*<!--.*-->\s*$")


@dataclass
class Block:
    line: int
    language: str
    code: str
    treatments: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"README.md:{self.line}"


def blocks(text: str | None = None) -> list[Block]:
    """The fenced blocks of the README, each with the treatments its marker comments name."""
    lines = (README.read_text() if text is None else text).splitlines()
    found, index = [], 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        treatments = []
        above = index - 1
        while above >= 0 and _COMMENT.match(lines[above]):
            marker = _MARKER.match(lines[above])
            if marker:
                treatments += marker.group(1).split()
            above -= 1
        found.append(Block(index + 1, fence.group(1).lower(), "\n".join(lines[index + 1:end]) + "\n", treatments))
        index = end + 1
    return found


def of(*languages: str) -> list[Any]:
    return [pytest.param(b, id=str(b)) for b in blocks() if b.language in languages]


def marked(treatment: str) -> list[Any]:
    return [pytest.param(b, id=str(b)) for b in blocks() if treatment in b.treatments]


def problems(block: Block) -> list[str]:
    """What keeps ``block`` from being exercised; empty when it has a treatment."""
    if block.language not in LANGUAGES:
        return [f"{block}: no treatment for ```{block.language} blocks; add one to tests/test_readme.py"]
    allowed = {"python": PYTHON_TREATMENTS, "text": TEXT_TREATMENTS, "": TEXT_TREATMENTS,
               "json": JSON_TREATMENTS}.get(block.language, set())
    unknown = [t for t in block.treatments if t not in allowed]
    if unknown:
        return [f"{block}: unknown treatment(s) {unknown} for a ```{block.language} block; use {sorted(allowed)}"]
    if block.language == "python" and not block.treatments:
        return [f"{block}: a Python block needs a marker on the line above it: <!-- readme: run --> "
                "(a checks module that runs against the example), fragment (the same after "
                "`from hookkit import *`) or typecheck (mypy --strict)"]
    return []


def test_every_block_has_a_treatment() -> None:
    found = blocks()
    assert len(found) >= 15, "the README's code blocks were not found"
    assert [p for b in found for p in problems(b)] == []


def test_a_block_without_a_treatment_is_refused() -> None:
    text = "intro\n```python\nprint(1)\n```\n<!-- readme: ruun -->\n```python\nx = 1\n```\n```ruby\nputs 1\n```\n"
    found = [p for b in blocks(text) for p in problems(b)]
    assert len(found) == 3
    assert "README.md:2: a Python block needs a marker" in found[0]
    assert "unknown treatment(s) ['ruun']" in found[1]
    assert "no treatment for ```ruby" in found[2]


# --- yaml and json ---------------------------------------------------------------------------------


@pytest.mark.parametrize("block", of("yaml", "yml"))
def test_yaml_blocks_parse_and_their_hookkit_commands_parse(block: Block, tmp_path: Path) -> None:
    path = tmp_path / "block.yaml"
    path.write_text(block.code)
    data = load_template(path)  # a ConfigurationError names the line and column
    for text in strings(data):
        for line in text.splitlines():
            check_command_line(line)


def test_a_broken_yaml_block_is_caught(tmp_path: Path) -> None:
    """The snippet the README once showed: braces in a flow mapping are not YAML."""
    from hookkit.core.errors import ConfigurationError

    path = tmp_path / "block.yaml"
    path.write_text("GetOrder: {Type: Api, Properties: {Path: /orders/{orderId}, Method: get}}\n")
    with pytest.raises(ConfigurationError, match="invalid YAML"):
        load_template(path)


@pytest.mark.parametrize("block", of("json"))
def test_json_blocks_parse(block: Block) -> None:
    json.loads(block.code)


@pytest.mark.parametrize("block", marked("report"))
def test_a_json_report_shown_has_the_shape_hookkit_run_writes(block: Block) -> None:
    from hookkit.ci.reports import Report, to_json
    from hookkit.core.outcome import Outcome, RunResult, Status
    from hookkit.core.phases import Phase

    phase = Phase.BEFORE_ALLOW_TRAFFIC
    real = to_json(Report((RunResult.from_outcomes(phase, [Outcome("c", phase, Status.PASSED)]),)))
    shown = json.loads(block.code)
    assert shown.keys() == real.keys() and shown["run"].keys() == real["run"].keys()
    assert shown["phases"][0].keys() == real["phases"][0].keys()
    assert shown["phases"][0]["checks"][0].keys() == real["phases"][0]["checks"][0].keys()


def strings(data: Any) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for value in data.values() for s in strings(value)]
    if isinstance(data, list):
        return [s for value in data for s in strings(value)]
    return []


# --- bash and synopses -----------------------------------------------------------------------------


@pytest.mark.parametrize("block", of("bash", "sh", "shell"))
def test_bash_blocks_name_real_commands_options_and_targets(block: Block) -> None:
    for line in logical_lines(block.code):
        check_command_line(line)


def logical_lines(code: str) -> list[str]:
    """Lines with their ``\\`` continuations joined."""
    return [line for line in code.replace("\\\n", " ").splitlines() if line.strip()]


_VARIABLES = re.compile(r"\$\{\{.*?\}\}|\$\{\w+\}|\$\w+")


def check_command_line(line: str) -> None:
    """Every command of a shell line that names hookkit, make, pytest or pip install must work."""
    words = shlex.split(_VARIABLES.sub("1", line), comments=True)
    command: list[str] = []
    for word in [*words, ";"]:
        if word in (";", "&&", "||", "|"):
            if command:
                check_command(command)
            command = []
        else:
            command.append(word)


def check_command(words: list[str]) -> None:
    if words[0] == "hookkit":
        check_hookkit(words[1:])
    elif words[0] == "make":
        targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
        assert set(words[1:]) <= targets, f"make {words[1:]}: the Makefile has {sorted(targets)}"
    elif words[0] == "pytest" or words[:3] == ["python", "-m", "pytest"]:
        check_pytest(words)
    elif words[:2] == ["pip", "install"]:
        check_pip(words[2:])


def check_hookkit(args: list[str]) -> None:
    try:
        build_parser().parse_args(args)
    except SystemExit as exc:
        assert exc.code == 0, f"hookkit {shlex.join(args)}: the parser refuses it"


def plugin_options() -> set[str]:
    names: set[str] = set()

    class Group:
        def addoption(self, *opts: str, **_: Any) -> None:
            names.update(opts)

    class Parser:
        def getgroup(self, *_: Any, **__: Any) -> Group:
            return Group()

    pytest_plugin.pytest_addoption(Parser())  # type: ignore[arg-type]
    return names


def check_pytest(words: list[str]) -> None:
    known = plugin_options()
    for index, word in enumerate(words):
        name = word.split("=", 1)[0]
        if name.startswith("--hookkit"):
            assert name in known, f"{shlex.join(words)}: the plugin has no option {name}; it has {sorted(known)}"
            if "=" not in word:
                assert index + 1 < len(words) and not words[index + 1].startswith("-"), f"{name} needs a value"


def check_pip(args: list[str]) -> None:
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    for arg in args:
        for named in re.findall(r"\[([\w,-]+)\]", arg):
            assert set(named.split(",")) <= extras, f"pip install {arg}: hookkit's extras are {sorted(extras)}"
        wheel = re.search(r"hookkit-([\w.]+)-py3-none-any\.whl", arg)
        if wheel:
            assert wheel.group(1) == __version__, f"{arg}: hookkit's version is {__version__}"


def test_the_command_checks_catch_what_would_not_work() -> None:
    for line in ("hookkit run checks.py --target", "hookkit run checks.py --deadline -1", "hookkit runn x",
                 "make no-such-target", "pytest --hookkit-taget x", "pip install './hookkit[nope]'",
                 "pip install dist/hookkit-9.9.9-py3-none-any.whl", "hookkit run x --api localhost:3000"):
        with pytest.raises(AssertionError):
            check_command_line(line)
    check_command_line("hookkit run x --shard ${{ matrix.shard }}/$CI_NODE_TOTAL && make test  # comment")


@pytest.mark.parametrize("block", marked("synopsis"))
def test_synopses_name_only_real_options(block: Block) -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    current = None
    for line in block.code.splitlines():
        words = line.split()
        if words[:1] == ["hookkit"]:
            current = commands.get(words[1]) if not words[1].startswith("-") else parser
            assert current is not None, f"{block}: hookkit has no command {words[1]!r}"
        assert current is not None, f"{block}: a synopsis starts with 'hookkit ...'"
        for option in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", line):
            assert option in current._option_string_actions, f"{block}: {option} is not an option of {line!r}"


# --- python ----------------------------------------------------------------------------------------




def example_folder(tmp_path: Path) -> Path:
    """A folder laid out as the README's examples assume: events/ (the example's, and its api/
    events at the top too) and schemas/."""
    shutil.copytree(HOOKS / "events", tmp_path / "events")
    for event in (HOOKS / "events" / "api").glob("*.json"):
        shutil.copy(event, tmp_path / "events" / event.name)
    shutil.copytree(HOOKS / "schemas", tmp_path / "schemas")
    return tmp_path


@pytest.mark.parametrize("block", [*marked("run"), *marked("fragment")])
def test_python_blocks_run_against_the_example_function(
    block: Block, tmp_path: Path, capsys: pytest.CaptureFixture[str], fresh_default_registry: None
) -> None:
    folder = example_folder(tmp_path)
    preamble = "from hookkit import *  # noqa: F403\n" if "fragment" in block.treatments else ""
    checks = folder / "readme_block.py"
    checks.write_text(preamble + block.code)
    code = main(["run", str(checks), "--target", f"local:{TEMPLATE}#OrdersFunction",
                 "--current", f"local:{TEMPLATE}#OrdersFunction@{ROOT / 'example_hooks' / 'orders' / 'v1'}",
                 "--api", "local"])
    out, err = capsys.readouterr()
    assert code == 0, f"{block}:\n{out}\n{err}"
    assert "Succeeded" in out


def test_python_blocks_marked_typecheck_pass_mypy_strict(tmp_path: Path) -> None:
    mypy_api = pytest.importorskip("mypy.api")
    typed = marked("typecheck")
    assert typed, "no README block is marked typecheck"
    files = []
    for param in typed:
        block = param.values[0]
        files.append(tmp_path / f"block_{block.line}.py")
        files[-1].write_text(block.code)
    out, err, status = mypy_api.run(
        ["--strict", "--no-error-summary", "--cache-dir", str(tmp_path / ".mypy_cache"), *map(str, files)]
    )
    assert status == 0, out + err


# --- the first example, exactly as a user would run it ---------------------------------------------


def first_python_block() -> str:
    text = README.read_text()
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_the_readme_example_runs_unchanged_against_the_example_function(tmp_path: Path) -> None:
    code = first_python_block()
    assert "@pre_traffic" in code and "@post_traffic" in code
    (tmp_path / "readme_checks.py").write_text(code)
    (tmp_path / "events").mkdir()
    shutil.copy(HOOKS / "events" / "api" / "create_order.json", tmp_path / "events" / "create_order.json")
    shutil.copytree(HOOKS / "schemas", tmp_path / "schemas")
    done = subprocess.run(
        [sys.executable, "-m", "hookkit", "run", str(tmp_path / "readme_checks.py"),
         "--target", f"local:{ROOT / 'template.yaml'}#OrdersFunction", "--api", "local"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BeforeAllowTraffic: Succeeded - all 1 blocking check(s) passed" in done.stdout
    assert "AfterAllowTraffic: Succeeded - all 1 blocking check(s) passed" in done.stdout


def test_expect_differences_takes_an_invoke_result_or_an_api_response_as_the_readme_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fresh_default_registry: None
) -> None:
    assert "`hookkit.checks.expect.differences(result, ...)`" in README.read_text()
    checks = tmp_path / "checks.py"
    checks.write_text(
        "from hookkit import post_traffic, pre_traffic\n"
        "from hookkit.checks.expect import differences\n\n\n"
        "@pre_traffic\ndef invoke_result(target):\n"
        "    found = differences(target.invoke('events/get_order.json'), status=201)\n"
        "    assert [(d.path, d.expected, d.actual) for d in found] == [('status', 201, 200)], found\n\n\n"
        "@post_traffic\ndef api_response(api):\n"
        "    found = differences(api.get('/orders/ORD-1'), fields={'/orderId': 'ORD-2'})\n"
        "    assert [(d.path, d.actual) for d in found] == [('/orderId', 'ORD-1')], found\n"
    )
    example_folder(tmp_path)
    code = main(["run", str(checks), "--target", f"local:{TEMPLATE}#OrdersFunction", "--api", "local"])
    assert code == 0, capsys.readouterr()
