"""hookkit's pytest plugin (entry point ``pytest11``); the runtime never imports it.

Fixtures for testing checks and hooks (``hookkit_event``, ``lambda_context``, ``fake_codedeploy``,
``run_hook_phase``), and checks collected as tests: ``pytest --hookkit CHECKS --hookkit-target
TARGET`` makes each checks file a collector, the way pytest's own plugins add tests that are not
Python test functions (``pytest_collect_file`` returning a :class:`pytest.File`)::

    checks.py                          ChecksFile
    checks.py::pre                     CheckPhase   (pre, post, or an ECS phase's name)
    checks.py::pre::creates_order      CheckItem
    checks.py::pre::direct/get_order   CheckItem    (a recorded event)

So node ids are real: ``-k``, ``--lf``, ``--collect-only``, selection by node id, pytest-xdist
and ``--junitxml`` work as for any test. Items carry markers: ``pre_traffic`` / ``post_traffic``
(one per phase), ``non_blocking``, and ``hookkit`` on every check. A failure shows the check's
message and each difference once, located at the line that declares the check.

The checks files are added to what pytest collects; pytest's Python collector never imports
them as test modules (that would register every check twice). Within a process, the checks are
imported, planned (``--hookkit-shard``) and their targets made once, when the first checks file
is collected: a checks file that does not import is that file's collection error, a target that
cannot be made every file's, each naming the fix.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..checks.recorded import read_events
from ..core.deployment import Deployment
from ..core.errors import HookkitError
from ..core.loader import checks_modules
from ..core.outcome import Outcome, RunResult
from ..core.phases import Phase
from ..core.registry import Check, HookRegistry, default_registry
from ..core.runner import run_checks, run_phase
from ..core.scope import Scope
from ..local.context import LocalContext
from ..testing import FakeCodeDeploy
from . import values
from .reports import failure_text, short_phase
from .shard import Plan, Shard
from .wiring import RunOptions, Wiring, import_deferred, make_plan, parse_phases, require_target

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


# --- checks collected as tests -------------------------------------------------------------------

#: The marker of each phase's checks: ``pytest -m pre_traffic``.
PHASE_MARKERS = {
    Phase.BEFORE_ALLOW_TRAFFIC: "pre_traffic",
    Phase.AFTER_ALLOW_TRAFFIC: "post_traffic",
    Phase.BEFORE_INSTALL: "before_install",
    Phase.AFTER_INSTALL: "after_install",
    Phase.AFTER_ALLOW_TEST_TRAFFIC: "after_allow_test_traffic",
}
NON_BLOCKING = "non_blocking"
HOOKKIT = "hookkit"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hookkit", "run hookkit checks as tests")
    group.addoption("--hookkit", metavar="CHECKS", help="collect the checks of CHECKS (module name or path) as tests")
    group.addoption("--hookkit-target", metavar="TARGET", help="local:TEMPLATE#LogicalId[@DIR] or NAME_OR_ARN:VERSION")
    group.addoption("--hookkit-current", metavar="TARGET", help="the version the target replaces (for compare)")
    group.addoption("--hookkit-api", metavar="URL|local", help="base URL for smoke calls, or 'local'")
    group.addoption("--hookkit-phase", default="all", metavar="pre|post|all",
                    help="pre, post (or any phase name, e.g. PreTraffic) or all (default)")
    group.addoption("--hookkit-parameter", action="append", default=[], metavar="KEY=VALUE",
                    help="override a template parameter of a local target (repeatable)")
    group.addoption("--hookkit-env-vars", metavar="FILE",
                    help="environment variables for a local target, as hookkit run --env-vars reads them")
    group.addoption("--hookkit-shard", metavar="K/N",
                    help="collect the K-th of N shares of the checks (one job of a CI matrix of N)")


@dataclass
class _Setup:
    """What ``--hookkit`` asked for, checked when pytest starts."""

    options: RunOptions
    modules: list[tuple[str, Path]]
    checks: _Checks | None = None
    #: Said at the end when this job's shard holds none of the run's checks (its exit 5 made 0).
    empty_share: str = ""


_SETUP = pytest.StashKey[_Setup]()


def pytest_configure(config: pytest.Config) -> None:
    for phase, marker in PHASE_MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: a hookkit check of the {phase} phase")
    config.addinivalue_line("markers", f"{NON_BLOCKING}: a hookkit check declared blocking=False")
    config.addinivalue_line("markers", f"{HOOKKIT}: a hookkit check collected by --hookkit")
    spec = config.getoption("hookkit")
    if not spec:
        return
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)  # module names resolve from where CI runs, as hookkit run's do
    try:
        modules = [(name, file.resolve()) for name, file in checks_modules(spec, source="--hookkit")]
        setup = _Setup(_options(config, spec), modules)
    except HookkitError as exc:  # a usage error: say what to fix, no internal-error traceback
        raise pytest.UsageError(f"hookkit: {exc}") from None
    config.stash[_SETUP] = setup
    named = {Path(arg.split("::")[0]).resolve() for arg in config.args}
    config.args.extend(str(file) for _, file in setup.modules if file not in named)


def _options(config: pytest.Config, spec: str) -> RunOptions:
    def option(name: str) -> Any:
        return config.getoption(name)

    phase = option("hookkit_phase")
    try:
        phases = parse_phases(phase)
    except HookkitError as exc:
        raise HookkitError(str(exc).replace("--phase", "--hookkit-phase")) from None
    env_vars = option("hookkit_env_vars")
    if env_vars and not Path(env_vars).is_file():
        raise HookkitError(f"--hookkit-env-vars {env_vars}: no such file; pass the JSON file of variables")
    api = option("hookkit_api")
    shard = option("hookkit_shard")
    try:
        checked_api = values.api(api) if api else None
    except HookkitError as exc:
        raise HookkitError(f"--hookkit-api {exc}") from None
    return RunOptions(
        checks=spec, phases=phases, target=option("hookkit_target"), current=option("hookkit_current"),
        api=checked_api, parameters=values.parameters(option("hookkit_parameter"), source="--hookkit-parameter"),
        shard=Shard.parse(shard, source="--hookkit-shard") if shard else None, env_vars=env_vars,
    )


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(
    file_path: Path, parent: pytest.Collector
) -> Generator[None, list[pytest.Collector], list[pytest.Collector]]:
    """A checks file is hookkit's: collected as checks, never imported as a Python test module."""
    collected = yield
    setup = parent.config.stash.get(_SETUP, None)
    if setup is None or file_path.resolve() not in {file for _, file in setup.modules}:
        return collected
    others = [node for node in collected if not isinstance(node, pytest.Module)]
    return [*others, ChecksFile.from_parent(parent, path=file_path)]


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    setup = config.stash.get(_SETUP, None)
    if setup is None or setup.checks is None or setup.checks.plan is None or setup.checks.plan.shard is None:
        return []
    plan = setup.checks.plan
    return [f"hookkit: shard {plan.shard} collects {len(plan.mine)} of the run's {plan.size} check(s)"]


