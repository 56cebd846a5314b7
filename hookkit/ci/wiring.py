"""How a CI run is put together: checks imported, targets and the API made, a scope per phase.

``hookkit run`` and the pytest plugin run checks the same way; this
module is the one place that says how, so none of them reaches into another's internals::

    wiring = Wiring.prepare(RunOptions(checks="checks.py", target="local:template.yaml#Fn"))
    for phase in wiring.phases:
        result = wiring.run_phase(phase, wiring.checks(phase))

A run outside Lambda has no CodeDeploy deployment to discover: the ``deployment`` a check asks
for is made from the targets named on the command line (:func:`local_deployment`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..checks.invocation import Invoker
from ..core.deployment import Deployment, LambdaTarget
from ..core.errors import ConfigurationError
from ..core.loader import import_checks
from ..core.outcome import Outcome, RunResult
from ..core.phases import Phase
from ..core.registry import Check, HookRegistry, default_registry
from ..core.runner import DEFAULT_MAX_WORKERS, run_phase
from ..core.scope import ApiFactory, Scope, TargetFactory
from ..hook.clients import Clients

if TYPE_CHECKING:
    from ..checks.smoke import Api
    from ..local.sam import FunctionSpec

#: ``--phase all``: the two phases of a Lambda deployment, in the order CodeDeploy runs them.
ALL_PHASES = (Phase.BEFORE_ALLOW_TRAFFIC, Phase.AFTER_ALLOW_TRAFFIC)
LOCAL_API = "local"
DEFAULT_DEADLINE = 900.0


def parse_phases(text: str) -> tuple[Phase, ...]:
    """``all``, or one phase in any spelling hookkit accepts (``pre``, ``PreTraffic``, ``BeforeAllowTraffic``)."""
    if text.strip().lower() == "all":
        return ALL_PHASES
    return (Phase.parse(text, source="--phase"),)


@dataclass(frozen=True)
class RunOptions:
    """What a CI run was asked to do, whichever front end (CLI, pytest) collected it."""

    checks: str
    phases: tuple[Phase, ...] = ALL_PHASES
    target: str | None = None
    current: str | None = None
    api: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    workers: int = DEFAULT_MAX_WORKERS
    deadline: float = DEFAULT_DEADLINE
    #: Execution environments per local function at most; None: the CPUs this process may use.
    concurrency: int | None = None


@dataclass
class TargetSpec:
    """What ``--target``/``--current`` named, made ready to build ``target`` for each check."""

    text: str
    function_name: str
    version: str
    invoker: Invoker
    local: FunctionSpec | None = None
    warnings: list[str] = field(default_factory=list)


def parse_target(
    text: str, *, parameters: Mapping[str, str], clients: Clients, concurrency: int | None = None
) -> TargetSpec:
    """``local:TEMPLATE#ID[@CODE_DIR]`` or ``NAME_OR_ARN:VERSION``; errors say which form was expected."""
    if text.startswith("local:"):
        from ..local.invoker import LocalInvoker
        from ..local.sam import function_spec

        rest = text[len("local:"):]
        template, sep, logical = rest.partition("#")
        if not sep or not template or not logical:
            raise ConfigurationError(
                f"--target {text!r}: a local target is local:TEMPLATE#LogicalId, "
                "e.g. local:template.yaml#OrdersFunction"
            )
        logical, _, code_dir = logical.partition("@")
        spec = function_spec(template, logical, parameters=parameters, code_uri=code_dir or None)
        version = f"local:{code_dir}" if code_dir else "local"
        invoker = LocalInvoker(spec, version=version, concurrency=concurrency)
        invoker.load()
        return TargetSpec(text, spec.function_name, version, invoker, spec, [*spec.warnings, *invoker.warnings])
    from ..checks.target import LambdaInvoker, require_version

    name, sep, version = text.rpartition(":")
    if not sep or not name:
        raise ConfigurationError(
            f"--target {text!r}: name a deployed version as NAME_OR_ARN:VERSION (e.g. orders:7), "
            "or the function's code as local:template.yaml#LogicalId"
        )
    require_version(name, version)
    return TargetSpec(text, name, version, LambdaInvoker(clients.factory("lambda"), name))


def local_deployment(phase: Phase, target: TargetSpec | None, current: TargetSpec | None) -> Deployment:
    """The ``deployment`` a check sees in CI: the targets named on the command line."""
    lambda_target = None
    if target is not None:
        lambda_target = LambdaTarget(
            target.function_name, target.version, current_version=current.version if current else None
        )
    return Deployment("local-run", "local-run", phase, lambda_target, source="command line")


