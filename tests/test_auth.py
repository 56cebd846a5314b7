from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth as BotocoreSigV4
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from moto import mock_aws

from hookkit.checks.auth import (
    ApiKeyAuth,
    AuthChain,
    BearerAuth,
    SigV4Auth,
    auth_from_environment,
    region_for,
    resolve_secret,
)
from hookkit.core.errors import ConfigurationError

# The AWS Signature Version 4 test suite's credentials and instant.
SUITE_CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_TIME = datetime.datetime(2015, 8, 30, 12, 36, 0)
API_URL = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/Prod"


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *a, **k: SUITE_TIME)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def bare_request(method: str, url: str) -> requests.PreparedRequest:
    prepared = requests.Request(method, url).prepare()
    prepared.headers.clear()
    return prepared


def session_request(method: str, url: str, **kwargs: Any) -> requests.PreparedRequest:
    """A request prepared the way a session sends it: default headers, body, content type."""
    session = requests.Session()
    session.headers["User-Agent"] = "hookkit/0.1.0 python-requests/2"
    return session.prepare_request(requests.Request(method, url, **kwargs))


def test_api_key_auth_sets_the_header_and_hides_the_key() -> None:
    auth = ApiKeyAuth("k3y-123", header="X-Custom-Key")
    request = auth(bare_request("GET", API_URL))
    assert dict(request.headers) == {"X-Custom-Key": "k3y-123"}
    assert "k3y-123" not in repr(auth)


def test_bearer_auth_sets_authorization_and_hides_the_token() -> None:
    auth = BearerAuth("eyJ.tok.en")
    request = auth(bare_request("GET", API_URL))
    assert dict(request.headers) == {"Authorization": "Bearer eyJ.tok.en"}
    assert "eyJ" not in repr(auth)


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        # get-vanilla and get-vanilla-query-order-key-case from the AWS SigV4 test suite.
        ("https://example.amazonaws.com/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("https://example.amazonaws.com/?Param2=value2&Param1=value1",
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ],
)
def test_sigv4_matches_the_aws_test_suite(frozen_clock: None, url: str, signature: str) -> None:
    request = SigV4Auth("us-east-1", service="service", credentials=SUITE_CREDENTIALS)(bare_request("GET", url))

    assert request.headers["X-Amz-Date"] == "20150830T123600Z"
    assert request.headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={signature}"
    )


def test_sigv4_matches_botocores_signer_for_a_session_request(frozen_clock: None) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-1")
    url = f"{API_URL}/orders?customer=a%20b&tag=x&tag=y"
    request = session_request("POST", url, json={"sku": "SKU-9", "qty": 2})

    SigV4Auth("eu-west-1", credentials=credentials)(request)

    # What botocore itself produces for the same request: the headers that survive a proxy,
    # the body, the decoded query, at the same instant.
    expected = AWSRequest(
        method="POST",
        url=f"{API_URL}/orders",
        headers={"Accept": "*/*", "Content-Length": "26", "Content-Type": "application/json"},
        data=b'{"sku": "SKU-9", "qty": 2}',
        params=[("customer", "a b"), ("tag", "x"), ("tag", "y")],
    )
    BotocoreSigV4(credentials, "execute-api", "eu-west-1").add_auth(expected)
    assert request.headers["Authorization"] == expected.headers["Authorization"]
    assert request.headers["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/execute-api/aws4_request, "
        "SignedHeaders=accept;content-length;content-type;host;x-amz-date;x-amz-security-token, Signature="
    )
    assert request.headers["X-Amz-Security-Token"] == "session-token-1"
    assert request.headers["X-Amz-Date"] == "20150830T123600Z"
    assert request.headers["User-Agent"] == "hookkit/0.1.0 python-requests/2"  # sent, not signed


