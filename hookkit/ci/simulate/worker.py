"""One hook's execution environment, as a process: ``python -m hookkit.ci.simulate.worker IN OUT``.

It reads the function (a :class:`~hookkit.local.sam.FunctionSpec` as JSON) and then invocations
from file descriptor ``IN``, one JSON line each, runs them one at a time through
:class:`~hookkit.local.invoker.LocalInvoker` with the function's code folder as its working
directory, and answers each on ``OUT``. The function's own output goes to this process's
stdout/stderr, which the rehearsal keeps as the environment's log.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

from ...core.errors import HookkitError
from ...local.invoker import LocalInvoker
from ...local.sam import ApiRoute, FunctionSpec


def spec_to_json(spec: FunctionSpec) -> dict[str, Any]:
    """Every field of ``spec`` as JSON (:func:`spec_from_json` gives back an equal spec): the hook's
    worker must run what the rehearsal read, its layers included."""
    return {
        "logical_id": spec.logical_id, "code_uri": str(spec.code_uri), "handler": spec.handler,
        "runtime": spec.runtime, "timeout": spec.timeout, "memory_size": spec.memory_size,
        "environment": spec.environment, "function_name": spec.function_name,
        "routes": [[r.method, r.path, r.payload_version] for r in spec.routes], "warnings": list(spec.warnings),
        "region": spec.region, "layers": [str(layer) for layer in spec.layers],
        "remote_layers": list(spec.remote_layers), "notes": list(spec.notes),
        "template": None if spec.template is None else str(spec.template),
    }


def spec_from_json(data: dict[str, Any]) -> FunctionSpec:
    return FunctionSpec(
        logical_id=data["logical_id"], code_uri=Path(data["code_uri"]), handler=data["handler"],
        runtime=data["runtime"], timeout=float(data["timeout"]), memory_size=int(data["memory_size"]),
        environment=dict(data["environment"]), function_name=data["function_name"],
        routes=tuple(ApiRoute(method, path, version) for method, path, version in data["routes"]),
        warnings=tuple(data["warnings"]), region=data["region"],
        layers=tuple(Path(layer) for layer in data["layers"]), remote_layers=tuple(data["remote_layers"]),
        notes=tuple(data["notes"]), template=None if data["template"] is None else Path(data["template"]),
    )


def serve(requests: Any, answers: Any) -> None:
    first = json.loads(requests.readline())
    spec = spec_from_json(first["spec"])
    os.chdir(spec.code_uri)  # Lambda runs a function from its code folder (/var/task)
    invoker = LocalInvoker(spec, version=first["version"])
    for line in requests:
        request = json.loads(line)
        try:
            answer = invoker.invoke(base64.b64decode(request["payload"]), qualifier=request["qualifier"],
                                    timeout=float(request["timeout"]))
        except HookkitError as exc:
            reply: dict[str, Any] = {"error": {"type": type(exc).__name__, "message": str(exc)}}
        else:
            reply = {"payload": base64.b64encode(answer.payload).decode(), "function_error": answer.function_error,
                     "log_tail": answer.log_tail, "duration_ms": answer.duration_ms}
        answers.write(json.dumps(reply).encode() + b"\n")
        answers.flush()


def main(argv: list[str]) -> int:
    with os.fdopen(int(argv[0]), "rb") as requests, os.fdopen(int(argv[1]), "wb") as answers:
        serve(requests, answers)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
