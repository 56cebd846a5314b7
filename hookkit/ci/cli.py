"""``hookkit run``: the checks that guard production, run in CI before any deployment.

    hookkit run CHECKS [--phase pre|post|all] [--target TARGET] [--current TARGET]
                       [--api URL|local] [--parameter KEY=VALUE] [--junit-xml FILE] [--json FILE]
                       [--jobs N|auto] [--workers N] [--deadline SECONDS]

TARGET is ``local:TEMPLATE#LogicalId[@CODE_DIR]`` (the function's own code, in-process; ``@`` runs
another build of it) or ``NAME_OR_ARN:VERSION`` (a deployed version, through boto3 as the hook
does). ``--jobs`` splits the run over processes (``split``). Exit codes: 0 every check passed,
1 a check did not, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

from ..hook.clients import Clients
from ..core.deployment import Deployment, LambdaTarget
from ..core.errors import ConfigurationError, HookkitError
from ..core.loader import import_checks
from ..core.outcome import Outcome, RunResult
from ..core.phases import Phase
from ..core.registry import Check, HookRegistry, default_registry
from .reports import table, write_json, write_junit
from ..core.runner import DEFAULT_MAX_WORKERS, run_phase
from ..core.scope import Scope

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PHASES = {
    "pre": (Phase.BEFORE_ALLOW_TRAFFIC,),
    "post": (Phase.AFTER_ALLOW_TRAFFIC,),
    "all": (Phase.BEFORE_ALLOW_TRAFFIC, Phase.AFTER_ALLOW_TRAFFIC),
}
LOCAL_API_URL = "local"


@dataclass
class TargetSpec:
    """What ``--target``/``--current`` named, made ready to build ``target`` for each check."""

    text: str
    function_name: str
    version: str
    invoker: Any
    local: Any = None  # the FunctionSpec of a local target
    warnings: list[str] = field(default_factory=list)


def parse_target(text: str, *, parameters: dict[str, str], clients: Clients) -> TargetSpec:
    """``local:TEMPLATE#ID[@CODE_DIR]`` or ``NAME_OR_ARN:VERSION``; errors say which form was expected."""
    if text.startswith("local:"):
        from ..local.invoker import LocalInvoker
        from ..local.sam import function_spec

        rest = text[len("local:"):]
        template, sep, logical = rest.partition("#")
        if not sep or not template or not logical:
            raise ConfigurationError(
                f"--target {text!r}: a local target is local:TEMPLATE#LogicalId, e.g. local:template.yaml#OrdersFunction"
            )
        logical, _, code_dir = logical.partition("@")
        spec = function_spec(template, logical, parameters=parameters, code_uri=code_dir or None)
        version = f"local:{code_dir}" if code_dir else "local"
        invoker = LocalInvoker(spec, version=version)
        invoker.load()
        return TargetSpec(text, spec.function_name, version, invoker, spec, list(spec.warnings))
    from ..checks.target import LambdaInvoker, require_version

    name, sep, version = text.rpartition(":")
    if not sep or not name:
        raise ConfigurationError(
            f"--target {text!r}: name a deployed version as NAME_OR_ARN:VERSION (e.g. orders:7), "
            "or the function's code as local:template.yaml#LogicalId"
        )
    require_version(name, version)
    return TargetSpec(text, name, version, LambdaInvoker(clients.factory("lambda"), name))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hookkit", description="CodeDeploy lifecycle hooks that always report.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run checks against the function's code or a deployed version")
    run.add_argument("checks", metavar="CHECKS", help="a module name, or a path to a checks file or folder")
    run.add_argument("--phase", choices=sorted(PHASES), default="all", help="which checks to run (default: all)")
    run.add_argument("--target", help="local:TEMPLATE#LogicalId[@CODE_DIR] or NAME_OR_ARN:VERSION")
    run.add_argument("--current", help="the version the target replaces, same forms as --target (for target.compare)")
    run.add_argument("--api", help="base URL for api smoke calls, or 'local' to serve them from a local target")
    run.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                     help="override a template parameter of a local target (repeatable)")
    run.add_argument("--junit-xml", metavar="FILE", help="write a JUnit XML report")
    run.add_argument("--json", metavar="FILE", help="write every outcome as JSON")
    run.add_argument("--workers", type=int, default=DEFAULT_MAX_WORKERS, help="checks run at once (default: %(default)s)")
    run.add_argument("--jobs", type=_jobs, default=1, metavar="N|auto",
                     help="split the checks over N processes, 'auto' for one per CPU: for large replays "
                          "against a local target, whose handler calls otherwise share one CPU (default: 1)")
    run.add_argument("--shard", type=_shard, help=argparse.SUPPRESS)  # INDEX/COUNT/FD: one process of a split run
    run.add_argument("--deadline", type=float, default=900.0, metavar="SECONDS",
                     help="stop the whole run after this long, as a hook's Lambda would (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
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


def _parameters(pairs: list[str]) -> dict[str, str]:
    parameters = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(f"--parameter {pair!r}: write it as KEY=VALUE, e.g. --parameter Stage=dev")
        parameters[key.strip()] = value
    return parameters


def run_command(
    args: argparse.Namespace, *, stdout: TextIO, stderr: TextIO, registry: HookRegistry | None = None,
    clients: Clients | None = None,
) -> int:
    registry = registry if registry is not None else default_registry
    phases, run = prepare(args, stderr=stderr, registry=registry, clients=clients)
    if not any(registry.checks(p) for p in phases):
        raise ConfigurationError(f"CHECKS {args.checks!r} declares no checks for --phase {args.phase}")
    phases = [p for p in phases if registry.checks(p)]
    progress = Progress(stderr, total=sum(len(registry.checks(p)) for p in phases))
    results = [run(phase, progress.update) for phase in phases]
    progress.done()
    return report(results, args, stdout=stdout, stderr=stderr)


def prepare(
    args: argparse.Namespace, *, stderr: TextIO, registry: HookRegistry, clients: Clients | None = None,
) -> tuple[list[Phase], Callable[[Phase, Callable[[Outcome], None]], RunResult]]:
    """Import the checks and make the targets; returns the phases asked for and how to run one."""
    clients = clients if clients is not None else Clients()
    parameters = _parameters(args.parameter)
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # module names resolve from where CI runs, as paths do
    import_checks(args.checks, registry=registry, source="CHECKS")
    target = parse_target(args.target, parameters=parameters, clients=clients) if args.target else None
    current = parse_target(args.current, parameters=parameters, clients=clients) if args.current else None
    for spec in (target, current):
        for warning in spec.warnings if spec else ():
            print(f"hookkit: warning: {warning}", file=stderr)
    api = _api_factory(args.api, target, clients)
    started = time.monotonic()

    def run(phase: Phase, on_outcome: Callable[[Outcome], None]) -> RunResult:
        scope = Scope(
            deployment=lambda: _deployment(phase, target, current),
            target=_target_factory(target, current),
            api=api,
        )
        return run_phase(
            registry.checks(phase), phase, provide=scope.provide, deadline=started + args.deadline,
            max_workers=args.workers, on_outcome=on_outcome,
        )

    return list(PHASES[args.phase]), run


def report(results: list[RunResult], args: argparse.Namespace, *, stdout: TextIO, stderr: TextIO) -> int:
    """The table on stdout, the files CI asked for, and the exit code."""
    colour = stdout.isatty() and not os.environ.get("NO_COLOR")
    print(table(results, colour=colour), file=stdout)
    if args.junit_xml:
        print(f"JUnit XML written to {write_junit(results, args.junit_xml)}", file=stderr)
    if args.json:
        print(f"JSON written to {write_json(results, args.json)}", file=stderr)
    return EXIT_OK if all(r.verdict.value == "Succeeded" for r in results) else EXIT_FAILED


def _deployment(phase: Phase, target: TargetSpec | None, current: TargetSpec | None) -> Deployment:
    lambda_target = None
    if target is not None:
        lambda_target = LambdaTarget(target.function_name, target.version, current_version=current.version if current else None)
    return Deployment("local-run", "local-run", phase, lambda_target, source="command line")


def _target_factory(target: TargetSpec | None, current: TargetSpec | None) -> Callable[[Deployment, Check, float], Any] | None:
    if target is None:
        return None
    from ..checks.target import Target

    def no_current() -> str:
        raise ConfigurationError(
            "this check needs the version the target replaces (target.current / target.compare): "
            "pass --current NAME_OR_ARN:VERSION or --current local:TEMPLATE#LogicalId@CODE_DIR"
        )

    def make(deployment: Deployment, check: Check, timeout: float) -> Any:
        previous: Any = no_current
        if current is not None:
            previous = Target(current.invoker, current.version, function_name=current.function_name,
                              base_dir=check.base_dir, timeout=timeout)
        return Target(target.invoker, target.version, function_name=target.function_name, current=previous,
                      base_dir=check.base_dir, timeout=timeout)

    return make


def _api_factory(api: str | None, target: TargetSpec | None, clients: Clients) -> Callable[[Check, float], Any]:
    """How ``api`` is made for a check; ``requests`` is imported only once a check asks for one."""
    if api == LOCAL_API_URL:
        if target is None or target.local is None:
            raise ConfigurationError("--api local serves smoke calls from the function's code: also pass --target local:TEMPLATE#LogicalId")
        routes = target.local.routes
        if not routes:
            raise ConfigurationError(
                f"--api local: {target.local.logical_id} has no Api or HttpApi events in the template, so no route reaches it"
            )
        return _in_process_api(target)

    def make(check: Check, timeout: float) -> Any:
        from ..checks.smoke import Api

        if api:
            return Api(api, timeout=timeout, base_dir=check.base_dir)
        return Api.from_environment(
            os.environ, timeout=timeout, base_dir=check.base_dir, cloudformation=clients.factory("cloudformation")
        )

    return make


def _in_process_api(target: TargetSpec) -> Callable[[Check, float], Any]:
    """Smoke calls answered by the local function's handler, routed by the template's API events."""
    from ..local.apigw import Route
    from ..local.sam import CATCH_ALL_PATH
    from ..checks.smoke import Api

    spec = target.local
    routes = []
    for route in spec.routes:  # an HTTP API's $default route answers every path, the root included
        paths = ("/", "/{proxy+}") if route.path == CATCH_ALL_PATH else (route.path,)
        routes.extend(Route(route.method, path) for path in paths)
    versions = {r.payload_version for r in spec.routes}
    if len(versions) > 1:
        raise ConfigurationError(
            f"--api local: {spec.logical_id} is behind both a REST API (payload 1.0) and an HTTP API (2.0); "
            "hookkit serves one shape locally, so point the checks at one API with --api URL"
        )
    (version,) = versions
    return lambda check, timeout: Api.in_process(
        target.invoker.call, routes, payload_version=version, timeout=timeout, base_dir=check.base_dir
    )


class Progress:
    """One line that counts finished checks: rewritten in place on a terminal, a line per check elsewhere."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream, self.total, self.finished, self.failed = stream, total, 0, 0
        self.tty = stream.isatty()

    def update(self, outcome: Outcome) -> None:
        self.finished += 1
        self.failed += not outcome.passed
        line = f"[{self.finished}/{self.total}] {outcome.status.value:<9} {outcome.name}"
        if self.tty:
            self.stream.write(f"\r\033[K{line}  ({self.failed} not passed)")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()
