from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import pytest

from hookkit.checks.eventfiles import discover_events, load_event, load_expect
from hookkit.checks.expect import (
    Expectable,
    Observed,
    differences,
    expect,
    observe_http,
    observe_invocation,
    schema_validator,
    spec_differences,
)
from hookkit.checks.invocation import Invocation
from hookkit.checks.jsondiff import MISSING
from hookkit.core.errors import ConfigurationError, Difference, ExpectationFailed

FIXTURES = Path(__file__).parent / "fixtures" / "expect"
SCHEMAS = FIXTURES / "schemas"


def invocation(payload: Any, *, raw: bytes | None = None, function_error: str | None = None,
               duration_ms: float = 12.5) -> Invocation:
    body = raw if raw is not None else json.dumps(payload).encode()
    return Invocation(status_code=200, payload=body, function_error=function_error, duration_ms=duration_ms)


def proxy(body: Any, status: int = 200, **extra: Any) -> Invocation:
    return invocation({"statusCode": status, "headers": {"content-type": "application/json"}, "body": body, **extra})


def observed(body: Any, *, status: int | None = 200, is_json: bool = True, duration_ms: float = 5.0,
             function_error: str | None = None, error: str | None = None) -> Observed:
    return Observed("GET https://api.test/orders/1", status, body, is_json, duration_ms, function_error, error)


GOOD_ORDER = {"id": "ORD-1", "status": "CREATED", "total": 12.5, "items": [{"sku": "BOOK-1", "price": 12.5}]}


# -- observing --------------------------------------------------------------------------------


def test_a_plain_payload_has_no_status_never_lambdas_200() -> None:
    seen = observe_invocation("invoke orders:7 with e.json", invocation({"id": "ORD-1"}, duration_ms=40.0))
    assert seen == Observed("invoke orders:7 with e.json", None, {"id": "ORD-1"}, True, 40.0,
                            no_status="the function answered a JSON object without statusCode")


def test_a_proxy_response_gives_its_status_and_decoded_body() -> None:
    seen = observe_invocation("s", proxy(json.dumps({"id": "ORD-1"}), status=201))
    assert (seen.status, seen.body, seen.is_json) == (201, {"id": "ORD-1"}, True)


def test_a_base64_proxy_body_is_decoded_before_json() -> None:
    encoded = base64.b64encode(json.dumps({"id": "ORD-2"}).encode()).decode()
    seen = observe_invocation("s", proxy(encoded, status=202, isBase64Encoded=True))
    assert (seen.status, seen.body, seen.is_json) == (202, {"id": "ORD-2"}, True)


def test_a_base64_text_body_becomes_text() -> None:
    seen = observe_invocation("s", proxy(base64.b64encode("héllo".encode()).decode(), isBase64Encoded=True))
    assert (seen.body, seen.is_json) == ("héllo", False)


def test_a_body_claiming_base64_that_is_not_stays_raw() -> None:
    seen = observe_invocation("s", proxy("not base64!", isBase64Encoded=True))
    assert (seen.body, seen.is_json) == ("not base64!", False)


def test_a_proxy_body_that_is_not_base64_flagged_is_not_decoded() -> None:
    encoded = base64.b64encode(b'{"a": 1}').decode()
    seen = observe_invocation("s", proxy(encoded))
    assert (seen.body, seen.is_json) == (encoded, False)


def test_proxy_bodies_text_empty_and_missing() -> None:
    assert observe_invocation("s", proxy("<p>hi</p>")).body == "<p>hi</p>"
    empty = observe_invocation("s", proxy("", status=204))
    assert (empty.status, empty.body, empty.is_json) == (204, None, False)
    no_body = observe_invocation("s", invocation({"statusCode": 204, "headers": {}}))
    assert (no_body.status, no_body.body, no_body.is_json) == (204, None, False)
    null_json = observe_invocation("s", proxy("null"))
    assert (null_json.body, null_json.is_json) == (None, True)


def test_a_proxy_body_that_is_already_json_data_is_kept() -> None:
    seen = observe_invocation("s", proxy({"id": "ORD-1"}, status=201))
    assert (seen.status, seen.body, seen.is_json) == (201, {"id": "ORD-1"}, True)


