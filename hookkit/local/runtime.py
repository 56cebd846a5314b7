"""What Lambda's Python runtime gives a function, for a local execution environment to give it too.

Three things: the interpreter (the ``Runtime`` the template declares, when the machine has it),
the environment variables (Lambda's reserved ones, the function's own, and the caller's
credentials and endpoints, as ``sam local`` passes them), and the ``sys.path`` entries ahead of
the standard library (the code folder, then the layers' ``python/`` folders: ``/var/task`` and
``/opt/python`` in Lambda).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .sam import FunctionSpec

OWN_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"

#: Variables Lambda sets and a function's configuration may not (a deployment that sets one fails).
RESERVED = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ",
})

#: The caller's variables a function gets: its AWS credentials and settings (``sam local`` hands the
#: caller's credentials to the function), and what the machine needs to run programs at all.
PASSED_THROUGH = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE", "AWS_EC2_METADATA_DISABLED", "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME", "AWS_STS_REGIONAL_ENDPOINTS",
    "HOME", "PATH", "LD_LIBRARY_PATH", "SYSTEMROOT",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE",  # where this machine keeps compiled bytecode
)
#: ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>``: a stand-in for AWS the caller points at.
PASSED_THROUGH_PREFIX = "AWS_ENDPOINT_URL"

#: Where an untraced function's X-Ray SDK would send segments: nowhere, since none is sampled.
XRAY_DAEMON = ("127.0.0.1", "2000")


@dataclass(frozen=True)
class Interpreter:
    """The Python an environment runs under: ``executable``, of version ``version`` (``3.12``)."""

    executable: str
    version: str

    @property
    def own(self) -> bool:
        """Whether it is the Python running hookkit (the one its own packages are installed for)."""
        return self.executable == sys.executable


OWN = Interpreter(sys.executable, OWN_VERSION)


def declared_version(spec: FunctionSpec) -> str:
    """The Python version the function declares (``python3.12`` -> ``3.12``), hookkit's own if none."""
    return spec.runtime.removeprefix("python") if spec.runtime else OWN_VERSION


def find_interpreter(spec: FunctionSpec, search_path: str | None) -> tuple[Interpreter, str | None]:
    """The declared ``Runtime``'s Python (``python3.12`` on ``search_path``), or hookkit's own and why.

    hookkit's own Python runs the function when it is of the declared version or none is declared
    and, with a warning naming both versions, when no interpreter of that name is on the path.
    """
    wanted = declared_version(spec)
    if wanted == OWN_VERSION:
        return OWN, None
    found = shutil.which(f"python{wanted}", path=search_path)
    if found is not None:
        return Interpreter(found, wanted), None
    return OWN, fallback_warning(spec, f"no python{wanted} is on PATH")


def fallback_warning(spec: FunctionSpec, why: str) -> str:
    """The warning for a function that runs under hookkit's own Python instead of its declared one."""
    return (
        f"{spec.logical_id} declares Runtime {spec.runtime}, but {why}: its code runs under Python "
        f"{OWN_VERSION} (hookkit's own, {sys.executable}) instead of Python {declared_version(spec)}"
    )


def code_path(spec: FunctionSpec) -> list[str]:
    """The ``sys.path`` entries ahead of the standard library: the code folder, then each layer's.

    A layer's ``python/lib/pythonX.Y/site-packages`` comes before its ``python/``, as in Lambda. Lambda
    extracts layers into one ``/opt`` in order, a later layer's files replacing an earlier's; here
    each layer keeps its folder, so later layers come first on the path. Folders that do not exist
    are left out. The layer's ``site-packages`` is the declared ``Runtime``'s, whichever Python runs.
    """
    entries = [str(spec.code_uri)]
    for layer in reversed(spec.layers):
        python = Path(layer) / "python"
        for folder in (python / "lib" / f"python{declared_version(spec)}" / "site-packages", python):
            if folder.is_dir():
                entries.append(str(folder))
    return entries


def lambda_environment(
    spec: FunctionSpec, *, version: str, runtime_dir: str, caller: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """The environment variables of the function's environments, and warnings about its own.

    In order of precedence: Lambda's reserved variables; the function's variables (but not its
    values for reserved names: a warning each); the defaults of Lambda's unreserved ones (``LANG``,
    the X-Ray settings of an untraced function); the caller's :data:`PASSED_THROUGH` variables (its
    credentials among them). The log stream's name is set per environment
    (``AWS_LAMBDA_LOG_STREAM_NAME``), the trace header per request (``_X_AMZN_TRACE_ID``).
    """
    env = {name: caller[name] for name in PASSED_THROUGH if name in caller}
    env.update((name, value) for name, value in caller.items() if name.startswith(PASSED_THROUGH_PREFIX))
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [
        env.get("LD_LIBRARY_PATH"), str(spec.code_uri), str(spec.code_uri / "lib"),
        *(str(Path(layer) / "lib") for layer in spec.layers),
    ]))
    env["PATH"] = os.pathsep.join(filter(None, [env.get("PATH"), *(str(Path(layer) / "bin") for layer in spec.layers)]))
    env.update(
        LANG="en_US.UTF-8",
        AWS_XRAY_CONTEXT_MISSING="LOG_ERROR",
        AWS_XRAY_DAEMON_ADDRESS=":".join(XRAY_DAEMON),
        _AWS_XRAY_DAEMON_ADDRESS=XRAY_DAEMON[0],
        _AWS_XRAY_DAEMON_PORT=XRAY_DAEMON[1],
    )
    env.update((name, value) for name, value in spec.environment.items() if name not in RESERVED)
    warnings = [
        f"{spec.logical_id}: environment variable {name} is reserved by Lambda (a deployment that sets it "
        "fails); the local run uses Lambda's value"
        for name in sorted(RESERVED & spec.environment.keys())
    ]
    env.update(
        _HANDLER=spec.handler,
        AWS_REGION=spec.region,
        AWS_DEFAULT_REGION=spec.region,
        AWS_EXECUTION_ENV=f"AWS_Lambda_python{declared_version(spec)}",
        AWS_LAMBDA_FUNCTION_NAME=spec.function_name,
        AWS_LAMBDA_FUNCTION_VERSION=version,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(spec.memory_size),
        AWS_LAMBDA_INITIALIZATION_TYPE="on-demand",
        AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{spec.function_name}",
        LAMBDA_TASK_ROOT=str(spec.code_uri),
        LAMBDA_RUNTIME_DIR=runtime_dir,
        TZ=":UTC",
    )
    return env, warnings
