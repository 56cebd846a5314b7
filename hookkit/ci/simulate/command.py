"""``hookkit simulate``: rehearse one deployment of a function, offline, before deploying it.

    hookkit simulate TEMPLATE#LogicalId --from DIR|TEMPLATE[#LogicalId][@DIR] [--to DIR]
                     [--traffic DIR] [--rate N] [--config NAME] [--speed N|max] [--seed N]
                     [--parameter KEY=VALUE] [--ignore-alarm NAME] [--expect success|rollback]
                     [--json FILE] [--plot FILE.png|.svg]

Exit codes: 0 the deployment would go as expected (succeed; with ``--expect rollback``, be rolled
back), 1 it would not, 2 a usage or template error. This module only parses; the rehearsal's
modules are imported when the command runs.
"""

from __future__ import annotations

import argparse
import math
from typing import Any, TextIO

EXIT_AS_EXPECTED, EXIT_NOT_AS_EXPECTED = 0, 1


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``simulate`` on the CLI's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "simulate", help="rehearse a CodeDeploy deployment of a function locally: hooks, traffic shifting, alarms",
        description="Rehearse one CodeDeploy deployment of a SAM function on this machine: its PreTraffic hook, "
                    "traffic shifting per its DeploymentPreference, its alarms, its PostTraffic hook, and the "
                    "rollback CodeDeploy would make. Exit 0 as expected, 1 not, 2 usage or template error.",
    )
    parser.add_argument("function", metavar="TEMPLATE#LogicalId", help="the function being deployed")
    parser.add_argument("--from", dest="current", required=True, metavar="DIR|TEMPLATE[#LogicalId][@DIR]",
                        help="the build now live (version 1): its code folder, or the template of the last release")
    parser.add_argument("--to", dest="target", metavar="DIR",
                        help="the new build (version 2): its code folder (default: the template's CodeUri)")
    parser.add_argument("--traffic", metavar="DIR", help="a folder of recorded events replayed through the alias")
    parser.add_argument("--rate", type=_rate, default=2.0, metavar="N",
                        help="recorded events per virtual second (default: %(default)s)")
    parser.add_argument("--config", metavar="NAME",
                        help="deployment configuration instead of DeploymentPreference.Type (a predefined name "
                             "or a DeploymentConfig of the template)")
    parser.add_argument("--speed", type=_speed, default=None, metavar="N|max",
                        help="virtual seconds per real second while nothing runs; max (default) jumps over idle time")
    parser.add_argument("--seed", type=int, default=0, help="seed of the alias's weighted routing (default: 0)")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                        help="override a template parameter (repeatable)")
    parser.add_argument("--ignore-alarm", action="append", default=[], metavar="NAME",
                        help="rehearse without this alarm (logical id or AlarmName; repeatable)")
    parser.add_argument("--expect", choices=("success", "rollback"), default="success",
                        help="the outcome that exits 0: rollback proves a broken build is stopped (default: success)")
    parser.add_argument("--json", metavar="FILE", help="write the whole timeline as JSON")
    parser.add_argument("--plot", metavar="FILE", help="draw weights and error rates over time (.png or .svg; "
                                                       "needs matplotlib: pip install 'hookkit[plot]')")
    return parser


def run(args: argparse.Namespace, *, stdout: TextIO, stderr: TextIO) -> int:
    from ..values import parameters as parse_parameters
    from .engine import Options, Simulation
    from .plot import check_plot, plot
    from .report import conclusion, header, write_json
    from .template import read_plan, split_reference
    from .timeline import Timeline
    from .traffic import load_traffic

    template, logical_id = split_reference(args.function)
    if args.plot:
        check_plot(args.plot)
    plan = read_plan(template, logical_id, current=args.current, target_code=args.target, config=args.config,
                     parameters=parse_parameters(args.parameter), ignore_alarms=args.ignore_alarm)
    traffic = load_traffic(args.traffic, rate=args.rate) if args.traffic else None
    lines = header(plan, traffic, args.speed)
    stdout.write("\n".join(lines) + "\n\n")
    timeline = Timeline(stdout, colour=stdout.isatty())
    result = Simulation(plan, traffic=traffic, options=Options(speed=args.speed, seed=args.seed),
                        timeline=timeline).run()
    stdout.write("\n" + "\n".join(conclusion(result)) + "\n")
    if args.json:
        write_json(result, lines, args.json)
    if args.plot:
        plot(result, args.plot)
    expected = result.rolled_back == (args.expect == "rollback")
    if not expected:
        wanted = "roll back" if args.expect == "rollback" else "succeed"
        stderr.write(f"hookkit simulate: expected the deployment to {wanted}, but it would "
                     f"{'roll back' if result.rolled_back else 'succeed'}\n")
    return EXIT_AS_EXPECTED if expected else EXIT_NOT_AS_EXPECTED


#: Recorded events per virtual second at most: each is a real invocation of a local build, and a
#: rehearsal replays them over the whole deployment (100/s over a 30-minute canary is 180,000).
MAX_RATE = 100.0
#: Virtual seconds per real second at most: faster is --speed max in effect (an hour in 3.6 ms), and
#: a huge finite speed would overflow the clock's stamps.
MAX_SPEED = 1e6


def _number(text: str) -> float:
    """A finite number, or NaN (refused by every bound below): ``inf`` would hang or overflow the clock."""
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    speed = _number(text)
    if not 1 <= speed <= MAX_SPEED:
        raise argparse.ArgumentTypeError(f"{text!r}: give max or a number from 1 to {MAX_SPEED:g} (1 = real time, "
                                         "60 = a minute per second)")
    return speed


def _rate(text: str) -> float:
    value = _number(text)
    if not 0 < value <= MAX_RATE:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of events per virtual second above 0 and at "
                                         f"most {MAX_RATE:g}")
    return value
