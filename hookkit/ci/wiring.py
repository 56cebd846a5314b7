"""How a CI run is put together: checks imported, targets and the API made, a scope per phase.

``hookkit run`` and the pytest plugin run checks the same way; this
module is the one place that says how, so none of them reaches into another's internals::

    wiring = Wiring.prepare(RunOptions(checks="checks.py", target="local:template.yaml#Fn"))
    for phase in wiring.phases:
        result = wiring.run_phase(phase, wiring.checks(phase))

The checks are imported first, recorded events listed but not read; the run's :class:`~hookkit.ci.shard.Plan`
then says which checks this job runs (all of them, or a ``--shard``'s share), and only their
event files are read, before anything runs.

A run outside Lambda has no CodeDeploy deployment to discover: the ``deployment`` a check asks
for is made from the targets named on the command line (:func:`local_deployment`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks.invocation import Invoker
from ..checks.recorded import deferred_reading, read_events
from ..core.deployment import Deployment, LambdaTarget
from ..core.errors import ConfigurationError
from ..core.loader import import_checks
from ..core.outcome import Outcome, RunResult
from ..core.phases import Phase
from ..core.registry import Check, HookRegistry, default_registry
from ..core.runner import AT_DEADLINE, DEFAULT_MAX_WORKERS, run_phase
from ..core.scope import ApiFactory, Scope, TargetFactory
from ..hook.clients import Clients
from .shard import Plan, Shard

if TYPE_CHECKING:
    from ..checks.smoke import Api
    from ..local.envvars import EnvVarsFile
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
    #: This job's share of a run spread over a CI matrix; ``None`` runs every check.
    shard: Shard | None = None
    #: A file of environment variables for a local target (``--env-vars``, as ``sam local`` reads).
    env_vars: str | None = None
    #: Execution environments per local function at most; None: the CPUs this process may use.
    concurrency: int | None = None


@dataclass
class Said:
    """What making a run ready has to tell the user: warnings, and notes saying what will run."""

    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class TargetSpec:
    """What ``--target``/``--current`` named, made ready to build ``target`` for each check."""

    text: str
    function_name: str
    version: str
    invoker: Invoker
    local: FunctionSpec | None = None
    warnings: list[str] = field(default_factory=list)
    template: str | None = None
    notes: list[str] = field(default_factory=list)
    #: A local target made with ``ready=False``: waits for its first environment's cold start.
    waiting: Callable[[], None] | None = None

    def ready(self) -> None:
        """Wait for a local target's first environment; a handler that does not import is a ConfigurationError."""
        waiting, self.waiting = self.waiting, None
        if waiting is not None:
            waiting()


def parse_target(
    text: str, *, parameters: Mapping[str, str], clients: Clients, env_vars: EnvVarsFile | str | None = None,
    concurrency: int | None = None, ready: bool = True,
) -> TargetSpec:
    """``local:TEMPLATE#ID[@CODE_DIR]`` or ``NAME_OR_ARN:VERSION``; errors say which form was expected.

    A local target's environment is the template's, overridden by the shell's values for the
    variables it declares and then by ``env_vars`` (SAM CLI's ``--env-vars`` JSON), as ``sam
    local`` does; it runs in at most ``concurrency`` execution environments at once. Its first
    environment starts now; with ``ready=False`` nothing waits for it until :meth:`TargetSpec.ready`.
    """
    if text.startswith("local:"):
        from ..local.invoker import LocalInvoker
        from ..local.requirements import requirements_warning
        from ..local.sam import function_spec

        rest = text[len("local:"):]
        template, sep, logical = rest.partition("#")
        if not sep or not template or not logical:
            raise ConfigurationError(
                f"--target {text!r}: a local target is local:TEMPLATE#LogicalId, "
                "e.g. local:template.yaml#OrdersFunction"
            )
        logical, _, code_dir = logical.partition("@")
        spec = function_spec(
            template, logical, parameters=parameters, code_uri=code_dir or None, env_vars=env_vars, shell_env=os.environ
        )
        version = f"local:{code_dir}" if code_dir else "local"
        invoker = LocalInvoker(spec, version=version, concurrency=concurrency)
        invoker.begin_load()  # the function imports in its process while this one goes on
        python = invoker.interpreter.executable
        missing = requirements_warning(spec, python=python)
        target = TargetSpec(text, spec.function_name, version, invoker, spec, [], template, list(spec.notes))

        def wait() -> None:
            invoker.load()
            found = missing
            if invoker.interpreter.executable != python:  # the declared Python could not run it: hookkit's own does
                found = requirements_warning(spec, python=invoker.interpreter.executable)
            target.warnings[:] = [*spec.warnings, *invoker.warnings, *([found] if found else [])]

        target.waiting = wait
        if ready:
            target.ready()
        return target
    from ..checks.target import LambdaInvoker, require_version

    name, sep, version = text.rpartition(":")
    if not sep or not name:
        raise ConfigurationError(
            f"--target {text!r}: name a deployed version as NAME_OR_ARN:VERSION (e.g. orders:7), "
            "or the function's code as local:template.yaml#LogicalId"
        )
    require_version(name, version)
    return TargetSpec(text, name, version, LambdaInvoker(clients.factory("lambda"), name))


