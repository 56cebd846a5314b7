"""CodeDeploy and Lambda on 127.0.0.1, speaking their wire protocols, for the hooks to call.

Hooks reach it through ``AWS_ENDPOINT_URL_CODEDEPLOY`` / ``AWS_ENDPOINT_URL_LAMBDA`` (and
``AWS_ENDPOINT_URL`` for any other service, which gets a clear refusal instead of a call to AWS),
so a hand-written boto3 hook and hookkit's handler run exactly as in Lambda: their own clients,
botocore's serialisation, retries and error parsing.

- CodeDeploy (JSON 1.1, ``X-Amz-Target: CodeDeploy_20141006.<Operation>``):
  ``PutLifecycleEventHookExecutionStatus``, ``GetDeployment`` (the revision without its content,
  as CodeDeploy answers), ``GetApplicationRevision`` (the AppSpec SAM generates),
  ``ListDeploymentTargets``, ``BatchGetDeploymentTargets``, ``GetDeploymentTarget``.
  Errors: HTTP 400, ``{"__type": code, "message": ...}``.
- Lambda (REST-JSON): ``POST /2015-03-31/functions/{name}/invocations?Qualifier=...``,
  answering with ``X-Amz-Executed-Version``, ``X-Amz-Function-Error`` and, for
  ``X-Amz-Log-Type: Tail``, ``X-Amz-Log-Result``; ``InvocationType: Event`` answers 202 and runs
  in the background, ``DryRun`` answers 204.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from .router import FunctionNotFound, LambdaRouter
from .server import LocalServer
from .state import DeploymentState

TARGET_PREFIX = "CodeDeploy_20141006."
INVOKE_PREFIX = "/2015-03-31/functions/"
_JSON = "application/x-amz-json-1.1"
_MAX_BODY = 6 * 1024 * 1024 + 1024  # Lambda's synchronous payload limit, and more than CodeDeploy ever needs

Answer = tuple[int, list[tuple[str, str]], bytes]


def aws_error(code: str, message: str, status: int = 400) -> Answer:
    body = json.dumps({"__type": code, "message": message}).encode()
    return status, [("Content-Type", "application/json"), ("X-Amzn-ErrorType", code)], body


def _json(data: Any) -> Answer:
    return 200, [("Content-Type", _JSON)], json.dumps(data).encode()


class StandIns(LocalServer):
    """The server; ``url`` is the endpoint to give the hooks."""

    def __init__(self, state: DeploymentState, router: LambdaRouter, *,
                 on_refused: Callable[[str], None] | None = None) -> None:
        super().__init__(_Handler)
        self.state, self.router = state, router
        self._on_refused = on_refused
        self.refused: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def codedeploy(self, operation: str, params: dict[str, Any]) -> Answer:
        state = self.state
        if operation == "PutLifecycleEventHookExecutionStatus":
            execution_id = params.get("lifecycleEventHookExecutionId", "")
            refusal = state.report(params.get("deploymentId", ""), execution_id, params.get("status"))
            if refusal is not None:
                return aws_error(refusal.code, refusal.message)
            return _json({"lifecycleEventHookExecutionId": execution_id})
        if operation == "GetApplicationRevision":
            if params.get("applicationName") != state.application:
                return aws_error("ApplicationDoesNotExistException",
                                 f"No application found for name: {params.get('applicationName')}")
            return _json({"applicationName": state.application, "revisionInfo": {"description": "SAM"},
                          "revision": {"revisionType": "AppSpecContent",
                                       "appSpecContent": {"content": state.appspec(), "sha256": state.sha256()}}})
        handlers = {"GetDeployment": self._get_deployment, "ListDeploymentTargets": self._list_targets,
                    "BatchGetDeploymentTargets": self._batch_targets, "GetDeploymentTarget": self._get_target}
        if operation not in handlers:
            return self.refuse("codedeploy", operation)
        if params.get("deploymentId") != state.deployment_id:
            return aws_error("DeploymentDoesNotExistException",
                             f"The deployment {params.get('deploymentId')} could not be found.")
        return handlers[operation](params)

    def _get_deployment(self, params: dict[str, Any]) -> Answer:
        return _json({"deploymentInfo": self.state.deployment_info()})

    def _list_targets(self, params: dict[str, Any]) -> Answer:
        return _json({"targetIds": [self.state.target_id()]})

    def _batch_targets(self, params: dict[str, Any]) -> Answer:
        ids = params.get("targetIds") or []
        unknown = [t for t in ids if t != self.state.target_id()]
        if unknown:
            return aws_error("DeploymentTargetDoesNotExistException", f"The target {unknown[0]} does not exist.")
        return _json({"deploymentTargets": [self.state.lambda_target() for _ in ids]})

    def _get_target(self, params: dict[str, Any]) -> Answer:
        if params.get("targetId") != self.state.target_id():
            return aws_error("DeploymentTargetDoesNotExistException",
                             f"The target {params.get('targetId')} does not exist.")
        return _json({"deploymentTarget": self.state.lambda_target()})

    def invoke(self, name: str, query: dict[str, str], headers: dict[str, str], payload: bytes) -> Answer:
        router = self.router
        try:
            _, qualifier = router.resolve(name, query.get("Qualifier"))
            kind = headers.get("x-amz-invocation-type", "RequestResponse")
            if kind == "DryRun":
                router.version_for(qualifier)
                return 204, [], b""
            if kind == "Event":
                router.version_for(qualifier)
                threading.Thread(target=router.invoke, args=(qualifier, payload), kwargs={"origin": "hook"},
                                 daemon=True).start()
                return 202, [], b""
            answer = router.invoke(qualifier, payload, origin="hook")
        except FunctionNotFound as exc:
            return aws_error("ResourceNotFoundException", str(exc), 404)
        out = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", answer.executed_version or "")]
        if answer.function_error:
            out.append(("X-Amz-Function-Error", answer.function_error))
        if headers.get("x-amz-log-type") == "Tail":
            out.append(("X-Amz-Log-Result", base64.b64encode(answer.log_tail.encode()[-4096:]).decode()))
        return 200, out, answer.payload

    def refuse(self, service: str, operation: str, *, xml: bool = False) -> Answer:
        """Any other AWS call: a clear error in the caller's protocol (XML for query services), never AWS."""
        what = f"{service} {operation}".strip()
        self.refused.append(what)
        if self._on_refused is not None:
            self._on_refused(what)
        message = (f"hookkit simulate does not serve {what}: a rehearsal runs offline, with stand-ins for "
                   "CodeDeploy's hook calls and Lambda's Invoke only")
        if not xml:
            return aws_error("UnsupportedOperation", message, 501)
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>UnsupportedOperation</Code><Message>{escape(message)}"
                "</Message></Error><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>")
        return 501, [("Content-Type", "text/xml")], body.encode()


