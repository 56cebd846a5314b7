"""Find what a hook guards: the function, its versions and the lifecycle event, from two ids.

The hook event carries only ``DeploymentId`` and ``LifecycleEventHookExecutionId``, so the rest
is looked up, in this order, each step used only when the ones before it gave nothing:

1. ``environment``: ``HOOKKIT_FUNCTION`` + ``HOOKKIT_TARGET_VERSION`` (optional
   ``HOOKKIT_CURRENT_VERSION``, ``HOOKKIT_ALIAS``); free, and what SAM users often already pass.
2. ``deployment-targets``: ``ListDeploymentTargets`` + ``BatchGetDeploymentTargets`` give the
   Lambda function info and the lifecycle events with their status.
3. ``appspec``: ``GetDeployment`` gives the revision (without content), then
   ``GetApplicationRevision`` gives the AppSpec text; an ECS AppSpec gives an ``EcsTarget``.

The phase comes from the explicit argument, else from the AppSpec hook naming this hook's own
function, else from the lifecycle event in progress. CodeDeploy is called only when a step needs
it and each call is made at most once, because a hook's cold start counts against its deadline.
When nothing works, :class:`~hookkit.core.errors.DiscoveryError` lists every step and what it gave,
naming the IAM action (and the resource, when AWS's refusal names it) to grant when access was denied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from ..checks.aws import denied_resource, error_code, error_message, is_access_denied
from ..core import settings
from ..core.deployment import Deployment, EcsTarget, LambdaTarget
from ..core.errors import ConfigurationError, DiscoveryError, TargetError
from ..core.phases import Phase
from .appspec import AppSpec, parse_appspec, published_version

ENV_FUNCTION = settings.FUNCTION
ENV_TARGET_VERSION = settings.TARGET_VERSION
ENV_CURRENT_VERSION = settings.CURRENT_VERSION
ENV_ALIAS = settings.ALIAS

T = TypeVar("T")

STEPS = ("environment", "deployment-targets", "appspec")
READ_ACTIONS = (
    "codedeploy:ListDeploymentTargets",
    "codedeploy:BatchGetDeploymentTargets",
    "codedeploy:GetDeployment",
    "codedeploy:GetApplicationRevision",
)

_BATCH_LIMIT = 25  # BatchGetDeploymentTargets accepts at most 25 target ids per call.
_TARGET_KINDS = ("lambdaTarget", "ecsTarget", "cloudFormationTarget", "instanceTarget")


class _StepFailed(Exception):
    """A discovery step gave nothing; the message is what goes into the attempts list."""


def discover(
    deployment_id: str,
    execution_id: str,
    *,
    codedeploy: Callable[[], Any],
    environ: Mapping[str, str],
    phase: Phase | str | None = None,
    hook_function_name: str | None = None,
) -> Deployment:
    """Find the deployment's target and phase; raise DiscoveryError listing every step tried.

    ``codedeploy`` returns a boto3 CodeDeploy client (retries configured by the caller) and is
    called only if a step needs CodeDeploy. ``hook_function_name`` (a name, qualified name or
    ARN) defaults to ``AWS_LAMBDA_FUNCTION_NAME`` from ``environ``, which Lambda always sets.
    """
    explicit = None if phase is None else Phase.parse(phase, source="phase argument")
    reader = _CodeDeployReader(deployment_id, codedeploy)
    attempts: list[tuple[str, str]] = []
    found: tuple[str, LambdaTarget | EcsTarget] | None = None
    finders: tuple[Callable[[], LambdaTarget | EcsTarget], ...] = (
        lambda: _from_environment(environ),
        reader.lambda_target,
        lambda: reader.appspec().target,
    )
    for step, find in zip(STEPS, finders, strict=True):
        try:
            found = (step, find())
            break
        except _StepFailed as exc:
            attempts.append((step, str(exc)))
    if found is None:
        listing = "; ".join(f"{step}: {result}" for step, result in attempts)
        raise DiscoveryError(
            f"deployment {deployment_id}: could not find the function and version to check. "
            f"Tried {listing}. Fix: set {ENV_FUNCTION} and {ENV_TARGET_VERSION} on the hook "
            "function, or fix the CodeDeploy errors listed (the hook's role needs "
            f"{', '.join(READ_ACTIONS)})",
            attempts,
        )
    source, target = found
    name = hook_function_name or environ.get("AWS_LAMBDA_FUNCTION_NAME") or None
    resolved, phase_note = _phase(explicit, name, reader)
    notes = (*tuple(f"{step}: {result}" for step, result in attempts), phase_note)
    return Deployment(
        deployment_id=deployment_id,
        execution_id=execution_id,
        phase=resolved,
        target=target,
        source=source,
        notes=notes,
    )


def find_current_version(deployment_id: str, target: LambdaTarget, *, codedeploy: Callable[[], Any]) -> str:
    """The version a deployment replaces, asked of CodeDeploy only when a check needs it.

    SAM can pass the new version (``!GetAtt Fn.Version.Version``) but not the one it replaces,
    and ``target.compare`` needs both; the deployment targets know it. Kept out of
    :func:`discover` so hooks that never compare make no extra call and need no extra permission.

    A lookup that could not be made is a DiscoveryError (the next attempt may succeed); an answer
    that names no current version for this target is a TargetError: no retry changes it.
    """
    try:
        found = _CodeDeployReader(deployment_id, codedeploy).lambda_target()
    except _StepFailed as exc:
        raise DiscoveryError(
            f"the current version of {target.function_name} is unknown: deployment-targets: {exc}; "
            f"set {ENV_CURRENT_VERSION} on the hook function to provide it",
            [("deployment-targets", str(exc))],
        ) from None
    same = found.function_name.split(":")[-1] == target.function_name.split(":")[-1]
    if not same or found.target_version != target.target_version or found.current_version is None:
        raise TargetError(
            f"the current version of {target.function_name} is unknown: CodeDeploy's target is "
            f"{found.function_name}:{found.target_version} (current {found.current_version}), not "
            f"{target.function_name}:{target.target_version}; set {ENV_CURRENT_VERSION} on the hook function to "
            f"the version being replaced, or check that {settings.FUNCTION} and {settings.TARGET_VERSION} name "
            "this deployment's function and version"
        )
    return found.current_version


def _from_environment(environ: Mapping[str, str]) -> LambdaTarget:
    """Blank counts as unset: templates often pass an empty parameter rather than none."""
    function = (environ.get(ENV_FUNCTION) or "").strip()
    version = (environ.get(ENV_TARGET_VERSION) or "").strip()
    if not function and not version:
        raise _StepFailed(f"{ENV_FUNCTION} and {ENV_TARGET_VERSION} not set")
    if not version:
        raise ConfigurationError(
            f"{ENV_FUNCTION} is set to {function!r} but {ENV_TARGET_VERSION} is not set (or "
            f"empty); set {ENV_TARGET_VERSION} to the published version being deployed, or "
            f"unset {ENV_FUNCTION} to let hookkit ask CodeDeploy"
        )
    if not function:
        raise ConfigurationError(
            f"{ENV_TARGET_VERSION} is set but {ENV_FUNCTION} is not set (or empty); set "
            f"{ENV_FUNCTION} to the deployed function's name, or unset {ENV_TARGET_VERSION} to "
            "let hookkit ask CodeDeploy"
        )
    current = (environ.get(ENV_CURRENT_VERSION) or "").strip()
    alias = (environ.get(ENV_ALIAS) or "").strip()
    return LambdaTarget(
        function_name=function,
        target_version=published_version(version, where=ENV_TARGET_VERSION),
        alias=alias or None,
        current_version=published_version(current, where=ENV_CURRENT_VERSION) if current else None,
    )


def _phase(
    explicit: Phase | None, hook_name: str | None, reader: _CodeDeployReader
) -> tuple[Phase | None, str]:
    """Explicit first; then the AppSpec's own word; then CodeDeploy's running lifecycle event."""
    if explicit is not None:
        return explicit, "phase: from the phase argument"
    tried: list[str] = []
    if hook_name is None:
        tried.append("appspec: this hook's function name is unknown")
    else:
        try:
            hooks = reader.appspec().hooks
        except _StepFailed as exc:
            tried.append(f"appspec: {exc}")
        else:
            own = _bare_name(hook_name)
            mine = [p for p, fn in hooks.items() if _bare_name(fn) == own]
            if len(mine) == 1:
                return mine[0], f"phase: from the AppSpec hook naming {own}"
            tried.append(
                f"appspec: {own} is named by {len(mine)} hooks"
                + (f" ({', '.join(p.value for p in mine)})" if mine else "")
            )
    try:
        running = reader.running_phases()
    except _StepFailed as exc:
        tried.append(f"deployment-targets: {exc}")
    else:
        if len(running) == 1:
            (only,) = running
            return only, "phase: from the lifecycle event in progress"
        tried.append(
            f"deployment-targets: {len(running)} hook lifecycle events in progress"
            + (f" ({', '.join(sorted(p.value for p in running))})" if running else "")
        )
    return None, "phase: unknown; " + "; ".join(tried)


def _bare_name(ref: str) -> str:
    """``name``, ``name:alias``, ``123:function:name`` and full ARNs all name function ``name``."""
    ref = ref.strip()
    if ":function:" in ref:
        ref = ref.split(":function:", 1)[1]
    return ref.split(":", 1)[0]


class _CodeDeployReader:
    """Makes each CodeDeploy read at most once, and the client only on the first read.

    Results and failures are both remembered: the phase rules may ask again for what the
    target steps already fetched (or already failed to fetch).
    """

    def __init__(self, deployment_id: str, factory: Callable[[], Any]) -> None:
        self._deployment_id = deployment_id
        self._factory = factory
        self._client: Any = None
        self._memo: dict[str, Any] = {}

    def lambda_target(self) -> LambdaTarget:
        infos = [
            t["lambdaTarget"]["lambdaFunctionInfo"]
            for t in self._targets()
            if "lambdaFunctionInfo" in t.get("lambdaTarget", {})
        ]
        if not infos:
            kinds = sorted({k for t in self._targets() for k in _TARGET_KINDS if k in t})
            raise _StepFailed(
                "no Lambda function among the deployment's targets"
                + (f" (found {', '.join(kinds)})" if kinds else "")
            )
        distinct = {(i.get("functionName"), i.get("targetVersion")) for i in infos}
        if len(distinct) > 1:
            raise _StepFailed(f"{len(distinct)} different Lambda targets; expected one")
        info = infos[0]
        try:
            return LambdaTarget(
                function_name=_required(info.get("functionName"), "functionName"),
                target_version=published_version(
                    info.get("targetVersion"), where="lambdaFunctionInfo.targetVersion"
                ),
                alias=info.get("functionAlias") or None,
                current_version=published_version(
                    info["currentVersion"], where="lambdaFunctionInfo.currentVersion"
                )
                if info.get("currentVersion")
                else None,
            )
        except ConfigurationError as exc:
            raise _StepFailed(str(exc)) from None

    def running_phases(self) -> set[Phase]:
        """Hook lifecycle events CodeDeploy reports InProgress (AllowTraffic itself is no hook)."""
        hook_events = {p.value: p for p in Phase}
        return {
            hook_events[event["lifecycleEventName"]]
            for target in self._targets()
            for kind in _TARGET_KINDS
            for event in target.get(kind, {}).get("lifecycleEvents", [])
            if event.get("status") == "InProgress"
            and event.get("lifecycleEventName") in hook_events
        }

    def appspec(self) -> AppSpec:
        return self._once("appspec", self._read_appspec)

    def _targets(self) -> list[dict[str, Any]]:
        return self._once("targets", self._read_targets)

    def _read_targets(self) -> list[dict[str, Any]]:
        client = self._codedeploy()
        ids: list[str] = []
        with _aws("calling ListDeploymentTargets"):
            for page in client.get_paginator("list_deployment_targets").paginate(
                deploymentId=self._deployment_id
            ):
                ids.extend(page.get("targetIds", []))
        if not ids:
            raise _StepFailed("ListDeploymentTargets returned no targets (deployment not started?)")
        targets: list[dict[str, Any]] = []
        with _aws("calling BatchGetDeploymentTargets"):
            for start in range(0, len(ids), _BATCH_LIMIT):
                answer = client.batch_get_deployment_targets(
                    deploymentId=self._deployment_id, targetIds=ids[start : start + _BATCH_LIMIT]
                )
                targets.extend(answer.get("deploymentTargets", []))
        return targets

    def _read_appspec(self) -> AppSpec:
        client = self._codedeploy()
        with _aws("calling GetDeployment"):
            info = client.get_deployment(deploymentId=self._deployment_id)["deploymentInfo"]
        application, revision = info.get("applicationName"), info.get("revision")
        if not application or not revision:
            raise _StepFailed("GetDeployment returned no applicationName or revision")
        with _aws("calling GetApplicationRevision"):
            answer = client.get_application_revision(
                applicationName=application, revision=revision
            )
        stored = answer.get("revision", {})
        kind = stored.get("revisionType", revision.get("revisionType"))
        content = (stored.get("string") or stored.get("appSpecContent") or {}).get("content")
        if not content:
            raise _StepFailed(
                f"GetApplicationRevision returned no AppSpec content (revision type {kind}); "
                "hookkit reads String and AppSpecContent revisions only"
            )
        try:
            return parse_appspec(content)
        except ConfigurationError as exc:
            raise _StepFailed(str(exc)) from None

    def _codedeploy(self) -> Any:
        if self._client is None:
            with _aws("creating the CodeDeploy client"):
                self._client = self._factory()
        return self._client

    def _once(self, key: str, read: Callable[[], T]) -> T:
        if key not in self._memo:
            try:
                self._memo[key] = read()
            except _StepFailed as exc:
                self._memo[key] = exc
        result = self._memo[key]
        if isinstance(result, _StepFailed):
            raise result
        return cast(T, result)


@contextmanager
def _aws(during: str) -> Iterator[None]:
    """Turn botocore's failures into a step's result, naming the IAM action on AccessDenied.

    botocore is imported here, not at module level, so a hook configured from the environment
    never pays for importing it.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code, message = error_code(exc) or "Unknown", error_message(exc)
        if is_access_denied(code):
            resource = denied_resource(message)
            on = f" on {resource}" if resource else ""
            raise _StepFailed(
                f"{code}: grant codedeploy:{exc.operation_name}{on} to the hook's role ({message})"
            ) from None
        hint = (
            " (is the hook running in the deployment's account and region?)"
            if code == "DeploymentDoesNotExistException"
            else ""
        )
        raise _StepFailed(f"{code} from {exc.operation_name}: {message}{hint}") from None
    except BotoCoreError as exc:
        raise _StepFailed(f"{type(exc).__name__} {during}: {exc}") from None


def _required(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"lambdaFunctionInfo.{field}: missing")
    return value