_Targets = tuple[TargetSpec | None, TargetSpec | None, "EnvVarsFile | None"]


def _targets(options: RunOptions, clients: Clients) -> _Targets:
    """``--target`` and ``--current`` made (local ones with their first environment starting), and ``--env-vars``."""
    env_vars: EnvVarsFile | None = None
    if options.env_vars is not None:
        from ..local.envvars import load_env_vars

        env_vars = load_env_vars(options.env_vars)  # a bad file is an error even if nothing reads it
    target, current = (
        parse_target(text, parameters=options.parameters, clients=clients, env_vars=env_vars,
                     concurrency=options.concurrency, ready=False) if text else None
        for text in (options.target, options.current)
    )
    return target, current, env_vars


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


def api_factory(
    api: str | None, target: TargetSpec | None, clients: Clients, *, parameters: Mapping[str, str] | None = None,
    env_vars: EnvVarsFile | str | None = None, said: Said | None = None,
) -> ApiFactory:
    """How ``api`` is made for a check; ``requests`` is imported only once a check asks for one.

    ``local`` (or ``local:ApiLogicalId``) serves the local target's API in-process; ``said``
    collects the warnings and notes about the functions behind it. A URL (``--api``) gets the
    auth the ``HOOKKIT_API_KEY`` / ``HOOKKIT_API_TOKEN`` / ``HOOKKIT_API_AUTH`` variables ask for,
    as the URL from ``HOOKKIT_API_URL`` does: where the URL comes from must not change who calls.
    """
    if api is not None and (api == LOCAL_API or api.startswith(f"{LOCAL_API}:")):
        choice = api[len(LOCAL_API) + 1:] or None
        return _in_process_api(target, choice, parameters=parameters or {}, env_vars=env_vars,
                               said=said if said is not None else Said())

    def make(check: Check, timeout: float) -> Api:
        from ..checks.smoke import Api

        if api:
            from ..checks.auth import auth_from_environment

            auth = auth_from_environment(os.environ, base_url=api, ssm=clients.factory("ssm"),
                                         secretsmanager=clients.factory("secretsmanager"))
            return Api(api, timeout=timeout, auth=auth, base_dir=check.base_dir, source="--api")
        return Api.from_environment(
            os.environ, timeout=timeout, base_dir=check.base_dir, cloudformation=clients.factory("cloudformation")
        )

    return make