class _Handler(BaseHTTPRequestHandler):
    server: StandIns
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints: botocore reuses connections

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._send(aws_error("RequestEntityTooLargeException", "Request must be smaller than 6291456 bytes", 413))
            return
        raw = self.rfile.read(length)
        parts = urlsplit(self.path)
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith(TARGET_PREFIX):
            try:
                params = json.loads(raw or b"{}")
            except ValueError:
                self._send(aws_error("SerializationException", "the request body is not JSON"))
                return
            self._send(self.server.codedeploy(target[len(TARGET_PREFIX):], params if isinstance(params, dict) else {}))
        elif parts.path.startswith(INVOKE_PREFIX) and parts.path.endswith("/invocations"):
            name = unquote(parts.path[len(INVOKE_PREFIX):-len("/invocations")])
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._send(self.server.invoke(name, query, headers, raw))
        else:
            service = target.split(".")[0] if target else _credential_service(self.headers.get("Authorization", ""))
            action = None if target else _query_action(raw)
            operation = target.split(".")[-1] if target else action or f"{self.command} {parts.path}"
            self._send(self.server.refuse(service, operation, xml=action is not None))

    def do_GET(self) -> None:
        service = _credential_service(self.headers.get("Authorization", ""))
        self._send(self.server.refuse(service, f"{self.command} {urlsplit(self.path).path}"))

    do_PUT = do_DELETE = do_GET  # noqa: N815 - http.server's names

    def _send(self, answer: Answer) -> None:
        status, headers, body = answer
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up (its read timeout): nothing to answer


def _credential_service(authorization: str) -> str:
    """The service a SigV4 request is signed for: ``Credential=KEY/DATE/REGION/SERVICE/aws4_request``."""
    credential = authorization.partition("Credential=")[2].split(",")[0]
    parts = credential.split("/")
    return parts[3] if len(parts) > 3 else "an AWS service"


def _query_action(raw: bytes) -> str | None:
    try:
        form = parse_qs(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    return form.get("Action", [None])[-1]

