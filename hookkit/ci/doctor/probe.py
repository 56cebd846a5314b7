"""The child process that imports one hook's checks module for doctor and says what it declares.

``python -P -m hookkit.ci.doctor.probe SPEC FOLDER...``, started in the hook's code folder:
imports SPEC (``HOOKKIT_CHECKS``) with the FOLDERs first on ``sys.path``, as Lambda would, and
writes ``{"checks": [...]}`` or ``{"error": "..."}`` as JSON to its standard output. What the
module prints goes to standard error, so it cannot garble the answer.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from ...core import settings
from ...core.errors import HookkitError
from ...core.loader import import_checks
from ...core.registry import default_registry


def declared(spec: str) -> dict[str, Any]:
    """Import ``spec`` into the (fresh) default registry, where ``@pre_traffic`` registers; its checks as data."""
    try:
        import_checks(spec, registry=default_registry, source=settings.CHECKS)
    except HookkitError as exc:
        return {"error": str(exc)}
    return {"checks": [
        {
            "name": check.name, "phase": check.phase.value, "timeout": check.options.timeout,
            "retries": check.options.retries, "retry_delay": check.options.retry_delay, "blocking": check.blocking,
            "params": list(check.params),
        }
        for check in default_registry
    ]}


def main(argv: Sequence[str]) -> int:
    spec, *folders = argv
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the module's own prints go to stderr
    sys.path[:0] = folders
    json.dump(declared(spec), answer)
    answer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