def _in_process_api(
    target: TargetSpec | None, choice: str | None, *, parameters: Mapping[str, str],
    env_vars: EnvVarsFile | str | None, said: Said,
) -> ApiFactory:
    """Smoke calls answered by the functions' code, routed as the template's API routes them.

    The API served is the target's (or ``choice``); each of its routes invokes its own function:
    the target's build for the target's routes, the template's code for the others, each made
    ready when first called.
    """
    from ..local.apigw import Integration, Route, local_api
    from ..local.apis import served_api, template_apis
    from ..local.invoker import LocalInvoker
    from ..local.sam import CATCH_ALL_PATH

    if target is None or target.local is None or target.template is None or not isinstance(
        target.invoker, LocalInvoker
    ):
        raise ConfigurationError(
            "--api local serves smoke calls from the function's code: also pass --target local:TEMPLATE#LogicalId"
        )
    served = served_api(template_apis(target.template, parameters=parameters), target.local, choice)
    said.warnings += served.warnings
    functions = _ApiFunctions(target.template, {target.local.logical_id: target.invoker.call}, parameters, env_vars,
                              said)
    integrations: list[Integration] = []
    for route, function in served.routes:  # an HTTP API's $default route answers every path, the root included
        paths = ("/", "/{proxy+}") if route.path == CATCH_ALL_PATH else (route.path,)
        call = functions.call(function)
        integrations += [Integration(Route(route.method, path), call, route.payload_version) for path in paths]

    def make(check: Check, timeout: float) -> Api:
        return local_api(integrations, kind=served.kind, timeout=timeout, stage=served.stage,
                         stage_variables=served.stage_variables, base_dir=check.base_dir)

    return make


def import_deferred(checks: str, *, registry: HookRegistry, source: str = "CHECKS") -> None:
    """Import checks modules with their recorded events listed, not read (see :func:`make_plan`).

    Module names resolve from where CI runs, as paths do.
    """
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    with deferred_reading():
        import_checks(checks, registry=registry, source=source)


def make_plan(options: RunOptions, registry: HookRegistry) -> Plan:
    """Every check of the selected phases, and this job's share of them."""
    return Plan.of({phase: registry.checks(phase) for phase in options.phases}, options.shard)


def require_target(checks: Iterable[Check], option: str = "--target") -> None:
    """Refuse ``checks``, to be run without a target, if any asks for one: one error naming them and the fix."""
    needing = [c for c in checks if "target" in c.params]
    if needing:
        shown = ", ".join(
            f"{c.name} ({os.path.basename(c.source[0])}:{c.source[1]})" if c.source else c.name for c in needing[:3]
        ) + (", ..." if len(needing) > 3 else "")
        raise ConfigurationError(
            f"{len(needing)} check(s) ask for a target ({shown}), and no {option} was given: pass "
            f"{option} local:TEMPLATE#LogicalId (the function's code) or {option} NAME_OR_ARN:VERSION "
            "(a deployed version)"
        )


class _ApiFunctions:
    """The functions behind a local API: those given (the target's build), and the others read
    from the template once, each run in local environments of its own once first called."""

    def __init__(
        self, template: str, given: dict[str, Callable[[dict[str, Any]], Any]], parameters: Mapping[str, str],
        env_vars: EnvVarsFile | str | None, said: Said,
    ) -> None:
        self._template = template
        self._given = given
        self._parameters = parameters
        self._env_vars = env_vars
        self._said = said
        self._invokers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def call(self, function: str) -> Callable[[dict[str, Any]], Any]:
        """What a route to ``function`` calls; a function that cannot run locally answers 502."""
        if function not in self._given:  # once per function, however many routes it has
            self._given[function] = self._read(function)
        return self._given[function]

    def _read(self, function: str) -> Callable[[dict[str, Any]], Any]:
        from ..local.invoker import LocalInvoker
        from ..local.requirements import requirements_warning
        from ..local.sam import function_spec

        try:
            other = function_spec(self._template, function, parameters=self._parameters, env_vars=self._env_vars,
                                  shell_env=os.environ)
        except ConfigurationError as exc:
            self._said.warnings.append(f"--api local: routes to {function} answer 502 Internal server error: {exc}")
            return _failing(exc)
        missing = requirements_warning(other)
        self._said.notes += other.notes
        self._said.warnings += [*other.warnings, *([missing] if missing else [])]

        def call(event: dict[str, Any]) -> Any:
            with self._lock:  # made once, by the first call that needs it
                invoker = self._invokers.get(function)
                if invoker is None:
                    invoker = self._invokers[function] = LocalInvoker(other, version="local")
            return invoker.call(event)

        return call


def _failing(error: ConfigurationError) -> Callable[[dict[str, Any]], Any]:
    def call(event: dict[str, Any]) -> Any:
        raise error

    return call


