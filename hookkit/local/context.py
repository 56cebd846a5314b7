"""A Lambda context for running hooks and functions outside Lambda (CLI, tests, the demo).

It behaves like the real one where hookkit and user code look: the identity fields, an empty
Cognito ``identity``, no ``client_context`` and no ``tenant_id`` (as for any direct invoke), and a
``get_remaining_time_in_millis`` that counts down from the function's configured timeout. (A local
function's own code gets the context of its execution environment, ``bootstrap.LambdaContext``.)
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

#: The account local runs pretend to be in: the example account of AWS's documentation.
LOCAL_ACCOUNT_ID = "123456789012"


@dataclass
class CognitoIdentity:
    """``context.identity``: set only when Amazon Cognito authorised the call."""

    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


@dataclass
class LocalContext:
    """A stand-in for ``awslambda``'s context object, honouring a timeout in seconds."""

    function_name: str = "local-function"
    function_version: str = "$LATEST"
    timeout_s: float = 3.0
    memory_limit_in_mb: int = 128
    region: str = "us-east-1"
    account_id: str = LOCAL_ACCOUNT_ID
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)
    identity: CognitoIdentity = field(default_factory=CognitoIdentity)
    client_context: Any = None  # set only for calls from the AWS mobile SDKs
    tenant_id: str | None = None  # set only for functions in tenant isolation mode, as Lambda's runtime does

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_s - (time.monotonic() - self.started)
        return max(0, int(left * 1000))