def target_factory(target: TargetSpec | None, current: TargetSpec | None) -> TargetFactory | None:
    """How ``target`` is made for each check; ``None`` when no ``--target`` was given."""
    if target is None:
        return None
    from ..checks.target import Target

    def no_current() -> str:
        raise ConfigurationError(
            "this check needs the version the target replaces (target.current / target.compare): "
            "pass --current NAME_OR_ARN:VERSION or --current local:TEMPLATE#LogicalId@CODE_DIR"
        )

    def make(deployment: Deployment, check: Check, timeout: float) -> Target:
        previous: Target | Callable[[], str] = no_current
        if current is not None:
            previous = Target(current.invoker, current.version, function_name=current.function_name,
                              base_dir=check.base_dir, timeout=timeout)
        return Target(target.invoker, target.version, function_name=target.function_name, current=previous,
                      base_dir=check.base_dir, timeout=timeout)

    return make


def api_factory(api: str | None, target: TargetSpec | None, clients: Clients) -> ApiFactory:
    """How ``api`` is made for a check; ``requests`` is imported only once a check asks for one."""
    if api == LOCAL_API:
        return _in_process_api(target)

    def make(check: Check, timeout: float) -> Api:
        from ..checks.smoke import Api

        if api:
            return Api(api, timeout=timeout, base_dir=check.base_dir, source="--api")
        return Api.from_environment(
            os.environ, timeout=timeout, base_dir=check.base_dir, cloudformation=clients.factory("cloudformation")
        )

    return make


def _in_process_api(target: TargetSpec | None) -> ApiFactory:
    """Smoke calls answered by the local function's handler, routed by the template's API events."""
    from ..local.apigw import Route, in_process_api
    from ..local.invoker import LocalInvoker
    from ..local.sam import CATCH_ALL_PATH

    if target is None or target.local is None or not isinstance(target.invoker, LocalInvoker):
        raise ConfigurationError(
            "--api local serves smoke calls from the function's code: also pass --target local:TEMPLATE#LogicalId"
        )
    spec, invoker = target.local, target.invoker
    if not spec.routes:
        raise ConfigurationError(
            f"--api local: {spec.logical_id} has no Api or HttpApi events in the template, so no route reaches it"
        )
    routes: list[Route] = []
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

    def make(check: Check, timeout: float) -> Api:
        return in_process_api(invoker.call, routes, payload_version=version, timeout=timeout, base_dir=check.base_dir)

    return make


class Wiring:
    """One CI run, ready to go: its checks imported and its targets made.

    Build it with :meth:`prepare`; ``warnings`` holds what the templates could not resolve, for
    the front end to show.
    """

    def __init__(
        self,
        options: RunOptions,
        registry: HookRegistry,
        *,
        target: TargetSpec | None,
        current: TargetSpec | None,
        api: ApiFactory,
    ) -> None:
        self.options = options
        self.registry = registry
        self.target = target
        self.current = current
        self._api = api
        self._targets = target_factory(target, current)
        self.started = time.monotonic()
        self.warnings = [w for spec in (target, current) if spec is not None for w in spec.warnings]

    @classmethod
    def prepare(
        cls, options: RunOptions, *, registry: HookRegistry | None = None, clients: Clients | None = None,
        source: str = "CHECKS",
    ) -> Wiring:
        """Import the checks and make the targets; a ConfigurationError names what to fix."""
        registry = registry if registry is not None else default_registry
        clients = clients if clients is not None else Clients()
        cwd = str(Path.cwd())
        if cwd not in sys.path:
            sys.path.insert(0, cwd)  # module names resolve from where CI runs, as paths do
        import_checks(options.checks, registry=registry, source=source)
        target, current = (
            parse_target(text, parameters=options.parameters, clients=clients, concurrency=options.concurrency)
            if text else None
            for text in (options.target, options.current)
        )
        return cls(options, registry, target=target, current=current, api=api_factory(options.api, target, clients))

    @property
    def phases(self) -> tuple[Phase, ...]:
        return self.options.phases

    def checks(self, phase: Phase) -> list[Check]:
        return self.registry.checks(phase)

    def scope(self, phase: Phase) -> Scope:
        """The resources checks of ``phase`` ask for (``target``, ``api``, ``deployment``)."""
        return Scope(
            deployment=lambda: local_deployment(phase, self.target, self.current),
            target=self._targets,
            api=self._api,
        )

    def run_phase(
        self, phase: Phase, checks: Sequence[Check], on_outcome: Callable[[Outcome], None] | None = None
    ) -> RunResult:
        """Run ``checks`` of ``phase``; the whole run stops at ``options.deadline`` from :meth:`prepare`."""
        return run_phase(
            checks, phase, provide=self.scope(phase).provide, deadline=self.started + self.options.deadline,
            max_workers=self.options.workers, on_outcome=on_outcome,
        )