class Wiring:
    """One CI run, ready to go: its checks imported and its targets made.

    Build it with :meth:`prepare`; ``warnings`` holds what the templates could not resolve and
    ``notes`` what local targets run (code, layers, where values came from), each once, for the
    front end to show.
    """

    def __init__(
        self,
        options: RunOptions,
        registry: HookRegistry,
        *,
        plan: Plan,
        target: TargetSpec | None,
        current: TargetSpec | None,
        api: ApiFactory,
        said: Said | None = None,
    ) -> None:
        self.options = options
        self.registry = registry
        self.plan = plan
        self.target = target
        self.current = current
        self._api = api
        self._targets = target_factory(target, current)
        self.started = time.monotonic()
        specs = [spec for spec in (target, current) if spec is not None]
        said = said or Said()
        self.notes = list(dict.fromkeys([*(n for spec in specs for n in spec.notes), *said.notes]))
        self.warnings = list(dict.fromkeys([*(w for spec in specs for w in spec.warnings), *said.warnings]))

    @classmethod
    def prepare(
        cls, options: RunOptions, *, registry: HookRegistry | None = None, clients: Clients | None = None,
        source: str = "CHECKS",
    ) -> Wiring:
        """Import the checks, read the recorded events this job runs, make the targets.

        A ConfigurationError names what to fix.
        """
        registry = registry if registry is not None else default_registry
        import_deferred(options.checks, registry=registry, source=source)
        plan = make_plan(options, registry)
        clients = clients if clients is not None else Clients()
        try:  # local targets' environments start now, and import the function while the events are read
            targets = _targets(options, clients)
        except ConfigurationError:
            read_events(plan.selected())  # a broken recorded event is said first, as it always was
            raise
        read_events(plan.selected())
        return cls.build(options, registry, plan, clients=clients, targets=targets)

    @classmethod
    def build(
        cls, options: RunOptions, registry: HookRegistry, plan: Plan, *, clients: Clients | None = None,
        targets: _Targets | None = None,
    ) -> Wiring:
        """Make the targets (unless ``targets`` has them) and the API for checks already imported and planned."""
        clients = clients if clients is not None else Clients()
        target, current, env_vars = targets if targets is not None else _targets(options, clients)
        for spec in (target, current):
            if spec is not None:
                spec.ready()
        said = Said()
        if env_vars is not None and not any(spec is not None and spec.local for spec in (target, current)):
            said.warnings.append(f"--env-vars {options.env_vars} is not used: it sets variables of local targets only")
        api = api_factory(options.api, target, clients, parameters=options.parameters, env_vars=env_vars, said=said)
        return cls(options, registry, plan=plan, target=target, current=current, api=api, said=said)

    @property
    def phases(self) -> tuple[Phase, ...]:
        return self.options.phases

    def checks(self, phase: Phase) -> list[Check]:
        """The checks of ``phase`` this job runs (a shard's share), in declaration order."""
        return self.plan.share(phase)

    def require_target(self, option: str = "--target") -> None:
        """Refuse, before anything runs, a run without a target whose checks ask for one."""
        if self.target is None:
            require_target(self.plan.selected(), option)

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
        result = run_phase(
            checks, phase, provide=self.scope(phase).provide, deadline=self.started + self.options.deadline,
            max_workers=self.options.workers, on_outcome=on_outcome, staged=True,  # its resources are made at once
        )
        return in_ci_words(result, self.options.deadline)


#: What the runner says of a check the deadline stopped, in a hook's words (its Lambda's end, less
#: the time kept to report), and what a CI run says instead: there, the limit is ``--deadline``.
_HOOK_NOT_STARTED = "not started: the hook's deadline came first"


def in_ci_words(result: RunResult, deadline: float) -> RunResult:
    """``result`` with the deadline's messages naming ``--deadline``: a CI run has no hook and no report reserve."""
    words = {
        AT_DEADLINE: f"still running at the run's --deadline of {deadline:g} s (raise --deadline)",
        _HOOK_NOT_STARTED: f"not started: the run's --deadline of {deadline:g} s came first",
    }
    if not any(o.message in words for o in result.outcomes):
        return result
    outcomes = tuple(replace(o, message=words.get(o.message, o.message)) for o in result.outcomes)
    return replace(result, outcomes=outcomes)

