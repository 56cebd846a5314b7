"""``hookkit``: the checks that guard production, run in CI before any deployment.

    hookkit run CHECKS [--phase pre|post|all] [--target TARGET] [--current TARGET]
                       [--api URL|local[:API]] [--parameter KEY=VALUE] [--env-vars FILE]
                       [--junit-xml FILE] [--json FILE] [--shard K/N] [--concurrency N] [--workers N]
                       [--deadline SECONDS] [-v]
    hookkit merge OUT IN [IN ...]
    hookkit doctor TEMPLATE...
    hookkit simulate TEMPLATE#LogicalId --from BUILD ...
    hookkit --version

TARGET is ``local:TEMPLATE#LogicalId[@CODE_DIR]`` (the function's own code, run in local
execution environments; ``@`` runs another build of it) or ``NAME_OR_ARN:VERSION`` (a deployed
version, through boto3 as the hook does). ``--shard K/N`` runs the K-th of N shares of the checks
(one job of a CI matrix, see ``shard``); ``hookkit merge`` joins the N reports. Exit codes: 0
every check passed, 1 a check did not, 2 a usage or configuration error, found on the command
line, in the checks, or by a check that could not run as written.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

from ..core.errors import HookkitError
from ..core.runner import DEFAULT_MAX_WORKERS
from ..core.version import __version__
from . import doctor, values
from .reports import EXIT_USAGE
from .run import run_command
from .shard import Shard
from .simulate import command as simulate
from .wiring import DEFAULT_DEADLINE, parse_phases

T = TypeVar("T")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hookkit", description="CodeDeploy lifecycle hooks that always report.")
    parser.add_argument("--version", action="version", version=f"hookkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run checks against the function's code or a deployed version")
    run.add_argument("checks", metavar="CHECKS", help="a module name, or a path to a checks file or folder")
    run.add_argument("--phase", type=phase, default="all", metavar="pre|post|all",
                     help="which checks to run: pre, post (or any phase name, e.g. PreTraffic), or all (default)")
    run.add_argument("--target", help="local:TEMPLATE#LogicalId[@CODE_DIR] or NAME_OR_ARN:VERSION")
    run.add_argument("--current", help="the version the target replaces, same forms as --target (for target.compare)")
    run.add_argument("--api", type=api, metavar="URL|local[:API]",
                     help="base URL for api smoke calls (http:// or https://), or 'local' to serve them from the "
                          "local target's API (local:API names one API of the template)")
    run.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                     help="override a template parameter of a local target (repeatable)")
    run.add_argument("--env-vars", metavar="FILE",
                     help="environment variables for local targets, in sam local's JSON: "
                          '{"LogicalId": {"VAR": "value"}, "Parameters": {"VAR": "value"}}')
    run.add_argument("--junit-xml", metavar="FILE", help="write a JUnit XML report")
    run.add_argument("--json", metavar="FILE", help="write every outcome as JSON")
    run.add_argument("--shard", type=shard, metavar="K/N",
                     help="run the K-th of N shares of the checks, for one job of a CI matrix of N; "
                          "hookkit merge joins the N reports")
    run.add_argument("--workers", type=workers, default=DEFAULT_MAX_WORKERS, metavar="N",
                     help="checks run at once (default: %(default)s)")
    run.add_argument("--concurrency", type=concurrency, metavar="N",
                     help="local targets: at most N execution environments per function, as Lambda's "
                          "concurrency (default: the CPUs this job may use)")
    run.add_argument("--deadline", type=deadline, default=DEFAULT_DEADLINE, metavar="SECONDS",
                     help="stop the whole run after this long, as a hook's Lambda would (default: %(default)s)")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="show every message and difference in full, also on a terminal")
    merge = commands.add_parser("merge", help="join the reports of the jobs of a CI matrix (run --shard K/N)")
    merge.add_argument("output", metavar="OUT", help="the merged report: JUnit XML if it ends in .xml, else JSON")
    merge.add_argument("inputs", nargs="+", metavar="IN", help="the --json or --junit-xml report of every shard")
    merge.add_argument("-v", "--verbose", action="store_true", help="show every message and difference in full")
    doctor.add_parser(commands)
    simulate.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the command line: this process ends with the command
        atexit.register(gc.freeze)  # what the run built is freed with the process: the collector need not walk it
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        return doctor.run(args)
    try:
        if args.command == "simulate":
            return simulate.run(args, stdout=sys.stdout, stderr=sys.stderr)
        if args.command == "merge":
            from .merge import merge_command

            return merge_command(args, stdout=sys.stdout, stderr=sys.stderr)
        return run_command(args, stdout=sys.stdout, stderr=sys.stderr)
    except HookkitError as exc:
        print(f"hookkit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


# --- option values, refused up front with what to write instead -----------------------------------


def phase(text: str) -> str:
    """``all`` or a phase in any spelling hookkit accepts; kept as written (the report says what was asked)."""
    try:
        parse_phases(text)
    except HookkitError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--phase: ")) from None
    return text


def api(text: str) -> str:
    return _checked(values.api, text)


def workers(text: str) -> int:
    return _checked(values.workers, text)


def concurrency(text: str) -> int:
    return _checked(values.concurrency, text)


def deadline(text: str) -> float:
    return _checked(values.deadline, text)


def _checked(check: Callable[[str], T], text: str) -> T:
    try:
        return check(text)
    except HookkitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def shard(text: str) -> Shard:
    """``K/N``, 1-based: this job's share of a run spread over a CI matrix."""
    try:
        return Shard.parse(text)
    except HookkitError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--shard {text!r}: ")) from None

