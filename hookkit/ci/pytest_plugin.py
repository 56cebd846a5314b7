"""hookkit's pytest plugin (entry point ``pytest11``); the runtime never imports it.

Fixtures for testing checks and hooks (``hookkit_event``, ``lambda_context``, ``fake_codedeploy``,
``run_hook_phase``), and opt-in collection: ``pytest --hookkit CHECKS --hookkit-target TARGET``
makes every check a test item, so CI gets JUnit from ``--junitxml`` and parallelism from xdist.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ..core.deployment import Deployment
from ..core.errors import HookkitError
from ..core.outcome import Outcome, RunResult
from ..core.phases import Phase
from ..core.registry import Check, HookRegistry
from ..core.runner import run_checks, run_phase
from ..core.scope import Scope
from ..local.context import LocalContext
from ..testing import FakeCodeDeploy
from .wiring import RunOptions, Wiring, parse_phases

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr


@pytest.fixture
def hookkit_event() -> Callable[..., dict[str, str]]:
    """Make a CodeDeploy hook event: ``hookkit_event()`` or ``hookkit_event(deployment_id="d-X")``."""
    counter = iter(range(1, 1_000_000))

    def make(deployment_id: str = "d-TEST00001", execution_id: str | None = None) -> dict[str, str]:
        return {
            "DeploymentId": deployment_id,
            "LifecycleEventHookExecutionId": execution_id or f"exec-{next(counter)}",
        }

    return make


@pytest.fixture
def lambda_context() -> LocalContext:
    """A Lambda context with the identity fields and a 60 s countdown."""
    return LocalContext(function_name="CodeDeployHook_test", timeout_s=60)


@pytest.fixture
def fake_codedeploy() -> FakeCodeDeploy:
    return FakeCodeDeploy()


@pytest.fixture
def run_hook_phase() -> Callable[..., RunResult]:
    """Run one phase of a registry with the given resources and return its :class:`RunResult`.

    ``run_hook_phase(registry, "pre", target=..., api=..., deployment=..., deadline_s=30)``;
    ``target``/``api`` are the objects checks receive (fakes welcome).
    """

    def run(
        registry: HookRegistry, phase: Phase | str, *, target: Any = None, api: Any = None,
        deployment: Deployment | None = None, context: Any = None, deadline_s: float = 60.0,
    ) -> RunResult:
        phase = Phase.parse(phase)
        scope = Scope(
            deployment=lambda: deployment or Deployment("d-TEST00001", "exec-1", phase),
            context=context,
            target=(lambda d, c, t: target) if target is not None else None,
            api=(lambda c, t: api) if api is not None else None,
        )
        return run_phase(registry.checks(phase), phase, provide=scope.provide, deadline=time.monotonic() + deadline_s)

    return run


# --- collecting checks as test items -------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hookkit", "run hookkit checks as tests")
    group.addoption("--hookkit", metavar="CHECKS", help="collect the checks of CHECKS (module name or path) as tests")
    group.addoption("--hookkit-target", metavar="TARGET", help="local:TEMPLATE#LogicalId[@DIR] or NAME_OR_ARN:VERSION")
    group.addoption("--hookkit-current", metavar="TARGET", help="the version the target replaces (for compare)")
    group.addoption("--hookkit-api", metavar="URL|local", help="base URL for smoke calls, or 'local'")
    group.addoption("--hookkit-phase", default="all", help="pre, post (or any phase name) or all (default)")


class CheckFailed(Exception):
    """Raised by a check item so pytest reports the outcome's message and differences."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


class CheckItem(pytest.Item):
    def __init__(self, *, check: Check, scope: Scope, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.scope = scope

    def runtest(self) -> None:
        (outcome,) = run_checks(
            [self.check], provide=self.scope.provide,
            deadline=time.monotonic() + self.check.options.timeout * (self.check.options.retries + 1) + 5,
        )
        if not outcome.passed:
            raise CheckFailed(outcome)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, CheckFailed):
            o = excinfo.value.outcome
            lines = [f"{o.phase} check {o.name!r}: {o.status} after {o.attempts} attempt(s)", o.message]
            lines += [f"  {d}" for d in o.differences if str(d) not in o.message]
            return "\n".join(line for line in lines if line)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.check.base_dir or ".", None, f"{self.check.phase.value}::{self.check.name}"


class ChecksCollector(pytest.Collector):
    def __init__(self, *, spec: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def collect(self) -> Iterator[CheckItem]:
        config = self.config
        wiring = Wiring.prepare(
            RunOptions(
                checks=self.spec,
                phases=parse_phases(config.getoption("hookkit_phase")),
                target=config.getoption("hookkit_target"),
                current=config.getoption("hookkit_current"),
                api=config.getoption("hookkit_api"),
            ),
            source="--hookkit",
        )
        for phase in wiring.phases:
            scope = wiring.scope(phase)
            for check in wiring.checks(phase):
                yield CheckItem.from_parent(self, name=f"{phase.value}::{check.name}", check=check, scope=scope)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    spec = config.getoption("hookkit")
    if not spec:
        return
    collector = ChecksCollector.from_parent(session, name="hookkit", spec=spec)
    try:
        items.extend(collector.collect())
    except HookkitError as exc:  # a usage error: say what to fix, no internal-error traceback
        raise pytest.UsageError(f"hookkit: {exc}") from None
