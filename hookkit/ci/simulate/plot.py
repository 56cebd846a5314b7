"""The picture of a rehearsal: traffic weight and error rate per version over time, events marked.

matplotlib is an optional extra (``pip install 'hookkit[plot]'``); without it ``--plot`` fails
with a message saying so, before anything is rehearsed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.errors import ConfigurationError
from .engine import Result
from .template import CURRENT_VERSION, TARGET_VERSION

FORMATS = (".png", ".svg")
COLOURS = {CURRENT_VERSION: "#4c72b0", TARGET_VERSION: "#dd8452"}


def check_plot(path: str) -> None:
    """Refuse a bad ``--plot`` before the rehearsal runs."""
    if Path(path).suffix.lower() not in FORMATS:
        raise ConfigurationError(f"--plot {path}: give a .png or .svg file name")
    try:
        import matplotlib  # noqa: F401 - only checking that it is there
    except ImportError:
        raise ConfigurationError(
            "--plot needs matplotlib, an optional extra: pip install 'hookkit[plot]' (or pip install matplotlib)"
        ) from None


def plot(result: Result, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = result.timeline.samples
    minutes = [s.at / 60 for s in samples]
    figure, (weights, errors) = plt.subplots(2, 1, sharex=True, figsize=(10, 5.6), height_ratios=(3, 2))
    changes = [(0.0, {CURRENT_VERSION: 100.0, TARGET_VERSION: 0.0})]
    changes += [(e.at / 60, e.data["weights"]) for e in result.timeline.events if "weights" in e.data]
    end = max(result.at / 60, 0.1)
    changes.append((end * 1.04, changes[-1][1]))  # the state after the outcome, a little past it
    for version, label in ((CURRENT_VERSION, "version 1 (current)"), (TARGET_VERSION, "version 2 (new)")):
        weights.step([at for at, _ in changes], [w[version] for _, w in changes], where="post",
                     color=COLOURS[version], label=label, linewidth=2)
        rates = [100 * s.errors[version] / s.invocations[version] if s.invocations[version] else float("nan")
                 for s in samples]
        errors.plot(minutes, rates, marker="o", markersize=3, color=COLOURS[version], label=label)
    weights.set_ylabel("traffic weight (%)")
    weights.set_ylim(-5, 105)
    errors.set_ylabel("error rate (%)")
    errors.set_xlabel("virtual minutes since the deployment started")
    errors.set_ylim(bottom=0)
    for event in result.timeline.events:
        _mark(weights, errors, event)
    outcome = "rolled back" if result.rolled_back else "succeeded"
    weights.set_title(f"{result.plan.function_name}: {result.plan.config.name}, {outcome} at "
                      f"{result.at / 60:.1f} min", fontsize=11)
    weights.legend(loc="center right", fontsize=8)
    errors.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=110)
    plt.close(figure)


def _mark(weights: Any, errors: Any, event: Any) -> None:
    x = event.at / 60
    if event.kind == "hook" and event.data.get("status"):
        ok = event.data["status"] == "Succeeded"
        colour = "green" if ok else "red"
        for axis in (weights, errors):
            axis.axvline(x, color=colour, linestyle="--", linewidth=1)
        weights.annotate(f"{event.data.get('label', 'hook')}: {event.data['status']}", (x, 102), fontsize=7,
                         color=colour, rotation=90, va="top", ha="right")
    elif event.kind == "alarm":
        colour = "red" if event.data.get("state") == "ALARM" else "grey"
        for axis in (weights, errors):
            axis.axvline(x, color=colour, linestyle=":", linewidth=1)
        weights.annotate(f"{event.data.get('alarm')}: {event.data.get('state')}", (x, 50), fontsize=7, color=colour,
                         rotation=90, va="center", ha="right")
    elif event.kind in ("rollback", "success"):
        colour = "red" if event.kind == "rollback" else "green"
        for axis in (weights, errors):
            axis.axvline(x, color=colour, linewidth=1.5)
