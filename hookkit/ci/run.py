"""``hookkit run``: the command line made into a :class:`~hookkit.ci.wiring.RunOptions`, run, and reported."""

from __future__ import annotations

import argparse
import gc
from typing import TextIO

from ..core.errors import ConfigurationError
from ..core.registry import HookRegistry, default_registry
from ..hook.clients import Clients
from .progress import Progress
from .reports import emit
from .wiring import RunOptions, Wiring, parse_phases


def options(args: argparse.Namespace) -> RunOptions:
    """The run the command line asks for."""
    return RunOptions(
        checks=args.checks, phases=parse_phases(args.phase), target=args.target, current=args.current, api=args.api,
        parameters=_parameters(args.parameter), workers=args.workers, deadline=args.deadline,
        concurrency=args.concurrency,
    )


def prepare(
    args: argparse.Namespace, *, stderr: TextIO, registry: HookRegistry, clients: Clients | None = None
) -> Wiring:
    """Import the checks and make the targets, showing what the templates could not resolve."""
    wiring = Wiring.prepare(options(args), registry=registry, clients=clients)
    for warning in wiring.warnings:
        print(f"hookkit: warning: {warning}", file=stderr)
    return wiring


def run_command(
    args: argparse.Namespace, *, stdout: TextIO, stderr: TextIO, registry: HookRegistry | None = None,
    clients: Clients | None = None,
) -> int:
    wiring = prepare(args, stderr=stderr, registry=registry or default_registry, clients=clients)
    phases = [p for p in wiring.phases if wiring.checks(p)]
    if not phases:
        raise ConfigurationError(f"CHECKS {args.checks!r} declares no checks for --phase {args.phase}")
    progress = Progress(stderr, total=sum(len(wiring.checks(p)) for p in phases))
    gc.freeze()  # what the run has built (thousands of checks, say) lives as long as it: the collector skips it
    try:
        results = [wiring.run_phase(phase, wiring.checks(phase), progress.update) for phase in phases]
    finally:
        gc.unfreeze()
    progress.done()
    return emit(results, junit_xml=args.junit_xml, json_path=args.json, stdout=stdout, stderr=stderr)


def _parameters(pairs: list[str]) -> dict[str, str]:
    parameters = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(f"--parameter {pair!r}: write it as KEY=VALUE, e.g. --parameter Stage=dev")
        parameters[key.strip()] = value
    return parameters
