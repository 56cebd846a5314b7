from __future__ import annotations

import copy
import logging
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookkit.core.redact import (
    REDACTED,
    RedactingFilter,
    install_log_redaction,
    is_secret_name,
    redact_headers,
    redact_text,
    redact_url,
    redact_value,
)

SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/execute-api/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
)

# The fixed text the properties put around a secret: a "secret" that is part of it (a header's
# name, the query key "access_token") is found in the output without anything having leaked.
_AROUND = "Authorization: Bearer x-api-key Cookie apiKey password outer https://api.example.com/Prod/orders?page=2&access_token=&x=1"
secrets = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=12, max_size=40
).filter(lambda s: s not in _AROUND)


@pytest.mark.parametrize(
    "name",
    ["Authorization", "proxy-authorization", "Cookie", "Set-Cookie", "X-Api-Key", "x_api_key", "apiKey",
     "APIKEY", "access_token", "idToken", "X-Amz-Security-Token", "client_secret", "password", "passwd",
     "X-Amz-Signature", "X-Amz-Credential", "auth", "JWT", "session", "session_id", "private_key"],
)
def test_secret_names_are_recognised_whatever_the_spelling(name: str) -> None:
    assert is_secret_name(name) is True


@pytest.mark.parametrize(
    "name", ["Content-Type", "author", "keyboard", "code", "key", "orderId", "Accept", "X-Amz-Date"]
)
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert is_secret_name(name) is False


def test_redact_headers_hides_secrets_keeps_the_scheme_and_the_rest() -> None:
    headers = {
        "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "x-api-key": "k3y-value-123",
        "Cookie": "session=abc; theme=dark",
        "Set-Cookie": "session=abc; HttpOnly",
        "X-Amz-Security-Token": "FQoGZXIvYXdzE",
        "Content-Type": "application/json",
        "Location": "https://example.com/callback?code=oauth-code-1&state=xyz",
    }
    original = dict(headers)

    assert redact_headers(headers) == {
        "Authorization": f"Bearer {REDACTED}",
        "x-api-key": REDACTED,
        "Cookie": REDACTED,
        "Set-Cookie": REDACTED,
        "X-Amz-Security-Token": REDACTED,
        "Content-Type": "application/json",
        "Location": f"https://example.com/callback?code={REDACTED}&state=xyz",
    }
    assert headers == original


