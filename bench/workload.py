"""The CI replay workload: a SAM function, a folder of recorded events, and a checks file.

Generated into a temporary folder at bench time (10,000 events are 30 MB; they do not belong in
the repository). The function is the example orders API (``example_hooks/orders/v2``, Powertools'
REST resolver), so the handler does what a real one does; the events are API Gateway REST proxy
events recorded from it, half ``POST /orders`` (201) and half ``GET /orders/ORD-1`` (200), each
with an ``.expect.json`` holding its status and the order schema.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_hooks" / "orders"

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python{python}
    MemorySize: 256
    Timeout: 10
Resources:
  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: function/
      Handler: app.handler
      Environment:
        Variables:
          POWERTOOLS_SERVICE_NAME: orders
"""

CHECKS = """\
from hookkit import Phase, recorded_events

recorded_events("events", phase=Phase.BEFORE_ALLOW_TRAFFIC)
"""

#: The function's Runtime is the Python running the bench, whose packages (Powertools) it imports.
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

#: What a bare hand-written replay needs of the template: the handler and its environment.
HANDLER_MODULE, HANDLER_FUNCTION = "app", "handler"
ENVIRONMENT = {"POWERTOOLS_SERVICE_NAME": "orders"}


def build(folder: Path, events: int) -> Path:
    """Write the workload into ``folder``; returns it. Names sort in replay order."""
    shutil.copytree(EXAMPLE / "v2", folder / "function")
    (folder / "schemas").mkdir()
    shutil.copy(EXAMPLE / "hooks" / "schemas" / "order.json", folder / "schemas" / "order.json")
    (folder / "template.yaml").write_text(TEMPLATE.replace("{python}", PYTHON))
    (folder / "checks.py").write_text(CHECKS)
    recorded = folder / "events"
    recorded.mkdir()
    create = json.loads((EXAMPLE / "hooks" / "events" / "api" / "create_order.json").read_text())
    read = json.loads((EXAMPLE / "hooks" / "events" / "api" / "get_order.json").read_text())
    width = len(str(events))
    for n in range(events):
        if n % 2:
            event, status = read, 200
        else:
            event, status = dict(create), 201
            event["body"] = json.dumps(
                {"customerId": f"CUST-{n}", "items": [{"sku": "BOOK-1984", "quantity": 1 + n % 5}]}
            )
        name = f"event_{n:0{width}d}"
        (recorded / f"{name}.json").write_text(json.dumps(event, indent=2))
        (recorded / f"{name}.expect.json").write_text(
            json.dumps({"status": status, "schema": "../schemas/order.json"})
        )
    return folder
