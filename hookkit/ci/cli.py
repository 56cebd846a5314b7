"""``hookkit run``: the checks that guard production, run in CI before any deployment.

    hookkit run CHECKS [--phase pre|post|all] [--target TARGET] [--current TARGET]
                       [--api URL|local] [--parameter KEY=VALUE] [--junit-xml FILE] [--json FILE]
                       [--jobs N|auto] [--workers N] [--deadline SECONDS]

TARGET is ``local:TEMPLATE#LogicalId[@CODE_DIR]`` (the function's own code; ``@`` runs another
build of it) or ``NAME_OR_ARN:VERSION`` (a deployed version, through boto3 as the hook does).
``--jobs`` splits the run over processes (``split``). Exit codes: 0 every check passed, 1 a check
did not, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..core.cpus import pin_to_one
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
    run.add_argument("--jobs", type=_jobs, default=1, metavar="N|auto",
                     help="split the checks over N processes, 'auto' for one per CPU: for large replays "
                          "against a local target, whose handler calls otherwise share one CPU (default: 1)")
    run.add_argument("--shard", type=_shard, help=argparse.SUPPRESS)  # INDEX/COUNT/FD: one process of a split run
    run.add_argument("--deadline", type=float, default=DEFAULT_DEADLINE, metavar="SECONDS",
                     help="stop the whole run after this long, as a hook's Lambda would (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The ``hookkit`` command; ``argv`` None means this process is the command's own."""
    own_process = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if own_process and any(text and text.startswith("local:") for text in (args.target, args.current)):
        pin_to_one()  # threads hand work over cheaply on one CPU; the function's environments use them all
    try:
        if args.shard is not None or args.jobs > 1:
            from . import split  # not for a run in one process: it imports multiprocessing

            if args.shard is not None:
                return split.serve_share(args, stderr=sys.stderr)
            return split.run_split(argv, args, stdout=sys.stdout, stderr=sys.stderr)
        return run_command(args, stdout=sys.stdout, stderr=sys.stderr)
    except HookkitError as exc:
        print(f"hookkit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _jobs(text: str) -> int:
    if text == "auto":
        from .split import usable_cpus

        return usable_cpus()
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes; pass 1 or more, or auto")
    return jobs


def _shard(text: str) -> tuple[int, int, int]:
    index, count, fd = (int(part) for part in text.split("/"))
    return index, count, fd