def _without_target(config: pytest.Config) -> bool:
    """True when checks will run without ``--hookkit-target`` (``--collect-only`` runs none: it needs none)."""
    setup = config.stash.get(_SETUP, None)
    return setup is not None and not setup.options.target and not config.option.collectonly


def _require_target(checks: Iterable[Check]) -> None:
    try:
        require_target(checks, "--hookkit-target")
    except HookkitError as exc:
        raise pytest.UsageError(f"hookkit: {exc}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """Under pytest-xdist, the controller (which collects nothing) refuses a missing target for the plan.

    A worker's usage error would reach pytest-xdist as a crash, so the controller says it first,
    for every check this job's share selects (as ``hookkit run`` does; ``-k`` is not yet applied).
    """
    config = session.config
    if _without_target(config) and config.getoption("dist", "no") != "no" and not hasattr(config, "workerinput"):
        plan = _checks(config, wired=False).plan
        assert plan is not None  # noqa: S101 - load() always plans
        _require_target(plan.selected())


def pytest_collection_finish(session: pytest.Session) -> None:
    """Without ``--hookkit-target``, checks selected to run that ask for a target are one usage error.

    As ``hookkit run`` refuses them before running anything; each failing on its own would bury
    the one fix under as many failures. Checks that need no target still run without one.
    """
    if _without_target(session.config) and not hasattr(session.config, "workerinput"):
        _require_target(item.check for item in session.items if isinstance(item, CheckItem))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A shard with none of the run's checks passes, as ``hookkit run``'s does, not pytest's exit 5.

    With more jobs in a CI matrix than checks, some job's share is empty; failing it would fail
    the matrix. Only that case: a run without checks, or a ``-k`` that selects none, stays exit 5.
    """
    setup = session.config.stash.get(_SETUP, None)
    if setup is None or exitstatus != pytest.ExitCode.NO_TESTS_COLLECTED or setup.options.shard is None:
        return
    plan = _checks(session.config, wired=False).plan  # the xdist controller has not planned yet
    if plan is not None and plan.size and not plan.mine:
        setup.empty_share = (f"hookkit: shard {plan.shard} has none of the run's {plan.size} check(s): nothing "
                             "to run, which passes (the share of a matrix with more jobs than checks)")
        session.exitstatus = pytest.ExitCode.OK


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    setup = terminalreporter.config.stash.get(_SETUP, None)
    if setup is not None and setup.empty_share:
        terminalreporter.write_line(setup.empty_share)


@dataclass
class _Checks:
    """The checks of every checks file, imported, planned and wired once per process."""

    by_file: dict[Path, list[Check]] = field(default_factory=dict)
    errors: dict[Path, str] = field(default_factory=dict)
    plan: Plan | None = None
    wiring: Wiring | None = None
    error: str = ""
    scopes: dict[Phase, Scope] = field(default_factory=dict)
    warned: bool = False
    selected: HookRegistry = field(default_factory=HookRegistry)
    wired: bool = False

    @classmethod
    def load(cls, setup: _Setup) -> _Checks:
        """The checks imported and planned; :meth:`wire` reads their events and makes the targets."""
        checks = cls()
        registry = default_registry
        for spec, file in setup.modules:
            # this file's checks: those its import registers, or declares again (a test module imported it first)
            before = {(c.phase, c.name): c for c in registry}
            try:
                import_deferred(spec, registry=registry, source="--hookkit")
            except HookkitError as exc:
                checks.errors[file] = str(exc)
                continue
            checks.by_file[file] = [c for c in registry if before.get((c.phase, c.name)) is not c]
        mine = {(c.phase, c.name) for found in checks.by_file.values() for c in found}
        for check in registry:
            if (check.phase, check.name) in mine:
                checks.selected.add(check)
        checks.plan = make_plan(setup.options, checks.selected)
        return checks

    def wire(self, setup: _Setup) -> None:
        """Read the recorded events this process runs and make the targets, once."""
        if self.wired:
            return
        self.wired = True
        assert self.plan is not None  # noqa: S101 - load() always plans
        for file, found in self.by_file.items():
            try:
                read_events(c for c in found if (c.phase, c.name) in self.plan.mine)
            except HookkitError as exc:
                self.errors[file] = str(exc)
        try:
            self.wiring = Wiring.build(setup.options, self.selected, self.plan)
        except HookkitError as exc:
            self.error = f"making the targets (--hookkit-target, --hookkit-current, --hookkit-api): {exc}"

    def scope(self, phase: Phase) -> Scope:
        assert self.wiring is not None  # noqa: S101 - items exist only once the wiring does
        if phase not in self.scopes:
            self.scopes[phase] = self.wiring.scope(phase)
        return self.scopes[phase]


def _checks(config: pytest.Config, *, wired: bool = True) -> _Checks:
    """The checks, imported and planned once per process; ``wired``: their events read and targets made too."""
    setup = config.stash[_SETUP]
    if setup.checks is None:
        setup.checks = _Checks.load(setup)
    if wired:
        setup.checks.wire(setup)
    return setup.checks


class ChecksFile(pytest.File):
    """A checks module: one :class:`CheckPhase` per phase it declares checks for."""

    def collect(self) -> Iterator[CheckPhase]:
        checks = _checks(self.config)
        file = self.path.resolve()
        if file in checks.errors:
            raise self.CollectError(f"hookkit: {checks.errors[file]}")
        if checks.error:
            raise self.CollectError(f"hookkit: {checks.error}")
        plan = checks.plan
        assert plan is not None  # noqa: S101 - load() always plans
        if checks.wiring is not None and not checks.warned:  # what the templates could not resolve, once
            checks.warned = True
            for warning in dict.fromkeys(checks.wiring.warnings):
                self.warn(pytest.PytestWarning(f"hookkit: {warning}"))
        for phase in plan.phases:
            found = [c for c in checks.by_file.get(file, ()) if c.phase is phase and (phase, c.name) in plan.mine]
            if found:
                yield CheckPhase.from_parent(self, name=short_phase(phase), phase=phase, checks=found)


class CheckPhase(pytest.Collector):
    """The checks of one phase in one checks file, in declaration order."""

    def __init__(self, *, phase: Phase, checks: list[Check], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.phase, self.checks = phase, checks
        self.add_marker(PHASE_MARKERS[phase])

    def collect(self) -> Iterator[CheckItem]:
        for check in self.checks:
            yield CheckItem.from_parent(self, name=check.name, check=check)


class CheckFailed(Exception):
    """Raised by a check item so pytest reports the outcome's message and differences."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


#: Options hookkit run's messages name, and what they are called under pytest.
_PYTEST_OPTIONS = re.compile(r"(?<![\w-])--(target|current|api|parameter|phase|shard|env-vars)\b")


class CheckItem(pytest.Item):
    """One check, run when pytest runs it, reported at the line that declares it."""

    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.add_marker(HOOKKIT)
        if not check.blocking:
            self.add_marker(NON_BLOCKING)

    def runtest(self) -> None:
        options = self.check.options
        budget = options.timeout * (options.retries + 1) + options.retry_delay * options.retries + 5
        scope = _checks(self.config).scope(self.check.phase)
        (outcome,) = run_checks([self.check], provide=scope.provide, deadline=time.monotonic() + budget)
        if outcome.passed:
            return
        # reported, never fatal, as a deployment treats it; but a check that cannot run as written is
        # a mistake in the checks (hookkit run exits 2), which no expected failure may hide
        if not self.check.blocking and not outcome.configuration:
            pytest.xfail(f"non-blocking check did not pass: {failure_text(outcome)[0]}")
        raise CheckFailed(outcome)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | TerminalRepr:
        if not isinstance(excinfo.value, CheckFailed):
            return super().repr_failure(excinfo, style)
        o = excinfo.value.outcome
        where = self.location
        place = f"{where[0]}:{(where[1] or 0) + 1}"
        head = f"{o.phase} check {o.name!r}: {o.status} after {o.attempts} attempt(s) ({place})"
        lines = [head, *failure_text(o)]
        if o.configuration:
            lines.append("(the check could not run as written: a configuration error, not the function's)")
        if any(_PYTEST_OPTIONS.search(line) for line in lines):
            lines.append("(under pytest, hookkit run's --target, --current, --api, --parameter ... are "
                         "--hookkit-target, --hookkit-current, --hookkit-api, --hookkit-parameter ...)")
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        domain = f"{self.check.phase.value}::{self.check.name}"
        if self.check.source:
            file, line = self.check.source
            return Path(file), line - 1, domain
        return self.path, None, domain
