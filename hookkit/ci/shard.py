"""A run's plan, and the share of it one job of a CI matrix runs (``hookkit run --shard K/N``).

N jobs of a CI matrix each run ``hookkit run ... --shard K/N`` on their own machine, and
together must run every check exactly once. Nothing is shared between them but the code, so
each job works out the whole plan (every check the run selects, its name and phase) and keeps
its share by a rule that depends on nothing else:

- each check gets a key, the SHA-256 of its phase and name: the same on every machine,
  operating system and Python version (unlike ``hash()``, which is salted per process);
- the plan's checks, sorted by key, are dealt out like cards: rank 0 to shard 1, rank 1 to
  shard 2, ... So shares differ by at most one check, and checks with similar names (a folder
  of recorded events of one kind, usually of one cost) are spread over the shards.

Declaration order would balance as well, but it is only as stable as the code that registers
checks: a checks module that registers from a set or a directory listing it does not sort
registers in an order that can differ between machines, and two jobs would then run some checks
twice and others never. The key depends on the check alone. The shard's checks still run in
declaration order.

The plan's :attr:`Plan.fingerprint` (a digest of every planned check) goes into each job's
report: ``hookkit merge`` refuses to join reports whose plans differ (another commit, other
options) or that do not make up shards 1..N exactly once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..core.errors import ConfigurationError
from ..core.outcome import RunResult, Verdict, decide
from ..core.phases import Phase
from ..core.registry import Check

#: A check's identity in a plan: its phase and its name (unique within the phase).
CheckId = tuple[Phase, str]


@dataclass(frozen=True)
class Shard:
    """Job ``index`` (1-based, as CI matrices count: GitLab's ``CI_NODE_INDEX``) of ``count``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ConfigurationError(
                f"shard {self.index}/{self.count}: K/N needs 1 <= K <= N (the first of 4 jobs is 1/4)"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str, *, source: str = "--shard") -> Shard:
        """``K/N``, e.g. ``2/4``: the second of four jobs."""
        index, sep, count = text.strip().partition("/")
        try:
            if not sep:
                raise ValueError(text)
            shard = cls(int(index), int(count))
        except ValueError:
            raise ConfigurationError(
                f"{source} {text!r}: write K/N, e.g. {source} 2/4 for the second of four jobs "
                "(GitHub Actions: ${{ matrix.shard }}/4, GitLab: $CI_NODE_INDEX/$CI_NODE_TOTAL)"
            ) from None
        except ConfigurationError as exc:
            raise ConfigurationError(f"{source} {text!r}: {exc}") from None
        return shard


def check_key(phase: Phase, name: str) -> str:
    """The check's place in the deal: stable across machines and Python versions."""
    return _key(f"{phase.value}\0{name}")


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Plan:
    """Every check a run selects (all its shards together), and which of them this job runs.

    ``checks`` holds each phase's checks in declaration order; ``mine`` the ids this job runs
    (all of them without a shard).
    """

    checks: Mapping[Phase, Sequence[Check]]
    shard: Shard | None
    mine: frozenset[CheckId]
    fingerprint: str

    @classmethod
    def of(cls, checks: Mapping[Phase, Sequence[Check]], shard: Shard | None = None) -> Plan:
        checks = {phase: list(found) for phase, found in checks.items()}
        ids = [(phase, c.name) for phase, found in checks.items() for c in found]
        if shard is None:
            mine = frozenset(ids)
        else:  # the deal: every check's key, sorted; rank r goes to shard r % N + 1
            dealt = sorted(ids, key=lambda id_: check_key(*id_))
            mine = frozenset(id_ for rank, id_ in enumerate(dealt) if rank % shard.count == shard.index - 1)
        lines = sorted(  # the same in every job, shard or not, and in any declaration order
            f"{phase.value}\0{c.name} {'blocking' if c.options.blocking else 'non-blocking'}\n"
            for phase, found in checks.items() for c in found
        )
        return cls(checks, shard, mine, hashlib.sha256("".join(lines).encode()).hexdigest())

    @property
    def phases(self) -> list[Phase]:
        """The phases with checks in the plan, in the order they run."""
        return [phase for phase, found in self.checks.items() if found]

    @property
    def size(self) -> int:
        return sum(len(found) for found in self.checks.values())

    def share(self, phase: Phase) -> list[Check]:
        """This job's checks of ``phase``, in declaration order."""
        if self.shard is None:  # every check
            return list(self.checks.get(phase, ()))
        return [c for c in self.checks.get(phase, ()) if (phase, c.name) in self.mine]

    def positions(self) -> dict[CheckId, int]:
        """Each planned check's place in its phase's declaration order (how merged reports are ordered)."""
        return {(phase, c.name): n for phase, found in self.checks.items() for n, c in enumerate(found)}

    def sources(self) -> dict[CheckId, tuple[str, int]]:
        """Where each planned check is declared (file and line), for reports that link to it."""
        return {(phase, c.name): c.source for phase, found in self.checks.items() for c in found if c.source}

    def blocking(self, phase: Phase) -> int:
        """Blocking checks of ``phase`` in the whole plan (every shard's)."""
        return sum(c.blocking for c in self.checks.get(phase, ()))

    def selected(self) -> Iterable[Check]:
        """Every check this job runs."""
        for phase in self.checks:
            yield from self.share(phase)

    def judge(self, result: RunResult) -> RunResult:
        """A phase's result as this job's part of the whole run.

        A shard alone must not fail closed for lack of blocking checks when other shards run
        them: its part passes when its blocking checks pass and the whole plan has at least one
        (``hookkit merge`` then decides the phase from every shard's outcomes).
        """
        if self.shard is None or result.phase is None:
            return result
        verdict, reason = decide(result.outcomes)
        blocking = [o for o in result.outcomes if o.blocking]
        if any(not o.passed for o in blocking):
            return replace(result, verdict=verdict, reason=f"shard {self.shard}: {reason}")
        total = self.blocking(result.phase)
        if not total:
            return replace(result, verdict=Verdict.FAILED, reason=(
                f"shard {self.shard}: no blocking check in the whole run (every shard) for this phase; "
                "non-blocking checks alone cannot approve a deployment"
            ))
        return replace(result, verdict=Verdict.SUCCEEDED, reason=(
            f"shard {self.shard}: all {len(blocking)} blocking check(s) of this shard passed "
            f"({total} in the whole run; hookkit merge decides the phase)"
        ))
