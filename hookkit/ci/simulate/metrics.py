"""The CloudWatch metrics the rehearsal's invocations publish, as Lambda publishes them.

Lambda sends ``Invocations``, ``Errors``, ``Throttles`` and ``Duration`` in ``AWS/Lambda`` for
every invocation, stamped with the moment the invocation *started*, under several dimension
sets at once (CloudWatch treats each set as its own metric, matched exactly):

- ``{}`` (the account) and ``{FunctionName}``: every invocation of the function;
- ``{FunctionName, Resource=fn:live}``: invocations through the alias, and
  ``{FunctionName, Resource=fn:live, ExecutedVersion=2}``: those the alias sent to version 2;
- ``{FunctionName, Resource=fn:2}``: invocations of version 2 by number (what a hook does).

A minute without invocations has no datapoint at all: missing, not zero. Nothing here throttles,
so ``Throttles`` is always 0.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable

NAMESPACE = "AWS/Lambda"
METRICS = ("Invocations", "Errors", "Throttles", "Duration")
Dimensions = frozenset[tuple[str, str]]


def dimensions(**pairs: str) -> Dimensions:
    return frozenset(pairs.items())


def show_dimensions(dims: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted(dims)) or "(no dimensions)"


class MetricStore:
    """Samples by metric and dimension set, in time order; safe to write from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str, Dimensions], list[tuple[float, float]]] = {}

    def put(self, namespace: str, metric: str, dims: Dimensions, at: float, value: float) -> None:
        with self._lock:
            bisect.insort(self._series.setdefault((namespace, metric, dims), []), (at, value))

    def values(self, namespace: str, metric: str, dims: Dimensions, start: float, end: float) -> list[float]:
        """The samples stamped in ``[start, end)``."""
        with self._lock:
            series = self._series.get((namespace, metric, dims), [])
            low = bisect.bisect_left(series, (start, float("-inf")))
            high = bisect.bisect_left(series, (end, float("-inf")))
            return [value for _, value in series[low:high]]

    def known(self, namespace: str, metric: str) -> list[Dimensions]:
        """Every dimension set this metric has samples for (to say why an alarm matches nothing)."""
        with self._lock:
            return [dims for (ns, name, dims) in self._series if ns == namespace and name == metric]

    def publish_invocation(
        self, *, function: str, qualifier: str | None, alias: str | None, executed: str, at: float,
        error: bool, duration_ms: float,
    ) -> None:
        """One invocation of ``function``: through ``alias`` (``qualifier`` = its name) or by version."""
        sets = [dimensions(), dimensions(FunctionName=function)]
        if alias is not None:
            resource = f"{function}:{alias}"
            sets += [dimensions(FunctionName=function, Resource=resource),
                     dimensions(FunctionName=function, Resource=resource, ExecutedVersion=executed)]
        elif qualifier is not None:
            sets.append(dimensions(FunctionName=function, Resource=f"{function}:{qualifier}"))
        for dims in sets:
            self.put(NAMESPACE, "Invocations", dims, at, 1.0)
            self.put(NAMESPACE, "Errors", dims, at, 1.0 if error else 0.0)
            self.put(NAMESPACE, "Throttles", dims, at, 0.0)
            self.put(NAMESPACE, "Duration", dims, at, duration_ms)
