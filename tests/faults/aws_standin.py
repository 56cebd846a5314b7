"""CodeDeploy and Lambda on 127.0.0.1, speaking their wire protocols, scripted per test.

The fault suite points real boto3 clients at this server through ``AWS_ENDPOINT_URL_CODEDEPLOY``
and ``AWS_ENDPOINT_URL_LAMBDA``, so what runs is exactly what runs in Lambda: hookkit's own client
creation, botocore's serialisation and signing, its error parsing and its retries. Only the
answers are made up, and each one is shaped as AWS shapes it:

- CodeDeploy speaks JSON 1.1: ``POST /`` with ``X-Amz-Target: CodeDeploy_20141006.<Operation>``;
  errors are a 400 with ``{"__type": code, "message": ...}``.
- Lambda's invoke is REST-JSON: ``POST /2015-03-31/functions/<name>/invocations?Qualifier=<q>``;
  the answer carries ``X-Amz-Function-Error``, ``X-Amz-Log-Result`` and
  ``X-Amz-Executed-Version``; errors carry ``X-Amzn-ErrorType``.

A test scripts an operation with a queue of answers (:meth:`AwsStandIn.script`); when the queue
is empty the server answers from its small model of the world (:meth:`AwsStandIn.deploy`,
:meth:`AwsStandIn.publish`). Every request is recorded, parsed, in arrival order.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

ACCOUNT = "123456789012"
REGION = "us-east-1"
HOOK_ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-hook-role/CodeDeployHook_orders-PreTraffic"
TARGET_PREFIX = "CodeDeploy_20141006."
INVOKE_PATH = "/2015-03-31/functions/"
REPORT = "PutLifecycleEventHookExecutionStatus"
INVOKE = "Invoke"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer; ``delay`` seconds pass before it is sent (a slow service), and with
    ``trickle`` its body comes one byte every ``trickle`` seconds (each read gets something)."""

    status: int = 200
    body: bytes = b"{}"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    trickle: float = 0.0


@dataclass(frozen=True)
class Request:
    """What the stand-in received; ``body`` is the parsed JSON (CodeDeploy) or the raw payload (Lambda)."""

    service: str
    operation: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float = field(compare=False)

    @property
    def function(self) -> str:
        """The invoked function, as sent (URL-decoded), for Lambda requests."""
        return unquote(self.path[len(INVOKE_PATH):].split("/", 1)[0])


AnswerSource = Answer | Callable[[Request], Answer]


def json_answer(data: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(data).encode(), (("Content-Type", "application/x-amz-json-1.1"),))


def aws_error(code: str, message: str, status: int = 400, **extra: Any) -> Answer:
    """An AWS error the way both protocols carry it: the JSON body's ``__type`` and the error-type header."""
    body = {"__type": code, "message": message, **extra}
    return Answer(status, json.dumps(body).encode(), (("X-Amzn-ErrorType", code), ("Content-Type", "application/json")))


def throttled() -> Answer:
    """CodeDeploy's throttling answer."""
    return aws_error("ThrottlingException", "Rate exceeded")


def too_many_requests() -> Answer:
    """Lambda's throttling answer: 429 TooManyRequestsException."""
    return aws_error("TooManyRequestsException", "Rate Exceeded.", 429,
                     Reason="ReservedFunctionConcurrentInvocationLimitExceeded", Type="User")


def access_denied(action: str, resource: str) -> Answer:
    """IAM's refusal, worded as AWS words it: who, which action, which resource."""
    return aws_error(
        "AccessDeniedException",
        f"User: {HOOK_ROLE} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action",
        403 if action.startswith("lambda:") else 400,
    )


def internal_error(status: int = 500) -> Answer:
    return Answer(status, b"<html><body>Internal Server Error</body></html>", (("Content-Type", "text/html"),))


def slow(seconds: float, then: Answer | None = None) -> Answer:
    answer = then or Answer()
    return Answer(answer.status, answer.body, answer.headers, seconds)


def trickling(every: float, then: Answer) -> Answer:
    """``then``, its body sent a byte at a time, ``every`` seconds apart: no read ever times out."""
    return Answer(then.status, then.body, then.headers, then.delay, every)