def test_redact_headers_keeps_the_sigv4_scheme_only() -> None:
    assert redact_headers({"authorization": SIGV4}) == {"authorization": f"AWS4-HMAC-SHA256 {REDACTED}"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com/Prod/orders?token=abc&page=2",
         f"https://api.example.com/Prod/orders?token={REDACTED}&page=2"),
        ("https://h/p?api_key=1&key=2&secret=3&signature=4&password=5&auth=6&code=7&q=ok",
         f"https://h/p?api_key={REDACTED}&key={REDACTED}&secret={REDACTED}&signature={REDACTED}"
         f"&password={REDACTED}&auth={REDACTED}&code={REDACTED}&q=ok"),
        ("https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F2024"
         "&X-Amz-Signature=deadbeef&X-Amz-Security-Token=FQo%2B%2F",
         f"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={REDACTED}"
         f"&X-Amz-Signature={REDACTED}&X-Amz-Security-Token={REDACTED}"),
        ("https://user:hunter2@example.com/a", f"https://user:{REDACTED}@example.com/a"),
        ("https://app.example.com/cb#access_token=xyz&state=s1",
         f"https://app.example.com/cb#access_token={REDACTED}&state=s1"),
        ("/orders/ORD-1?Token=t&name=a%20b", f"/orders/ORD-1?Token={REDACTED}&name=a%20b"),
        ("https://api.example.com/orders/ORD-1?name=a+b&flag", "https://api.example.com/orders/ORD-1?name=a+b&flag"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer xyz.abc-123", f"Authorization: Bearer {REDACTED}"),
        ("request failed with Bearer tok3n in hand", f"request failed with Bearer {REDACTED} in hand"),
        (f"Authorization: {SIGV4}",
         f"Authorization: AWS4-HMAC-SHA256 {REDACTED}, SignedHeaders=host;x-amz-date, Signature={REDACTED}"),
        ("Cookie: session=abc; theme=dark\nAccept: */*", f"Cookie: {REDACTED}\nAccept: */*"),
        ('{"password": "hunter 2", "user": "bob"}', f'{{"password": "{REDACTED}", "user": "bob"}}'),
        ("{'Authorization': 'Basic dXNlcjpwYXNz', 'Accept': '*/*'}",
         f"{{'Authorization': 'Basic {REDACTED}', 'Accept': '*/*'}}"),
        ("x-api-key: abc123 sent", f"x-api-key: {REDACTED} sent"),
        ("GET https://h/p?token=abc failed", f"GET https://h/p?token={REDACTED} failed"),
        ("client_secret=s3cr3t&grant_type=client_credentials",
         f"client_secret={REDACTED}&grant_type=client_credentials"),
        ("Basic checks passed: 3 of 3; author=me, code=E42", "Basic checks passed: 3 of 3; author=me, code=E42"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_redact_text_is_idempotent() -> None:
    once = redact_text(f"Authorization: {SIGV4} and GET https://h/?token=a")
    assert redact_text(once) == once


def test_redact_text_stays_linear_on_long_unbroken_strings() -> None:
    blob = "QUJD" * 250_000  # a 1 MB base64 body: a quadratic scan would take hours here
    assert redact_text(blob) == blob
    assert redact_text(f"token={blob}") == f"token={REDACTED}"


def test_redact_value_walks_nested_data_case_insensitively_without_mutating() -> None:
    data = {
        "headers": {"AUTHORIZATION": "Bearer abc", "Set-Cookie": ["a=1", "b=2"], "Content-Type": "text/plain"},
        "apiKey": "k",
        "credentials": {"user": "u", "password": "p"},
        "token": None,
        "items": [{"id": 1, "refresh_token": "r"}, "see https://h/?sig=abc"],
        "count": 3,
    }
    before = copy.deepcopy(data)

    assert redact_value(data) == {
        "headers": {"AUTHORIZATION": REDACTED, "Set-Cookie": REDACTED, "Content-Type": "text/plain"},
        "apiKey": REDACTED,
        "credentials": REDACTED,
        "token": None,
        "items": [{"id": 1, "refresh_token": REDACTED}, f"see https://h/?sig={REDACTED}"],
        "count": 3,
    }
    assert data == before


def test_redact_value_leaves_ordinary_data_alone() -> None:
    data = {"key": "orders/1.json", "code": "ORDER_NOT_FOUND", "items": [1, 2.5, True, None]}
    assert redact_value(data) == data


@pytest.mark.property
@given(secret=secrets)
def test_a_secret_query_value_never_survives_redact_url(secret: str) -> None:
    url = f"https://api.example.com/Prod/orders?page=2&access_token={quote(secret)}&x=1"
    assert secret not in redact_url(url)


@pytest.mark.property
@given(secret=secrets, name=st.sampled_from(["Authorization", "x-api-key", "Cookie", "apiKey", "password"]))
def test_a_secret_never_survives_text_headers_or_values(secret: str, name: str) -> None:
    line = f"{name}: Bearer {secret}" if name == "Authorization" else f"{name}: {secret}"
    assert secret not in redact_text(line)
    assert secret not in str(redact_headers({name: secret}))
    assert secret not in str(redact_value({"outer": [{name: secret}]}))
    assert secret not in redact_text(str({name: secret}))


def test_the_logging_filter_redacts_the_formatted_message() -> None:
    record = logging.LogRecord("urllib3.connectionpool", logging.WARNING, __file__, 1,
                               "Retrying %s after %r", ("/orders?token=abc", "Authorization: Bearer xyz"), None)
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == f"Retrying /orders?token={REDACTED} after 'Authorization: Bearer {REDACTED}'"


def test_install_log_redaction_is_idempotent() -> None:
    name = "hookkit.tests.redaction"
    install_log_redaction(name)
    install_log_redaction(name)
    logger = logging.getLogger(name)
    try:
        assert [type(f) for f in logger.filters] == [RedactingFilter]
    finally:
        logger.filters.clear()


_CUT_SECRET = "S3KR1T-VALUE-0123456789"


@pytest.mark.parametrize("shape", [
    f'{{"user": "bob", "password": "hunter 2 {_CUT_SECRET} and more"}}',  # quoted, with spaces inside
    f'{{"a":"{"y" * 300}","password":"{_CUT_SECRET}"}}',  # compact JSON: no whitespace to cut back to
    f"GET https://bob:{_CUT_SECRET}@api.example.com/orders?token={_CUT_SECRET}&page=2 failed",
    f"Authorization: Bearer {_CUT_SECRET}\nx-api-key: {_CUT_SECRET}",
    f"Cookie: theme=dark; session={_CUT_SECRET}; other=1",
])
def test_a_text_cut_to_size_anywhere_and_then_redacted_shows_no_part_of_a_secret(shape: str) -> None:
    """Outcome messages are cut where they are made and redacted when they leave: the cut must never
    leave a secret's start where redaction no longer recognises it (an open quote, half a URL)."""
    from hookkit.core.outcome import clip_text

    text = "x " * 200 + shape
    for limit in range(400, len(text)):
        shown = redact_text(clip_text(text, limit))
        assert _CUT_SECRET[:4] not in shown, (limit, shown[-120:])


@pytest.mark.parametrize(("text", "expected"), [
    ('{"token": "abc', f'{{"token": {REDACTED}'),  # its closing quote cut off
    ("password: \"it's fine\", user: bob", f"password: {REDACTED}"),  # a quote inside the value
    ('{"password": "a b\nnext line', f'{{"password": {REDACTED}\nnext line'),  # up to the line's end only
])
def test_a_secret_quoted_value_without_its_closing_quote_is_hidden_to_the_end_of_its_line(
    text: str, expected: str
) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("  - /headers/Authorization: expected 'raw-old', got 'raw-new'",
     f"  - /headers/Authorization: expected '{REDACTED}', got '{REDACTED}'"),
    ("/tokens/0: expected {'type': 'integer'}, got 'tok-1'",
     f"/tokens/0: expected {{'type': 'integer'}}, got '{REDACTED}'"),
    ("/credentials/0/value: expected 'k', got <missing>",
     f"/credentials/0/value: expected '{REDACTED}', got <missing>"),
    ("/session/id: expected ['a', 'b'], got None", f"/session/id: expected {REDACTED}, got None"),
    ("/user: expected {'password': 'pw'}, got 3", f"/user: expected {{'password': '{REDACTED}'}}, got 3"),
    ("/status: expected 'CREATED', got 'FAILED'", "/status: expected 'CREATED', got 'FAILED'"),
])
def test_a_difference_line_is_hidden_by_its_whole_path_and_stays_readable(text: str, expected: str) -> None:
    """``path: expected A, got B`` (a Difference's text): the word "expected" is not taken for a secret
    value, and every segment of the path counts, not only the last name before the colon."""
    assert redact_text(text) == expected
    assert redact_text(expected) == expected


@pytest.mark.parametrize("text", [
    "AssertionError: boom (at secrets.py:16)",
    "token_checks.py:12: in check",
    'File "checks/password_reset.py", line 3, at password_reset.py:3:5 in reset',
    "see /work/app/credential_store.js:120.",
])
def test_a_file_name_holding_a_secret_word_and_its_line_number_is_not_a_secret_field(text: str) -> None:
    """``secrets.py:16`` is where a check is, not a field named ``secrets.py`` holding ``16``."""
    assert redact_text(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("token: abc", f"token: {REDACTED}"),
    ("password=xyz", f"password={REDACTED}"),
    ("pin token:123456", f"pin token:{REDACTED}"),  # a numeric secret with no file extension
    ("api.token:1234", f"api.token:{REDACTED}"),  # a dotted name whose last part is the secret one
    ("settings.secret_key:99 set", f"settings.secret_key:{REDACTED} set"),
    ("secrets.py: hunter2", f"secrets.py: {REDACTED}"),  # not a line number
    ("secrets.py:16abc", f"secrets.py:{REDACTED}"),
])
def test_secret_fields_that_look_a_little_like_a_file_and_line_are_still_hidden(text: str, expected: str) -> None:
    assert redact_text(text) == expected
