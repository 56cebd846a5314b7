"""``hookkit run``: the command line made into a :class:`~hookkit.ci.wiring.RunOptions`, run, and reported."""

from __future__ import annotations

import argparse
import gc
from typing import TextIO

from ..core.errors import ConfigurationError
from ..core.registry import HookRegistry, default_registry
from ..hook.clients import Clients
from . import values
from .progress import Progress
from .publish import Outputs, publish
from .reports import Report
from .wiring import RunOptions, Wiring, parse_phases


def options(args: argparse.Namespace) -> RunOptions:
    """The run the command line asks for."""
    return RunOptions(
        checks=args.checks, phases=parse_phases(args.phase), target=args.target, current=args.current, api=args.api,
        parameters=values.parameters(args.parameter), workers=args.workers, deadline=args.deadline,
        shard=args.shard, env_vars=args.env_vars, concurrency=args.concurrency,
    )


def outputs(args: argparse.Namespace) -> Outputs:
    return Outputs(junit_xml=args.junit_xml, json=args.json, verbose=getattr(args, "verbose", False))


def prepare(
    args: argparse.Namespace, *, stderr: TextIO, registry: HookRegistry, clients: Clients | None = None
) -> Wiring:
    """Import the checks and make the targets, showing what the templates could not resolve."""
    wiring = Wiring.prepare(options(args), registry=registry, clients=clients)
    for note in wiring.notes:
        print(f"hookkit: {note}", file=stderr)
    for warning in wiring.warnings:
        print(f"hookkit: warning: {warning}", file=stderr)
    return wiring


def run_command(
    args: argparse.Namespace, *, stdout: TextIO, stderr: TextIO, registry: HookRegistry | None = None,
    clients: Clients | None = None,
) -> int:
    to = outputs(args)
    to.check()  # before the run: a report that cannot be written is a configuration error now, not later
    gc.disable()  # checks and their recorded events are made and read by the thousand, all kept: nothing to collect
    try:
        wiring = prepare(args, stderr=stderr, registry=registry or default_registry, clients=clients)
    finally:
        gc.enable()
    plan = wiring.plan
    if not plan.size:
        raise ConfigurationError(f"CHECKS {args.checks!r} declares no checks for --phase {args.phase}")
    wiring.require_target()
    phases = [p for p in plan.phases if wiring.checks(p)]
    results = []
    if phases:
        progress = Progress(stderr, total=sum(len(wiring.checks(p)) for p in phases))
        gc.freeze()  # what the run has built (thousands of checks, say) lives as long as it: the collector skips it
        try:
            results = [plan.judge(wiring.run_phase(phase, wiring.checks(phase), progress.update)) for phase in phases]
        finally:
            gc.unfreeze()
        progress.done()
    else:  # more shards than this job's share of checks: its (empty) report still completes the set
        print(f"hookkit: shard {plan.shard} has none of the run's {plan.size} check(s) to run", file=stderr)
    return publish(Report.of(results, plan), to, stdout=stdout, stderr=stderr)