def invoked(payload: Any, *, function_error: str | None = None, log: str = "", version: str | None = None) -> Answer:
    """A synchronous invoke that ran: 200, with Lambda's response headers."""
    headers = [("Content-Type", "application/json"), ("X-Amz-Log-Result", base64.b64encode(log.encode()).decode())]
    if function_error:
        headers.append(("X-Amz-Function-Error", function_error))
    if version:
        headers.append(("X-Amz-Executed-Version", version))
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Answer(200, body, tuple(headers))


def proxy(status: int, body: Any) -> dict[str, Any]:
    """An API Gateway proxy answer, as the orders function returns it."""
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def function_arn(name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def group_arn(application: str, group: str) -> str:
    return f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:{application}/{group}"


@dataclass
class _Deployment:
    deployment_id: str
    application: str
    group: str
    function: str
    alias: str
    current: str
    target: str
    in_progress: str  # the lifecycle event now running
    appspec: str | None


class AwsStandIn(ThreadingHTTPServer):
    """The server; ``url`` is its endpoint. Start and stop it with :func:`running`."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._queues: dict[str, deque[AnswerSource]] = defaultdict(deque)
        self._deployments: dict[str, _Deployment] = {}
        self._versions: dict[tuple[str, str], AnswerSource] = {}
        self._completed: set[tuple[str, str]] = set()
        self.closing = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    # -- scripting ---------------------------------------------------------------------------

    def script(self, operation: str, *answers: AnswerSource) -> None:
        """Queue answers for ``operation`` (``Invoke`` for Lambda); each is used once, in order."""
        with self._lock:
            self._queues[operation].extend(answers)

    def deploy(
        self,
        deployment_id: str,
        *,
        function: str = "orders",
        current: str = "6",
        target: str = "7",
        alias: str = "live",
        in_progress: str = "BeforeAllowTraffic",
        application: str = "orders-app",
        group: str = "orders-group",
        appspec: str | None = "",
    ) -> None:
        """A Lambda deployment CodeDeploy knows; ``appspec=None`` leaves its revision without content."""
        if appspec == "":
            appspec = yaml.safe_dump({
                "version": 0.0,
                "Resources": [{function: {"Type": "AWS::Lambda::Function", "Properties": {
                    "Name": function, "Alias": alias, "CurrentVersion": current, "TargetVersion": target}}}],
                "Hooks": [{"BeforeAllowTraffic": f"CodeDeployHook_{function}-PreTraffic"},
                          {"AfterAllowTraffic": f"CodeDeployHook_{function}-PostTraffic"}],
            })
        self._deployments[deployment_id] = _Deployment(
            deployment_id, application, group, function, alias, current, target, in_progress, appspec
        )

    def publish(self, function: str, version: str, answer: AnswerSource | None = None) -> None:
        """A published version; by default it answers 200 with an API Gateway proxy body."""
        self._versions[(function, version)] = answer or invoked(proxy(200, {"ok": True, "version": version}))

    # -- what happened -----------------------------------------------------------------------

    def calls(self, operation: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.operation == operation]

    @property
    def reports(self) -> list[Request]:
        return self.calls(REPORT)

    @property
    def statuses(self) -> list[str]:
        return [r.body["status"] for r in self.reports]

    # -- answering ---------------------------------------------------------------------------

    def answer(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            queue = self._queues[request.operation]
            source = queue.popleft() if queue else self._model
        return source(request) if callable(source) else source

    def _model(self, request: Request) -> Answer:
        if request.service == "lambda":
            return self._invoke(request)
        params = request.body
        if request.operation == REPORT:
            return self._report(params)
        if request.operation == "GetApplicationRevision":  # named by application, not by deployment
            found = next((d for d in self._deployments.values() if d.application == params["applicationName"]), None)
            if found is None:
                return aws_error("ApplicationDoesNotExistException",
                                 f"No application found for name: {params['applicationName']}")
        else:
            found = self._deployments.get(params.get("deploymentId", ""))
            if found is None:
                return aws_error("DeploymentDoesNotExistException",
                                 f"The deployment {params.get('deploymentId')} could not be found.")
        return getattr(self, f"_{request.operation}")(found, params)

    def _report(self, params: dict[str, Any]) -> Answer:
        """The first report of a lifecycle event completes it; CodeDeploy refuses any later one."""
        key = (params["deploymentId"], params["lifecycleEventHookExecutionId"])
        with self._lock:
            done = key in self._completed
            self._completed.add(key)
        if done:
            return aws_error("LifecycleEventAlreadyCompletedException",
                             f"The execution {key[1]} is already in a completed state.")
        return json_answer({"lifecycleEventHookExecutionId": key[1]})

    def _ListDeploymentTargets(self, d: _Deployment, params: dict[str, Any]) -> Answer:
        return json_answer({"targetIds": [f"{d.function}:{d.alias}"]})

    def _BatchGetDeploymentTargets(self, d: _Deployment, params: dict[str, Any]) -> Answer:
        events = ["BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]
        position = events.index(d.in_progress) if d.in_progress in events else -1
        lifecycle = [
            {"lifecycleEventName": name,
             "status": "Succeeded" if i < position else "InProgress" if i == position else "Pending"}
            for i, name in enumerate(events)
        ]
        return json_answer({"deploymentTargets": [{
            "deploymentTargetType": "LambdaTarget",
            "lambdaTarget": {
                "deploymentId": d.deployment_id,
                "targetId": f"{d.function}:{d.alias}",
                "targetArn": function_arn(d.function, d.alias),
                "status": "InProgress",
                "lifecycleEvents": lifecycle,
                "lambdaFunctionInfo": {
                    "functionName": d.function, "functionAlias": d.alias,
                    "currentVersion": d.current, "targetVersion": d.target, "targetVersionWeight": 0.0,
                },
            },
        } for _ in params.get("targetIds", [])]})

    def _GetDeployment(self, d: _Deployment, params: dict[str, Any]) -> Answer:
        # As CodeDeploy does: the revision is named, its content is not given here.
        return json_answer({"deploymentInfo": {
            "deploymentId": d.deployment_id, "applicationName": d.application,
            "deploymentGroupName": d.group, "computePlatform": "Lambda", "status": "InProgress",
            "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": "0" * 64}},
        }})

    def _GetApplicationRevision(self, d: _Deployment, params: dict[str, Any]) -> Answer:
        content = {"sha256": "0" * 64} if d.appspec is None else {"content": d.appspec, "sha256": "0" * 64}
        return json_answer({"applicationName": d.application,
                            "revision": {"revisionType": "AppSpecContent", "appSpecContent": content},
                            "revisionInfo": {"description": "SAM"}})

    def _invoke(self, request: Request) -> Answer:
        function, qualifier = request.function, request.query.get("Qualifier", "$LATEST")
        found = self._versions.get((function, qualifier))
        if found is None:
            return aws_error("ResourceNotFoundException", f"Function not found: {function_arn(function, qualifier)}",
                             404, Type="User")
        return found(request) if callable(found) else found


class _Handler(BaseHTTPRequestHandler):
    server: AwsStandIn
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints do: botocore reuses connections

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        headers = dict(self.headers.items())
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith(TARGET_PREFIX):
            request = Request("codedeploy", target[len(TARGET_PREFIX):], parts.path, query, headers,
                              json.loads(raw or b"{}"), time.monotonic())
        elif parts.path.startswith(INVOKE_PATH) and parts.path.endswith("/invocations"):
            request = Request("lambda", INVOKE, parts.path, query, headers, raw, time.monotonic())
        else:
            self._send(aws_error("UnknownOperationException", f"the stand-in does not serve {self.path}", 404))
            return
        self._send(self.server.answer(request))

    def _send(self, answer: Answer) -> None:
        if answer.delay and self.server.closing.wait(answer.delay):
            return  # the test is over: drop the answer
        try:
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if not answer.trickle:
                self.wfile.write(answer.body)
            for byte in answer.body if answer.trickle else b"":
                self.wfile.flush()
                if self.server.closing.wait(answer.trickle):
                    return
                self.wfile.write(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a read timeout): nothing to answer


@contextmanager
def running() -> Iterator[AwsStandIn]:
    """Serve on a free port for the ``with`` block; slow answers still pending are dropped at its end."""
    server = AwsStandIn()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
