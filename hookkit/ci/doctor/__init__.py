"""``hookkit doctor``: the wiring mistakes that make hooks never run, never report or test the wrong thing.

    hookkit doctor TEMPLATE... [--ignore-checks ID] [--format text|parseable|json]
    hookkit doctor --rules-path

Each check is a cfn-lint rule. The ones that read only the template (``rules/``) are what plain
cfn-lint runs with ``cfn-lint template.yaml --append-rules $(hookkit doctor --rules-path)``;
doctor runs them in-process through cfn-lint, together with its own rules that also read the
hooks' code (``code_rules/``: the checks module is there, and the hook's Timeout outlasts its
slowest check). Exit codes are cfn-lint's: 0 nothing found, else bit flags 2 error, 4 warning,
8 informational (what doctor could not check); 2 also for a template that cannot be read.

This module is what ``hookkit/ci/cli.py`` imports: it stays free of cfn-lint, which is an
optional extra (``pip install 'hookkit[doctor]'``) imported only when doctor runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: The folder to pass to ``cfn-lint --append-rules``: hookkit's template rules.
RULES_PATH = Path(__file__).resolve().parent / "rules"
#: doctor's own rules, which also import the hooks' checks modules.
CODE_RULES_PATH = Path(__file__).resolve().parent / "code_rules"
FORMATS = ("text", "parseable", "json")
#: The first cfn-lint that hands rules the SAM template as written (before 1.54 it ran SAM's
#: transform first, and rules saw generated resources instead of DeploymentPreference.Hooks).
MINIMUM_CFN_LINT = (1, 54)


def supported_cfn_lint(version: str) -> bool:
    """Whether this cfn-lint version shows rules the template as written."""
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return True  # a development build: trust it rather than refuse
    return (major, minor) >= MINIMUM_CFN_LINT


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``hookkit doctor`` to the ``hookkit`` command's subcommands."""
    doctor = commands.add_parser(
        "doctor", help="find the wiring mistakes in a SAM template's hooks before deploying",
        description="Find the mistakes that make CodeDeploy hooks never run, never report or test the wrong thing; "
                    "each finding names its line in the template and the fix. Exit codes are cfn-lint's.",
    )
    doctor.add_argument("templates", nargs="*", metavar="TEMPLATE", help="a SAM template (template.yaml)")
    doctor.add_argument("--rules-path", action="store_true",
                        help="print the folder of hookkit's rules for cfn-lint --append-rules, and exit")
    doctor.add_argument("--ignore-checks", action="append", default=[], metavar="ID",
                        help="skip a rule, or every rule whose id starts so (W91), as cfn-lint does (repeatable)")
    doctor.add_argument("--format", choices=FORMATS, default="text",
                        help="text: one line per finding (default); the others are cfn-lint's formats")


def run(args: argparse.Namespace) -> int:
    """``hookkit doctor`` with parsed arguments; its exit code."""
    if args.rules_path:
        print(RULES_PATH)
        return 0
    if not args.templates:
        print("hookkit doctor: error: name a template, e.g. hookkit doctor template.yaml "
              "(or --rules-path for cfn-lint's --append-rules)", file=sys.stderr)
        return 2
    from .command import doctor

    return doctor(args.templates, ignore_checks=args.ignore_checks, output_format=args.format,
                  stdout=sys.stdout, stderr=sys.stderr)
