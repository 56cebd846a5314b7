"""The CI replay baseline: a bare loop over the recorded events, as a team would hand-write it.

    python bench/replay_baseline.py WORKLOAD_FOLDER

For each ``NAME.json``: read it and its ``NAME.expect.json``, call the same handler the
``hookkit run`` side runs, compare the proxy ``statusCode`` and validate the decoded body with a
jsonschema validator built once (format checking on, every error collected, as hookkit does).
Prints ``<events> <failures>``; exits 1 if any event failed.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace


def main(folder: Path) -> int:
    import workload

    sys.path.insert(0, str(folder / "function"))
    os.environ.update(workload.ENVIRONMENT)
    handler = getattr(__import__(workload.HANDLER_MODULE), workload.HANDLER_FUNCTION)

    from jsonschema import validators

    schema = json.loads((folder / "schemas" / "order.json").read_text())
    cls = validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    context = SimpleNamespace(function_name="OrdersFunction", function_version="$LATEST",
                              aws_request_id=str(uuid.uuid4()), memory_limit_in_mb=256)

    events = failures = 0
    recorded = folder / "events"
    for name in sorted(os.listdir(recorded)):
        if name.endswith(".expect.json") or not name.endswith(".json"):
            continue
        with open(recorded / name, "rb") as handle:
            event = json.load(handle)
        with open(recorded / (name[: -len(".json")] + ".expect.json"), "rb") as handle:
            expected = json.load(handle)
        response = handler(event, context)
        body = json.loads(response["body"])
        errors = list(validator.iter_errors(body))
        events += 1
        failures += response["statusCode"] != expected["status"] or bool(errors)
    print(events, failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