def test_sigv4_freezes_rotating_credentials_once_per_request(frozen_clock: None) -> None:
    class Rotating:
        """Stands in for botocore's refreshable credentials: a new key pair after each rotation."""

        def __init__(self) -> None:
            self.keys = iter(["AKIDFIRST", "AKIDSECOND"])

        def get_frozen_credentials(self) -> ReadOnlyCredentials:
            return ReadOnlyCredentials(next(self.keys), "secret", None)

    auth = SigV4Auth("eu-west-1", credentials=Rotating())

    first = auth(bare_request("GET", API_URL)).headers["Authorization"]
    second = auth(bare_request("GET", API_URL)).headers["Authorization"]
    assert "Credential=AKIDFIRST/20150830/eu-west-1/execute-api/aws4_request," in first
    assert "Credential=AKIDSECOND/20150830/eu-west-1/execute-api/aws4_request," in second


def test_sigv4_without_credentials_names_the_fix() -> None:
    with pytest.raises(ConfigurationError, match=r"HOOKKIT_API_AUTH=iam.*needs AWS credentials"):
        SigV4Auth("eu-west-1", credentials=lambda: None)(bare_request("GET", API_URL))


def test_sigv4_refuses_a_streamed_body() -> None:
    request = session_request("POST", f"{API_URL}/upload", data=iter([b"a", b"b"]))
    with pytest.raises(ConfigurationError, match="POST /Prod/upload: IAM-signed calls need the body in memory"):
        SigV4Auth("eu-west-1", credentials=SUITE_CREDENTIALS)(request)


def test_auth_chain_applies_in_order_with_the_signer_last(frozen_clock: None) -> None:
    chain = AuthChain(ApiKeyAuth("k"), SigV4Auth("eu-west-1", credentials=SUITE_CREDENTIALS))
    request = chain(bare_request("GET", API_URL))
    assert request.headers["x-api-key"] == "k"
    assert "SignedHeaders=host;x-amz-date;x-api-key," in request.headers["Authorization"]


def test_resolve_secret_returns_a_plain_value_unchanged() -> None:
    assert resolve_secret("plain-value", variable="HOOKKIT_API_KEY") == "plain-value"


def test_resolve_secret_reads_an_ssm_secure_string(aws: None) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/orders/api-key", Value="from-ssm-123", Type="SecureString")
    made: list[str] = []

    def factory() -> Any:
        made.append("ssm")
        return ssm

    value = resolve_secret("ssm:/orders/api-key", variable="HOOKKIT_API_KEY", ssm=factory)
    assert (value, made) == ("from-ssm-123", ["ssm"])


