"""``hookkit run``: the checks that guard production, run in CI before any deployment.

    hookkit run CHECKS [--phase pre|post|all] [--target TARGET] [--current TARGET]
                       [--api URL|local] [--parameter KEY=VALUE] [--junit-xml FILE] [--json FILE]
                       [--concurrency N] [--workers N] [--deadline SECONDS]

TARGET is ``local:TEMPLATE#LogicalId[@CODE_DIR]`` (the function's own code, run in local
execution environments; ``@`` runs another build of it) or ``NAME_OR_ARN:VERSION`` (a deployed
version, through boto3 as the hook does). Exit codes: 0 every check passed, 1 a check did not, 2 a
usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..core.errors import HookkitError
from ..core.runner import DEFAULT_MAX_WORKERS
from .reports import EXIT_USAGE
from .run import run_command
from .wiring import DEFAULT_DEADLINE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hookkit", description="CodeDeploy lifecycle hooks that always report.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run checks against the function's code or a deployed version")
    run.add_argument("checks", metavar="CHECKS", help="a module name, or a path to a checks file or folder")
    run.add_argument("--phase", default="all", metavar="pre|post|all",
                     help="which checks to run: pre, post (or any phase name, e.g. PreTraffic), or all (default)")
    run.add_argument("--target", help="local:TEMPLATE#LogicalId[@CODE_DIR] or NAME_OR_ARN:VERSION")
    run.add_argument("--current", help="the version the target replaces, same forms as --target (for target.compare)")
    run.add_argument("--api", help="base URL for api smoke calls, or 'local' to serve them from a local target")
    run.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                     help="override a template parameter of a local target (repeatable)")
    run.add_argument("--junit-xml", metavar="FILE", help="write a JUnit XML report")
    run.add_argument("--json", metavar="FILE", help="write every outcome as JSON")
    run.add_argument("--workers", type=int, default=DEFAULT_MAX_WORKERS,
                     help="checks run at once (default: %(default)s)")
    run.add_argument("--concurrency", type=_concurrency, metavar="N",
                     help="local targets: at most N execution environments per function, as Lambda's "
                          "concurrency (default: the CPUs this job may use)")
    run.add_argument("--deadline", type=float, default=DEFAULT_DEADLINE, metavar="SECONDS",
                     help="stop the whole run after this long, as a hook's Lambda would (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        return run_command(args, stdout=sys.stdout, stderr=sys.stderr)
    except HookkitError as exc:
        print(f"hookkit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _concurrency(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of environments; pass 1 or more")
    return count
