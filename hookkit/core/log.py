"""hookkit's structured logger (Powertools), one per process.

JSON lines with the deployment id, execution id, phase and check name make a hook's CloudWatch
log searchable; ``POWERTOOLS_SERVICE_NAME`` and ``POWERTOOLS_LOG_LEVEL`` work as usual.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "hookkit"), child=False)