def test_resolve_secret_reads_secrets_manager(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    client.create_secret(Name="orders/token", SecretString="from-sm-456")
    value = resolve_secret("secretsmanager:orders/token", variable="HOOKKIT_API_TOKEN", secretsmanager=lambda: client)
    assert value == "from-sm-456"


def test_resolve_secret_reads_a_binary_secret_as_text(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    client.create_secret(Name="orders/bin", SecretBinary=b"bin-789")
    assert resolve_secret("secretsmanager:orders/bin", variable="V", secretsmanager=lambda: client) == "bin-789"


def test_a_missing_parameter_names_the_variable_and_the_parameter(aws: None) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    with pytest.raises(ConfigurationError) as failure:
        resolve_secret("ssm:/nope", variable="HOOKKIT_API_KEY", ssm=lambda: ssm)
    message = str(failure.value)
    assert message.startswith("HOOKKIT_API_KEY: could not read SSM parameter '/nope' (")
    assert message.endswith("check the name and that the hook's role may read it (and decrypt it with its KMS key)")


def test_an_empty_reference_is_refused() -> None:
    with pytest.raises(
        ConfigurationError, match=r"HOOKKIT_API_TOKEN: 'secretsmanager:' names no Secrets Manager secret"
    ):
        resolve_secret("secretsmanager:", variable="HOOKKIT_API_TOKEN")


@pytest.mark.parametrize(
    ("url", "environ", "region"),
    [
        ("https://abc.execute-api.ap-southeast-2.amazonaws.com/prod", {"AWS_REGION": "us-east-1"}, "ap-southeast-2"),
        ("https://abc.execute-api.cn-north-1.amazonaws.com.cn/prod", {}, "cn-north-1"),
        ("https://xyz.lambda-url.eu-central-1.on.aws/", {}, "eu-central-1"),
        ("https://api.example.com/v1", {"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "us-east-1"}, "eu-west-3"),
        ("https://api.example.com/v1", {"AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2"),
    ],
)
def test_region_for(url: str, environ: dict[str, str], region: str) -> None:
    assert region_for(url, environ) == region


def test_region_for_a_custom_domain_without_a_region_names_the_fix() -> None:
    with pytest.raises(ConfigurationError, match=r"IAM auth for 'api.example.com'.*set AWS_REGION"):
        region_for("https://api.example.com/v1", {})


def test_no_auth_variables_means_no_auth() -> None:
    assert auth_from_environment({"HOOKKIT_API_AUTH": "none"}, base_url=API_URL) is None


def test_api_key_from_the_environment_with_a_custom_header() -> None:
    auth = auth_from_environment({"HOOKKIT_API_KEY": "k1", "HOOKKIT_API_KEY_HEADER": "X-Key"}, base_url=API_URL)
    assert isinstance(auth, ApiKeyAuth)
    assert dict(auth(bare_request("GET", API_URL)).headers) == {"X-Key": "k1"}


def test_token_from_ssm_through_the_environment(aws: None) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/orders/token", Value="t-ssm", Type="SecureString")
    auth = auth_from_environment({"HOOKKIT_API_TOKEN": "ssm:/orders/token"}, base_url=API_URL, ssm=lambda: ssm)
    assert dict(auth(bare_request("GET", API_URL)).headers) == {"Authorization": "Bearer t-ssm"}


def test_iam_from_the_environment_signs_for_the_api_region(frozen_clock: None) -> None:
    auth = auth_from_environment({"HOOKKIT_API_AUTH": "IAM"}, base_url=API_URL, credentials=SUITE_CREDENTIALS)
    assert isinstance(auth, SigV4Auth)
    assert (auth.region, auth.service) == ("eu-west-1", "execute-api")


def test_iam_for_a_function_url_signs_for_lambda() -> None:
    auth = auth_from_environment({"HOOKKIT_API_AUTH": "iam"}, base_url="https://x.lambda-url.us-east-2.on.aws/")
    assert isinstance(auth, SigV4Auth)
    assert (auth.region, auth.service) == ("us-east-2", "lambda")


def test_key_and_iam_chain_with_the_signer_last() -> None:
    auth = auth_from_environment(
        {"HOOKKIT_API_KEY": "k", "HOOKKIT_API_AUTH": "iam"}, base_url=API_URL, credentials=SUITE_CREDENTIALS
    )
    assert isinstance(auth, AuthChain)
    assert [type(a) for a in auth.auths] == [ApiKeyAuth, SigV4Auth]


def test_token_and_iam_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="HOOKKIT_API_TOKEN and HOOKKIT_API_AUTH=iam both set"):
        auth_from_environment({"HOOKKIT_API_TOKEN": "t", "HOOKKIT_API_AUTH": "iam"}, base_url=API_URL)


def test_an_unknown_auth_mode_is_refused_with_the_choices() -> None:
    with pytest.raises(ConfigurationError, match="HOOKKIT_API_AUTH: unknown value 'oauth'; use 'iam'"):
        auth_from_environment({"HOOKKIT_API_AUTH": "oauth"}, base_url=API_URL)


def test_reprs_never_show_secrets() -> None:
    auth = auth_from_environment({"HOOKKIT_API_KEY": "key-secret-1", "HOOKKIT_API_AUTH": "iam"},
                                 base_url=API_URL, credentials=SUITE_CREDENTIALS)
    text = repr(auth)
    assert "key-secret-1" not in text and "wJalr" not in text
    assert json.dumps(text)  # plain text, safe to log