def test_objects_that_only_look_like_proxy_responses_are_plain_payloads() -> None:
    domain = {"statusCode": 3, "orderId": "ORD-1"}
    assert observe_invocation("s", invocation(domain)).status is None
    assert observe_invocation("s", invocation(domain)).body == domain
    assert observe_invocation("s", invocation(domain)).no_status == (
        "the function answered statusCode 3 beside other keys (orderId) and no body"
    )
    flagged = {"statusCode": True, "body": "x"}
    assert observe_invocation("s", invocation(flagged)).body == flagged
    assert observe_invocation("s", invocation(flagged)).no_status == "its statusCode is bool True, not an integer"
    text_code = {"statusCode": "201", "body": "x"}
    assert observe_invocation("s", invocation(text_code)).status is None
    assert observe_invocation("s", invocation(text_code)).no_status == "its statusCode is str '201', not an integer"


def test_a_non_json_or_empty_payload() -> None:
    text = observe_invocation("s", invocation(None, raw=b"plain text"))
    assert (text.body, text.is_json) == ("plain text", False)
    empty = observe_invocation("s", invocation(None, raw=b""))
    assert (empty.body, empty.is_json) == (None, False)
    binary = observe_invocation("s", invocation(None, raw=b"\xff\xfe"))
    assert (binary.body, binary.is_json) == ("\ufffd\ufffd", False)


def test_a_function_error_fills_function_error_and_error_text() -> None:
    payload = {"errorType": "ValueError", "errorMessage": "no sku", "stackTrace": ["..."]}
    seen = observe_invocation("s", invocation(payload, function_error="Unhandled"))
    assert (seen.status, seen.no_status) == (None, "the function raised (ValueError: no sku)")
    assert seen.body == payload
    assert (seen.function_error, seen.error) == ("Unhandled", "ValueError: no sku")
    empty = observe_invocation("s", invocation(None, raw=b"", function_error="Unhandled"))
    assert (empty.function_error, empty.error) == ("Unhandled", "Unhandled")
    text = observe_invocation("s", invocation(None, raw=b"Task timed out " + b"." * 200, function_error="Unhandled"))
    assert text.error == "Task timed out " + "." * 105 + "..."


def test_observe_http_decodes_by_charset() -> None:
    seen = observe_http("GET u", 200, '{"name": "café"}'.encode("latin-1"), "application/json; charset=ISO-8859-1", 8.0)
    assert seen == Observed("GET u", 200, {"name": "café"}, True, 8.0)
    utf8 = observe_http("GET u", 200, "é".encode(), "text/plain; charset=unknown-xx", 1.0)
    assert (utf8.body, utf8.is_json) == ("é", False)
    assert observe_http("GET u", 204, b"", None, 1.0).body is None
    assert observe_http("GET u", 502, b"<html>Bad gateway</html>", "text/html", 1.0).body == "<html>Bad gateway</html>"


# -- status, latency, function errors ---------------------------------------------------------


def test_status_one_code_a_collection_or_a_range() -> None:
    seen = observed({}, status=201)
    assert differences(seen, status=201) == []
    assert differences(seen, status=[200, 201]) == []
    assert differences(seen, status=range(200, 300)) == []
    assert differences(seen, status=200) == [Difference("status", 200, 201)]
    assert differences(seen, status={204, 200}) == [Difference("status", (200, 204), 201)]


def test_within_ms_bounds_the_duration() -> None:
    assert differences(observed({}, duration_ms=800.0), within_ms=800) == []
    assert differences(observed({}, duration_ms=800.5), within_ms=800) == [Difference("duration_ms", 800, 800.5)]


def test_an_unexpected_function_error_is_a_difference_and_skips_body_checks() -> None:
    error = {"errorType": "KeyError", "errorMessage": "'sku'"}
    seen = observed(error, function_error="Unhandled", error="KeyError: 'sku'")
    found = differences(seen, status=200, schema={"required": ["id"]}, fields={"id": "ORD-1"})
    assert found == [Difference("function_error", None, "KeyError: 'sku'")]
    assert differences(seen, function_error=False) == [Difference("function_error", None, "KeyError: 'sku'")]


