"""Run doctor's rules through cfn-lint, in-process, and show what they found.

cfn-lint does the reading (YAML/JSON, line numbers, ``Globals`` merged, ``Metadata`` directives
that silence a rule for a resource, ``.cfnlintrc``), so a finding here is the finding plain
cfn-lint reports with ``--append-rules``, under the same id, at the same line, with the same exit
code. What cfn-lint reports about the template itself (unreadable YAML, E0000) comes through too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ...core.errors import ConfigurationError
from . import CODE_RULES_PATH, MINIMUM_CFN_LINT, RULES_PATH, supported_cfn_lint
from .model import SamTemplate

#: Bits of the exit code, as cfn-lint sets them.
EXIT_BITS = {"error": 2, "warning": 4, "informational": 8}
EXIT_USAGE = 2
INSTALL = "pip install 'hookkit[doctor]'"
#: Why a template without hooks exits 2: doctor checked nothing, and says what it looked for.
NO_HOOKS = (
    "no hooks to check: doctor looks for an AWS::Serverless::Function whose DeploymentPreference.Hooks "
    "names a PreTraffic or PostTraffic hook, and found none (fix: pass the template of the stack that "
    "deploys the guarded function with its hooks)"
)
#: The fix for what cfn-lint itself reports, whose messages do not carry one.
CFN_LINT_FIXES = {
    "E0000": "make the template valid YAML or JSON at that line",
    "E0002": "this is a bug in a hookkit rule: report it, with the template, to hookkit's maintainers",
}


def doctor(
    templates: Sequence[str], *, ignore_checks: Sequence[str] = (), output_format: str = "text",
    stdout: TextIO, stderr: TextIO,
) -> int:
    """Check each template; print the findings and return cfn-lint's exit code for them.

    A readable template with no hooks adds 2 (usage or configuration): doctor checked nothing there.
    """
    try:
        _require_cfn_lint()
    except ConfigurationError as exc:
        print(f"hookkit doctor: error: {exc}", file=stderr)
        return EXIT_USAGE
    from cfnlint.config import ConfigMixIn  # type: ignore[import-untyped]
    from cfnlint.rules import Rules  # type: ignore[import-untyped]
    from cfnlint.runner.template import run_template_by_file_paths  # type: ignore[import-untyped]

    rules = Rules()
    for folder in (RULES_PATH, CODE_RULES_PATH):
        rules.update(Rules.create_from_directory(str(folder)))
    readable = [t for t in templates if Path(t).is_file()]
    matches = [_missing(t) for t in templates if t not in readable]
    if readable:
        config = ConfigMixIn([], templates=readable, include_checks=["I"], ignore_checks=list(ignore_checks))
        matches.extend(run_template_by_file_paths(config, rules))
    matches.sort(key=lambda m: (m.filename or "", m.linenumber, m.rule.id))
    if output_format == "text":
        for match in matches:
            print(show(match), file=stdout)
    else:
        output = _formatter(output_format).print_matches(matches, rules, ConfigMixIn([]))
        if output:
            print(output, file=stdout)
    code = exit_code(matches)
    for template in readable:
        model = _model(template)
        hooks = None if model is None else [hook.logical_id for hook in model.hooks]
        print(summary(template, [m for m in matches if m.filename == template], hooks), file=stderr)
        if model is not None and not model.hooks and not model.unchecked:
            # no Hooks entry at all: nothing checked is no clean bill, and CI must not read it as one
            # (a hook named so that doctor cannot follow it is hooks all the same: I9110 says so)
            print(f"hookkit doctor: error: {template}: {NO_HOOKS}", file=stderr)
            code |= EXIT_USAGE
    return code


def _require_cfn_lint() -> None:
    try:
        import cfnlint.version  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigurationError(f"hookkit doctor runs on cfn-lint, which is not installed; {INSTALL}") from None
    if not supported_cfn_lint(cfnlint.version.__version__):
        wanted = ".".join(map(str, MINIMUM_CFN_LINT))
        raise ConfigurationError(
            f"hookkit doctor needs cfn-lint >= {wanted}, this is {cfnlint.version.__version__}; {INSTALL}"
        )


def _missing(template: str) -> Any:
    """A missing template as cfn-lint reports it (E0003, exit code 2), with the fix."""
    from cfnlint.match import Match  # type: ignore[import-untyped]
    from cfnlint.rules.errors import ConfigError  # type: ignore[import-untyped]

    state = "is not a file" if Path(template).exists() else "does not exist"
    return Match.create(message=f"template {template} {state} (fix: pass the path of your SAM template)",
                        filename=template, rule=ConfigError())


def _formatter(name: str) -> Any:
    from cfnlint import formatters

    return {"parseable": formatters.ParseableFormatter, "json": formatters.JsonFormatter}[name]()


def show(match: Any) -> str:
    """``template.yaml:LINE:COL: ID message (fix: ...)``: the form compilers use, which editors jump to."""
    message = match.message
    if "(fix: " not in message and match.rule.id in CFN_LINT_FIXES:
        message = f"{message} (fix: {CFN_LINT_FIXES[match.rule.id]})"
    return f"{match.filename}:{match.linenumber}:{match.columnnumber}: {match.rule.id} {message}"


def exit_code(matches: Sequence[Any]) -> int:
    """cfn-lint's: 0 when nothing was found, else one bit per severity found."""
    code = 0
    for match in matches:
        code |= EXIT_BITS.get(match.rule.severity, 0)
    return code


def summary(template: str, matches: Sequence[Any], hooks: list[str] | None) -> str:
    """One line for the terminal: which hooks were checked, and how many findings of each kind."""
    counts = {severity: sum(m.rule.severity == severity for m in matches) for severity in EXIT_BITS}
    found = ", ".join(f"{n} {severity}" + ("" if severity == "informational" or n == 1 else "s")
                      for severity, n in counts.items() if n) or "no findings"
    if hooks is None:
        return f"hookkit doctor: {template}: {found}"
    if not hooks:
        return (f"hookkit doctor: {template}: no hooks to check (no AWS::Serverless::Function names one in "
                f"DeploymentPreference.Hooks); {found}")
    return f"hookkit doctor: {template}: {len(hooks)} hook(s) checked ({', '.join(hooks)}): {found}"


def _model(template: str) -> SamTemplate | None:
    """The template's functions and hooks, read as the rules read them; None if it cannot be read."""
    from cfnlint.decode import decode  # type: ignore[import-untyped]
    from cfnlint.template import Template  # type: ignore[import-untyped]

    data, errors = decode(template)
    if errors or not isinstance(data, dict):
        return None
    cfn = Template(template, data, ["us-east-1"])
    if cfn.transform():
        return None
    return SamTemplate(cfn.template)