def test_function_error_true_or_a_type_expects_the_function_to_raise() -> None:
    error = {"errorType": "ValueError", "errorMessage": "no sku"}
    seen = observed(error, function_error="Handled", error="ValueError: no sku")
    assert differences(seen, function_error=True) == []
    assert differences(seen, function_error="ValueError", fields={"errorMessage": "no sku"}) == []
    assert differences(seen, function_error="KeyError") == [
        Difference("function_error", "KeyError", "ValueError: no sku")
    ]
    assert differences(observed({}), function_error=True) == [Difference("function_error", True, None)]
    assert differences(observed({}), function_error="ValueError") == [Difference("function_error", "ValueError", None)]


@pytest.mark.parametrize(
    ("keywords", "start"),
    [
        ({"status": "abc"}, "status: got str 'abc'"),
        ({"status": [200, "x"]}, "status: got list [200, 'x']"),
        ({"within_ms": -1}, "within_ms: got int -1"),
        ({"fields": ["id"]}, "fields: got list ['id']"),
        ({"function_error": 3}, "function_error: got int 3"),
        ({"schema": 42}, "schema: got int 42"),
    ],
)
def test_bad_keyword_values_are_configuration_errors_naming_the_keyword(keywords: dict[str, Any], start: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        differences(observed({}), **keywords)
    assert str(info.value).startswith(start)


# -- schema -----------------------------------------------------------------------------------


def test_a_conforming_body_meets_the_schema_file() -> None:
    assert differences(observed(GOOD_ORDER), schema="order.json", base_dir=SCHEMAS) == []


def test_every_violation_is_reported_sorted_by_path() -> None:
    body = {
        "id": 7,
        "status": "LOST",
        "total": -1,
        "items": [{"sku": "A", "price": 1}, {"price": "x"}] + [{"sku": "A"}] * 8 + [{"sku": 5}],
    }
    assert differences(observed(body), schema="order.json", base_dir=SCHEMAS) == [
        Difference("/id", {"type": "string"}, 7),
        Difference("/items/1/sku", "required", MISSING),
        Difference("/items/1/price", {"type": "number"}, "x"),
        Difference("/items/10/sku", {"type": "string"}, 5),
        Difference("/status", {"enum": ["CREATED", "PAID"]}, "LOST"),
        Difference("/total", {"minimum": 0}, -1),
    ]


def test_a_missing_required_property_is_reported_at_its_own_pointer() -> None:
    found = differences(observed({"items": []}), schema="order.json", base_dir=SCHEMAS)
    assert found == [Difference("/id", "required", MISSING), Difference("/status", "required", MISSING)]


def test_unexpected_properties_are_reported_one_by_one() -> None:
    schema = {"type": "object", "properties": {"a": {}}, "patternProperties": {"^x-": {}},
              "additionalProperties": False}
    found = differences(observed({"a": 1, "x-trace": 2, "b": 3, "c": None}), schema=schema)
    assert found == [
        Difference("/b", "no such property (additionalProperties: false)", 3),
        Difference("/c", "no such property (additionalProperties: false)", None),
    ]


def test_a_false_subschema_reports_false_as_the_constraint() -> None:
    # jsonschema (4.26) yields a `false` subschema's error without its own path segment (descend()
    # returns before adding it), so the pointer is the parent's; the constraint is still False.
    assert differences(observed({"a": 1}), schema={"properties": {"a": False}}) == [Difference("", False, 1)]


def test_formats_are_checked() -> None:
    schema = {"properties": {"ip": {"format": "ipv4"}}}
    assert differences(observed({"ip": "10.0.0.1"}), schema=schema) == []
    assert differences(observed({"ip": "10.0.0"}), schema=schema) == [Difference("/ip", {"format": "ipv4"}, "10.0.0")]


def test_the_draft_comes_from_dollar_schema() -> None:
    # Draft 4's boolean exclusiveMaximum: valid there, a schema error under the default 2020-12.
    assert differences(observed(10), schema="draft4.json", base_dir=SCHEMAS) == [
        Difference("", {"maximum": 10}, 10)
    ]
    with pytest.raises(ConfigurationError, match="is not a valid JSON Schema for Draft202012Validator"):
        differences(observed(10), schema={"maximum": 10, "exclusiveMaximum": True})


def test_a_body_that_is_not_json_is_one_difference_with_a_short_excerpt() -> None:
    html = "<html>" + "x" * 300 + "</html>"
    found = differences(observed(html, is_json=False), schema="order.json", base_dir=SCHEMAS, fields={"id": 1})
    assert found == [Difference("body", "JSON", "<html>" + "x" * 114 + "...")]
    assert differences(observed(None, is_json=False), fields={"id": 1}) == [Difference("body", "JSON", None)]


def test_a_relative_schema_path_without_base_dir_starts_at_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(SCHEMAS)
    assert differences(observed(GOOD_ORDER), schema="order.json") == []


def test_a_missing_schema_file_is_named_with_its_base_dir() -> None:
    with pytest.raises(ConfigurationError) as info:
        differences(observed({}), schema="nope.json", base_dir=SCHEMAS)
    assert str(info.value) == (
        f"schema file {SCHEMAS / 'nope.json'} (relative to base_dir {SCHEMAS}) not found; did you mean "
        "'order.json'? check the file name and folder, or the check's base_dir"
    )


def test_an_invalid_schema_file_names_the_file_the_problem_and_the_fix() -> None:
    with pytest.raises(ConfigurationError) as info:
        differences(observed({}), schema="invalid.json", base_dir=SCHEMAS)
    message = str(info.value)
    assert message.startswith(
        f"schema file {(SCHEMAS / 'invalid.json').resolve()} is not a valid JSON Schema for Draft202012Validator: "
    )
    assert "(at /properties/id/type); fix the schema (https://json-schema.org/understanding-json-schema)" in message


def test_a_schema_file_with_broken_json_gives_line_and_column() -> None:
    with pytest.raises(ConfigurationError) as info:
        differences(observed({}), schema="broken.json", base_dir=SCHEMAS)
    assert str(info.value).startswith(
        f"schema file {(SCHEMAS / 'broken.json').resolve()}: line 3, column 1: Expecting property name"
    )


def test_an_unknown_dialect_is_refused() -> None:
    with pytest.raises(ConfigurationError) as info:
        differences(observed({}), schema="unknown_dialect.json", base_dir=SCHEMAS)
    message = str(info.value)
    assert "unknown $schema 'https://json-schema.org/draft/2099-01/schema'; use one of" in message
    assert "'https://json-schema.org/draft/2020-12/schema', or leave $schema out for draft 2020-12" in message


@pytest.mark.parametrize("dialect", ["http://[", 7])
def test_a_dollar_schema_that_is_not_a_known_uri_is_refused(dialect: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        schema_validator({"$schema": dialect})
    assert str(info.value).startswith(f"inline schema: unknown $schema {dialect!r}; use one of")


def test_schema_validator_needs_a_schema() -> None:
    with pytest.raises(ConfigurationError, match=r"^schema: got None; pass a JSON Schema object or the path"):
        schema_validator(None)  # type: ignore[arg-type]


def test_any_mapping_is_an_inline_schema() -> None:
    schema = MappingProxyType({"properties": MappingProxyType({"id": {"type": "string"}})})
    assert differences(observed({"id": 1}), schema=schema) == [Difference("/id", {"type": "string"}, 1)]


def test_a_schema_file_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(ConfigurationError, match=r"list\.json: a JSON Schema is an object \(or true/false\), got list"):
        schema_validator("list.json", tmp_path)


def test_refs_to_sibling_files_are_followed() -> None:
    found = differences(observed({**GOOD_ORDER, "total": "12"}), schema=SCHEMAS / "order.json")
    assert found == [Difference("/total", {"type": "number"}, "12")]


def test_a_ref_to_a_url_is_never_fetched() -> None:
    with pytest.raises(ConfigurationError) as info:
        differences(observed({"id": 1}), schema="remote_ref.json", base_dir=SCHEMAS)
    assert str(info.value) == (
        f"schema file {SCHEMAS / 'remote_ref.json'}: cannot resolve $ref "
        "'https://example.com/schemas/id.json'; only schema files on disk, relative to the "
        "referring file, are loaded; never URLs"
    )


def test_a_ref_to_a_missing_file_names_that_file() -> None:
    with pytest.raises(ConfigurationError) as info:
        differences(observed({"id": 1}), schema="missing_ref.json", base_dir=SCHEMAS)
    assert str(info.value).startswith(
        f"schema file {SCHEMAS / 'missing_ref.json'}: $ref 'nowhere.json': schema file "
        f"{SCHEMAS / 'nowhere.json'} not found"
    )


def test_an_inline_schema_cannot_ref_files() -> None:
    with pytest.raises(
        ConfigurationError, match=r"^inline schema: cannot resolve \$ref 'other.json'; move the schema into a file"
    ):
        differences(observed({"a": 1}), schema={"properties": {"a": {"$ref": "other.json"}}})


def test_an_inline_schema_that_is_not_json_data_is_refused() -> None:
    with pytest.raises(
        ConfigurationError, match=r"^schema: the inline schema is not JSON data \(set is not JSON data\)"
    ):
        differences(observed({}), schema={"enum": {1, 2}})


# -- validator caching ------------------------------------------------------------------------


@pytest.fixture
def check_schema_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every check_schema call, i.e. every validator construction (it always checks first)."""
    calls: list[Any] = []
    real = jsonschema.Draft202012Validator.check_schema.__func__  # type: ignore[attr-defined]

    def counting(cls: type, schema: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(schema)
        real(cls, schema, *args, **kwargs)

    monkeypatch.setattr(jsonschema.Draft202012Validator, "check_schema", classmethod(counting))
    return calls


def test_a_file_validator_is_built_once_and_rebuilt_when_the_file_changes(
    tmp_path: Path, check_schema_calls: list[Any]
) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"type": "object"}')
    for _ in range(3):
        assert differences(observed({}), schema="s.json", base_dir=tmp_path) == []
    assert schema_validator(path) is schema_validator(str(path))
    assert len(check_schema_calls) == 1

    path.write_text('{"type": "array"}')
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert differences(observed({}), schema=path) == [Difference("", {"type": "array"}, {})]
    assert differences(observed([]), schema=path) == []
    assert len(check_schema_calls) == 2


def test_an_inline_validator_is_built_once_per_canonical_schema(check_schema_calls: list[Any]) -> None:
    title = str(uuid.uuid4())  # a schema no other test has cached
    one = {"title": title, "type": "object", "required": ["id"]}
    same = {"required": ["id"], "type": "object", "title": title}
    for schema in (one, same, one):
        assert differences(observed({}), schema=schema) == [Difference("/id", "required", MISSING)]
    assert len(check_schema_calls) == 1
    assert schema_validator(one) is schema_validator(same)


def test_a_validator_asked_for_by_many_threads_at_once_is_built_once(
    tmp_path: Path, check_schema_calls: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"type": "object", "required": ["id"]}')
    barrier = threading.Barrier(8, timeout=5)
    counting = jsonschema.Draft202012Validator.check_schema.__func__  # type: ignore[attr-defined]

    def slow(cls: type, schema: Any, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.05)  # a build long enough for every thread to ask meanwhile
        counting(cls, schema, *args, **kwargs)

    monkeypatch.setattr(jsonschema.Draft202012Validator, "check_schema", classmethod(slow))

    def ask() -> Any:
        barrier.wait()
        return schema_validator(path)

    with ThreadPoolExecutor(max_workers=8) as pool:
        validators = list(pool.map(lambda _: ask(), range(8)))
    assert len(check_schema_calls) == 1
    assert all(v is validators[0] for v in validators)


def test_spec_differences_are_the_differences_of_the_same_keywords(tmp_path: Path) -> None:
    (tmp_path / "order.json").write_text('{"type": "object", "required": ["id", "status"]}')
    expect_file = tmp_path / "get.expect.json"
    expect_file.write_text('{"status": 201, "schema": "order.json", "fields": {"status": "SHIPPED"}}')
    spec = load_expect(expect_file)
    got = observed({"status": "CREATED"}, status=200)
    assert spec_differences(got, spec) == differences(got, **spec.keywords()) == [
        Difference("status", 201, 200),
        Difference("/id", "required", MISSING),
        Difference("/status", "SHIPPED", "CREATED"),
    ]


def test_a_cached_inline_schema_does_not_see_later_mutation() -> None:
    schema = {"title": str(uuid.uuid4()), "type": "object"}
    validator = schema_validator(schema)
    schema["type"] = "array"
    assert validator.is_valid({}) is True


# -- fields -----------------------------------------------------------------------------------


def test_fields_by_pointer_and_dotted_path_with_list_indexes() -> None:
    body = {"order": {"status": "CREATED", "items": [{"id": "A"}, {"id": "B"}]}, "a.b": 1}
    assert differences(observed(body), fields={
        "/order/status": "CREATED", "order.items.1.id": "B", "/a.b": 1, "": body,
    }) == []


def test_field_differences_use_pointers_and_missing() -> None:
    body = {"order": {"status": "PAID", "items": [{"id": "A"}]}}
    assert differences(observed(body), fields={
        "order.status": "CREATED", "/order/items/3/id": "D", "order.paid": True,
    }) == [
        Difference("/order/status", "CREATED", "PAID"),
        Difference("/order/items/3/id", "D", MISSING),
        Difference("/order/paid", True, MISSING),
    ]
    assert str(differences(observed({}), fields={"id": "A"})[0]) == "/id: expected 'A', got <missing>"


def test_fields_compare_json_types_strictly() -> None:
    assert differences(observed({"ok": True, "n": 1.0}), fields={"ok": 1, "n": 1}) == [Difference("/ok", 1, True)]


def test_secret_looking_values_are_redacted_in_differences() -> None:
    body = {"accessToken": "eyJhbGciOi", "user": {"password": "hunter2", "name": "ann"}}
    assert differences(observed(body), fields={"accessToken": "expected-secret", "user": {"name": "bob"}}) == [
        Difference("/accessToken", "[REDACTED]", "[REDACTED]"),
        Difference("/user", {"name": "bob"}, {"password": "[REDACTED]", "name": "ann"}),
    ]
    assert differences(observed(body), schema={"properties": {"accessToken": {"type": "integer"}}}) == [
        Difference("/accessToken", {"type": "integer"}, "[REDACTED]")
    ]
    assert differences(observed({}), fields={"/apiKey": "k"}) == [Difference("/apiKey", "[REDACTED]", MISSING)]


def test_secrets_in_error_texts_and_body_excerpts_are_redacted() -> None:
    raised = observed({"errorType": "HTTPError"}, function_error="Unhandled",
                      error="HTTPError: 401 calling https://api.test/x?token=abc123")
    assert differences(raised) == [
        Difference("function_error", None, "HTTPError: 401 calling https://api.test/x?token=[REDACTED]")
    ]
    text = observed("denied for Authorization: Bearer abc.def", is_json=False)
    assert differences(text, fields={"a": 1}) == [
        Difference("body", "JSON", "denied for Authorization: Bearer [REDACTED]")
    ]


def test_differences_come_in_a_fixed_order() -> None:
    seen = observed({"id": 1}, status=500, duration_ms=900.0)
    assert differences(seen, within_ms=100, fields={"id": 2}, schema={"properties": {"id": {"type": "string"}}},
                       status=200, function_error=True) == [
        Difference("function_error", True, None),
        Difference("status", 200, 500),
        Difference("/id", {"type": "string"}, 1),
        Difference("/id", 2, 1),
        Difference("duration_ms", 100, 900.0),
    ]


# -- raising and chaining ---------------------------------------------------------------------


def test_expect_raises_with_every_difference_and_the_subject() -> None:
    expect(observed({"id": "A"}), status=200, fields={"id": "A"})
    with pytest.raises(ExpectationFailed) as info:
        expect(observed({"id": "A"}, status=500), status=200, fields={"id": "B"})
    assert info.value.subject == "GET https://api.test/orders/1"
    assert info.value.differences == [Difference("status", 200, 500), Difference("/id", "B", "A")]
    assert str(info.value) == (
        "GET https://api.test/orders/1: 2 difference(s)\n  - status: expected 200, got 500\n"
        "  - /id: expected 'B', got 'A'\n"
        '  answer body: {"id": "A"}'
    )
    assert isinstance(info.value, AssertionError)


@dataclass(frozen=True)
class Response(Expectable):
    result: Invocation
    base_dir: Path | None = None

    @property
    def observed(self) -> Observed:
        return observe_invocation("invoke orders:7", self.result)


def test_expectable_chains_and_uses_its_base_dir() -> None:
    response = Response(proxy(json.dumps(GOOD_ORDER), status=201), base_dir=SCHEMAS)
    assert response.expect(status=201).expect(schema="order.json", within_ms=100) is response
    with pytest.raises(ExpectationFailed) as info:
        response.expect(status=201).expect(fields={"status": "PAID"})
    assert info.value.subject == "invoke orders:7"
    assert info.value.differences == [Difference("/status", "PAID", "CREATED")]


# -- recorded events end to end ---------------------------------------------------------------


def test_a_recorded_event_and_its_expect_file_drive_differences() -> None:
    (name, event_path, expect_path), _ = discover_events(FIXTURES / "events")
    assert name == "create_order" and expect_path is not None
    assert load_event(event_path)["path"] == "/orders"
    keywords = load_expect(expect_path).keywords()
    good = observe_invocation("invoke", proxy(json.dumps({**GOOD_ORDER, "items": [{"sku": "BOOK-1"}]}), status=201))
    assert differences(good, **keywords) == []
    bad = observe_invocation("invoke", proxy(json.dumps({"id": "ORD-9", "status": "PAID", "items": []}), status=200))
    assert differences(bad, base_dir="/elsewhere", **keywords) == [
        Difference("status", 201, 200),
        Difference("/status", "CREATED", "PAID"),
        Difference("/items/0/sku", "BOOK-1", MISSING),
    ]


# -- status: an API Gateway proxy response's, never Lambda's own 200 -----------------------------

NO_PROXY = "no API Gateway proxy response: "


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        (b"null", "the function answered null"),
        (b"", "the function answered nothing"),
        (b"Internal Server Error", "the function answered text that is not JSON"),
        (b"\xff\xfe", "the function answered text that is not JSON"),
        (b'{"orderId": "ORD-1"}', "the function answered a JSON object without statusCode"),
        (b'{"statusCode": "500", "body": "{}"}', "its statusCode is str '500', not an integer"),
        (b'{"statusCode": 200.0, "body": "{}"}', "its statusCode is float 200.0, not an integer"),
        (b'{"statusCode": null, "body": "{}"}', "its statusCode is nothing, not an integer"),
        (b'{"statusCode": 200, "orderId": "ORD-1"}',
         "the function answered statusCode 200 beside other keys (orderId) and no body"),
        (b"[200]", "the function answered a JSON array"),
        (b'"200"', "the function answered a JSON string"),
        (b"200", "the function answered a JSON number"),
        (b"true", "the function answered a JSON boolean"),
    ],
)
def test_an_answer_that_is_not_a_proxy_response_never_meets_a_status(raw: bytes, what: str) -> None:
    seen = observe_invocation("invoke orders:7 with e.json", invocation(None, raw=raw))
    assert (seen.status, seen.no_status) == (None, what)
    assert differences(seen, status=200) == [Difference("status", 200, NO_PROXY + what)]
    assert differences(seen, status=range(100, 600)) == [Difference("status", range(100, 600), NO_PROXY + what)]
    assert differences(seen) == []  # without a status expectation, an answer is just an answer


def test_a_function_error_is_one_difference_unless_expected_and_then_it_has_no_status() -> None:
    error = {"errorType": "ValueError", "errorMessage": "no sku"}
    seen = observe_invocation("s", invocation(error, function_error="Unhandled"))
    assert differences(seen, status=200) == [Difference("function_error", None, "ValueError: no sku")]
    assert differences(seen, status=200, function_error="ValueError") == [
        Difference("status", 200, NO_PROXY + "the function raised (ValueError: no sku)")
    ]


def test_a_failed_status_shows_the_answers_body_redacted_and_cut() -> None:
    body = {"message": "Internal error", "detail": "x" * 500, "token": "tok-123",
            "trace": "Authorization: Bearer abc.def"}
    seen = observe_invocation("invoke orders:7 with e.json", proxy(json.dumps(body), status=500))
    with pytest.raises(ExpectationFailed) as info:
        expect(seen, status=200)
    lines = str(info.value).splitlines()
    assert lines[:2] == ["invoke orders:7 with e.json: 1 difference(s)", "  - status: expected 200, got 500"]
    shown = lines[2]
    assert shown.startswith('  answer body: {"message": "Internal error", "detail": "xxx')
    assert shown.endswith(" characters)") and len(shown) < 400
    assert info.value.detail == shown
    assert len(lines) == 3  # a proxy response: no hint about direct invocations

    secrets = observe_invocation("s", proxy(json.dumps({"token": "tok-123", "note": "Bearer abc.def"}), status=500))
    with pytest.raises(ExpectationFailed) as info:
        expect(secrets, status=200)
    assert "tok-123" not in str(info.value) and "abc.def" not in str(info.value)
    assert '"token": "[REDACTED]"' in str(info.value)


def test_a_failed_status_on_a_text_or_empty_answer_shows_it_and_how_to_check_a_direct_function() -> None:
    text = observe_invocation("s", invocation(None, raw=b"<html>password=hunter2 Bad Gateway</html>"))
    with pytest.raises(ExpectationFailed) as info:
        expect(text, status=200)
    message = str(info.value)
    assert "  answer body: <html>password=[REDACTED] Bad Gateway</html>" in message
    assert "hunter2" not in message
    assert "leave status out and check the answer with fields or schema" in message
    assert ".expect_no_function_error()" in message
    with pytest.raises(ExpectationFailed) as info:
        expect(observe_invocation("s", invocation(None, raw=b"")), status=200)
    assert "  answer body: (empty)" in str(info.value)


def test_failures_without_a_status_difference_stay_short() -> None:
    seen = observe_invocation("s", proxy(json.dumps({"id": "A"}), status=200))
    with pytest.raises(ExpectationFailed) as info:
        expect(seen, status=200, fields={"id": "B"})
    assert info.value.detail == ""
    assert "answer body" not in str(info.value)


def test_http_answers_keep_their_status() -> None:
    seen = observe_http("GET u", 500, b'{"message": "boom"}', "application/json", 3.0)
    assert (seen.status, seen.no_status) == (500, None)
    with pytest.raises(ExpectationFailed) as info:
        expect(seen, status=200)
    assert info.value.differences == [Difference("status", 200, 500)]
    assert str(info.value).endswith('  answer body: {"message": "boom"}')


def test_a_schema_given_as_json_text_says_to_pass_a_dict_or_a_path() -> None:
    with pytest.raises(ConfigurationError) as info:
        differences(observed({}), schema='{"type": "object"}')
    assert str(info.value).startswith("schema: got str '{\"type\": \"object\"}', which is JSON text, not a file name")
    assert "pass the schema as a dict" in str(info.value)


def test_a_body_already_shown_by_a_difference_is_not_repeated() -> None:
    seen = observe_http("GET u", 500, b"<html>Internal Server Error</html>", "text/html", 3.0)
    with pytest.raises(ExpectationFailed) as info:
        expect(seen, status=200, fields={"id": "A"})
    assert str(info.value) == (
        "GET u: 2 difference(s)\n  - status: expected 200, got 500\n"
        "  - body: expected 'JSON', got '<html>Internal Server Error</html>'"
    )


def test_everything_under_a_secret_name_is_hidden_array_items_and_plain_leaves_too() -> None:
    """A path is secret when any of its segments is a secret name, not only its last one: an index
    under ``tokens`` or an ``id`` under ``session`` holds the secret as much as ``token`` does."""
    body = {"tokens": ["tok-ARRAY"], "credentials": [{"value": "AKIA-VALUE"}], "session": {"id": "SESSION-ID"}}
    found = differences(observed(body), fields={"/tokens/0": "x", "/credentials/0/value": "y", "/session/id": "z"})
    assert found == [
        Difference("/tokens/0", "[REDACTED]", "[REDACTED]"),
        Difference("/credentials/0/value", "[REDACTED]", "[REDACTED]"),
        Difference("/session/id", "[REDACTED]", "[REDACTED]"),
    ]
    schema = {"properties": {"session": {"properties": {"id": {"type": "integer"}}}}}
    assert differences(observed(body), schema=schema) == [Difference("/session/id", {"type": "integer"}, "[REDACTED]")]
    with pytest.raises(ExpectationFailed) as info:  # what a check's own unit test prints
        expect(observed(body), fields={"/tokens/0": "x"})
    assert "tok-ARRAY" not in str(info.value)
