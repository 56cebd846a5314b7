from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookkit.checks import eventfiles
from hookkit.checks.eventfiles import EXPECT_KEYS, ExpectSpec, discover_events, event_payload, load_event, load_expect
from hookkit.core.errors import ConfigurationError

FIXTURES = Path(__file__).parent / "fixtures" / "expect"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file rewritten by each hypothesis example (function-scoped tmp_path cannot be used)."""
    return tmp_path_factory.mktemp("eventfiles") / "input.json"


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# -- load_event -------------------------------------------------------------------------------


def test_load_event_reads_a_recorded_event() -> None:
    event = load_event(FIXTURES / "events" / "create_order.json")
    assert event["httpMethod"] == "POST"
    assert json.loads(event["body"]) == {"sku": "BOOK-1", "quantity": 2}


def test_load_event_accepts_any_json_value_and_a_utf8_bom(tmp_path: Path) -> None:
    assert load_event(write(tmp_path / "a.json", "[1, \"é\"]")) == [1, "é"]
    assert load_event(write(tmp_path / "b.json", b"\xef\xbb\xbf{\"a\": null}")) == {"a": None}


def test_a_syntax_error_names_file_line_column_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", '{\n  "a": 1,\n  "b": 2,\n}\n')
    with pytest.raises(ConfigurationError) as info:
        load_event(path)
    assert str(info.value) == (
        f"event {path}: line 4, column 1: Expecting property name enclosed in double quotes; fix "
        "the JSON syntax (plain JSON only: no comments, trailing commas or single quotes)"
    )


def test_a_comment_is_a_syntax_error_with_its_position(tmp_path: Path) -> None:
    path = write(tmp_path / "c.json", '{"a": 1,\n   // note\n "b": 2}')
    with pytest.raises(ConfigurationError, match=r": line 2, column 4: Expecting property name"):
        load_event(path)


def test_bytes_that_are_not_utf8_are_located(tmp_path: Path) -> None:
    path = write(tmp_path / "latin.json", b'{\n  "name": "caf\xe9"\n}')
    with pytest.raises(ConfigurationError) as info:
        load_event(path)
    assert str(info.value) == f"event {path}: line 2, column 15: not UTF-8 (byte 0xe9); save the file as UTF-8"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"a": NaN}', "NaN is not JSON; use null, a number or a string"),
        ('[-Infinity]', "-Infinity is not JSON; use null, a number or a string"),
        ('[1e400]', "number 1e400 is too large for a double; write it as a string"),
        ('{"a": 1, "a": 2}', "duplicate key 'a' in one object; keep only one"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply to read; flatten the document"),
        ("1" * 5000, "Exceeds the limit (4300 digits) for integer string conversion"),
    ],
)
def test_valid_python_but_not_plain_json_is_refused(tmp_path: Path, content: str, problem: str) -> None:
    path = write(tmp_path / "e.json", content)
    with pytest.raises(ConfigurationError) as info:
        load_event(path)
    assert str(info.value).startswith(f"event {path}: {problem}")


def test_a_missing_file_or_a_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"^event .*nope\.json not found; check the file name and folder$"):
        load_event(tmp_path / "nope.json")
    with pytest.raises(ConfigurationError, match=r"^event .* is a folder; name a JSON file$"):
        load_event(tmp_path)


def test_a_missing_file_names_a_close_name_or_its_missing_folder(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "create_order.json", "{}")
    with pytest.raises(ConfigurationError) as info:
        load_event(tmp_path / "create_ordre.json")
    assert str(info.value) == (f"event {tmp_path / 'create_ordre.json'} not found; did you mean 'create_order.json'? "
                               "check the file name and folder")
    with pytest.raises(ConfigurationError) as info:
        load_event(tmp_path / "missing" / "e.json")
    missing = tmp_path / "missing"
    assert str(info.value).endswith(f"not found; its folder {missing} does not exist either; check the path")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as info:
        load_event("e.json")
    assert str(info.value).endswith(f"check the file name and folder (relative paths start at {tmp_path})")


def test_an_unreadable_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(eventfiles.os, "open", denied)  # root may read any file: simulate it
    path = tmp_path / "locked.json"
    with pytest.raises(ConfigurationError) as info:
        load_event(path)
    assert str(info.value) == f"event {path}: cannot read it (Permission denied); check its permissions"


def test_an_event_bigger_than_lambda_accepts_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventfiles, "MAX_EVENT_BYTES", 10)
    assert load_event(write(tmp_path / "ok.json", '"12345678"')) == "12345678"
    path = write(tmp_path / "big.json", '"123456789"')
    with pytest.raises(ConfigurationError) as info:
        load_event(path)
    assert str(info.value) == (
        f"event {path} is larger than 10 bytes, more than Lambda accepts in one synchronous "
        "invoke; record a smaller event"
    )


def test_the_event_limit_is_lambdas_6_mb() -> None:
    assert eventfiles.MAX_EVENT_BYTES == 6_291_456


@pytest.mark.property
@given(st.binary(max_size=200))
def test_load_event_of_any_bytes_is_a_value_or_a_configuration_error(scratch: Path, data: bytes) -> None:
    write(scratch, data)
    try:
        load_event(scratch)
    except ConfigurationError as exc:
        assert str(exc).startswith(f"event {scratch}")


@pytest.mark.property
@given(st.text(alphabet=st.sampled_from('{}[]":,0123456789.eE-+ \n\\tnulrsfaNIy'), max_size=60))
def test_load_event_of_json_like_text_is_a_value_or_a_configuration_error(scratch: Path, text: str) -> None:
    write(scratch, text)
    try:
        load_event(scratch)
    except ConfigurationError as exc:
        assert str(exc).startswith(f"event {scratch}")


@pytest.mark.property
@given(json_values)
def test_load_event_returns_the_json_value_written(scratch: Path, value: object) -> None:
    write(scratch, json.dumps(value, ensure_ascii=False))
    assert load_event(scratch) == value



# -- event_payload ----------------------------------------------------------------------------


def test_event_payload_is_the_file_less_its_byte_order_mark(tmp_path: Path) -> None:
    text = '{\n  "orderId": "ORD-1",\n  "note": "café"\n}\n'
    assert event_payload(write(tmp_path / "a.json", "\ufeff" + text)) == text.encode()
    assert json.loads(event_payload(tmp_path / "a.json")) == load_event(tmp_path / "a.json")


def test_event_payload_refuses_what_load_event_refuses(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.json", '{"a": 1,\n "a": 2}')
    with pytest.raises(ConfigurationError) as info:
        event_payload(path)
    assert str(info.value) == (
        f"event {path}: duplicate key 'a' in one object; keep only one (JSON readers disagree on which one wins)"
    )


def test_event_payload_reads_a_changed_file_strictly_again(tmp_path: Path) -> None:
    path = write(tmp_path / "e.json", '{"a": 1}')
    assert event_payload(path) == b'{"a": 1}'
    write(path, '{"a": 1, "a": 2}')  # a different size: a different file
    with pytest.raises(ConfigurationError, match="duplicate key 'a'"):
        event_payload(path)


def test_an_event_from_a_pipe_is_read_up_to_the_limit_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventfiles, "MAX_EVENT_BYTES", 10)
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)

    def write_more_than_the_limit() -> None:
        with contextlib.suppress(BrokenPipeError):  # the reader stops at the limit and closes
            fifo.write_bytes(b'"' + b"x" * 100_000 + b'"')

    writer = threading.Thread(target=write_more_than_the_limit, daemon=True)
    writer.start()
    with pytest.raises(ConfigurationError) as info:
        event_payload(fifo)
    assert str(info.value) == (
        f"event {fifo} is larger than 10 bytes, more than Lambda accepts in one synchronous invoke; "
        "record a smaller event"
    )
    writer.join(1)

# -- load_expect ------------------------------------------------------------------------------


def test_load_expect_reads_every_keyword_and_resolves_the_schema_next_to_the_file() -> None:
    spec = load_expect(FIXTURES / "events" / "create_order.expect.json")
    assert spec.keywords() == {
        "status": 201,
        "schema": (FIXTURES / "events").absolute() / "../schemas/order.json",
        "fields": {"/status": "CREATED", "/items/0/sku": "BOOK-1"},
        "within_ms": 800,
    }


def test_keywords_holds_only_what_was_set(tmp_path: Path) -> None:
    spec = load_expect(write(tmp_path / "x.expect.json", '{"function_error": false}'))
    assert spec.keywords() == {"function_error": False}
    assert load_expect(write(tmp_path / "y.expect.json", "{}")).keywords() == {}


def test_inline_and_absolute_schemas_are_kept(tmp_path: Path) -> None:
    inline = load_expect(write(tmp_path / "i.expect.json", '{"schema": {"type": "object"}}'))
    assert inline.schema == {"type": "object"}
    absolute = tmp_path / "schemas" / "s.json"
    spec = load_expect(write(tmp_path / "a.expect.json", json.dumps({"schema": str(absolute)})))
    assert spec.schema == absolute


def test_an_unknown_key_lists_the_allowed_keys_and_suggests_one(tmp_path: Path) -> None:
    path = write(tmp_path / "x.expect.json", '{"statusCode": 200}')
    with pytest.raises(ConfigurationError) as info:
        load_expect(path)
    assert str(info.value) == (
        f"expect file {path}: unknown key 'statusCode' (did you mean 'status'?); allowed keys: "
        "status, schema, fields, within_ms, function_error"
    )
    path = write(tmp_path / "y.expect.json", '{"zzz": 1}')
    with pytest.raises(ConfigurationError, match=r"unknown key 'zzz'; allowed keys: status, schema"):
        load_expect(path)


def test_a_null_value_says_how_to_skip_the_check(tmp_path: Path) -> None:
    path = write(tmp_path / "x.expect.json", '{"status": null}')
    with pytest.raises(ConfigurationError) as info:
        load_expect(path)
    assert str(info.value) == f"expect file {path}: status is null; remove the key to skip that check"


def test_an_expect_file_must_hold_an_object(tmp_path: Path) -> None:
    path = write(tmp_path / "x.expect.json", "[200]")
    with pytest.raises(ConfigurationError) as info:
        load_expect(path)
    assert str(info.value) == f'expect file {path}: expected a JSON object such as {{"status": 200}}, got list [200]'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"status": "200"}', "status: got str '200'; expected an HTTP status code 100-599"),
        ('{"status": true}', "status: got bool True; expected an HTTP status code"),
        ('{"status": 99}', "status: got int 99; expected"),
        ('{"status": []}', "status: got list []; expected"),
        ('{"status": [200, 700]}', "status: got list [200, 700]; expected"),
        ('{"schema": 3}', "schema: got int 3; expected a JSON Schema object or the path of a JSON Schema file"),
        ('{"schema": ""}', "schema: got str ''; expected"),
        ('{"schema": true}', "schema: got bool True; expected"),
        ('{"fields": ["status"]}', "fields: got list ['status']; expected a mapping of path to value"),
        ('{"fields": {"a..b": 1}}', "fields: key 'a..b' has an empty segment; use a JSON pointer"),
        ('{"fields": {"/a~x": 1}}', "fields key '/a~x': '~' must be escaped as '~0'"),
        ('{"fields": {"a.b": 1, "/a/b": 2}}', "fields: 'a.b' and '/a/b' name the same path '/a/b'; keep one"),
        ('{"within_ms": 0}', "within_ms: got int 0; expected a positive number of milliseconds"),
        ('{"within_ms": -1.5}', "within_ms: got float -1.5; expected"),
        ('{"within_ms": "800"}', "within_ms: got str '800'; expected"),
        ('{"function_error": ""}', "function_error: got str ''; expected true (any error) or the errorType"),
        ('{"function_error": 1}', "function_error: got int 1; expected"),
    ],
)
def test_a_bad_value_names_the_file_and_the_keyword(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path / "x.expect.json", content)
    with pytest.raises(ConfigurationError) as info:
        load_expect(path)
    assert str(info.value).startswith(f"expect file {path}: {message}")


def test_a_syntax_error_in_an_expect_file_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "x.expect.json", '{"status": 200,\n "schema" "a.json"}')
    with pytest.raises(ConfigurationError, match=r"^expect file .*x\.expect\.json: line 2, column 11: Expecting ':'"):
        load_expect(path)


def test_expect_spec_normalises_python_values() -> None:
    assert ExpectSpec.of(status=range(200, 300)).status == range(200, 300)
    assert ExpectSpec.of(status={204, 200, 201}).status == (200, 201, 204)
    assert ExpectSpec.of(status=[201, 201]).status == (201,)
    assert ExpectSpec.of(schema=Path("s.json")).schema == Path("s.json")
    assert ExpectSpec.of(fields={"items.0.id": 1, "": 2, "/a~1b": 3}).fields == {"/items/0/id": 1, "": 2, "/a~1b": 3}
    assert ExpectSpec.of(within_ms=10**400).within_ms == 10**400


@pytest.mark.parametrize(
    ("keywords", "start"),
    [
        ({"status": range(100, 700)}, "status: got range range(100, 700)"),
        ({"status": range(0)}, "status: got range range(0, 0)"),
        ({"status": {200: "ok"}}, "status: got dict {200: 'ok'}"),
        ({"within_ms": float("nan")}, "within_ms: got float nan"),
        ({"within_ms": float("inf")}, "within_ms: got float inf"),
        ({"fields": {3: 1}}, "fields: key 3 is not a string"),
        ({"schema": b"s.json"}, "schema: got bytes b's.json'"),
    ],
)
def test_expect_spec_rejects_bad_python_values(keywords: dict[str, object], start: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        ExpectSpec.of(**keywords)  # type: ignore[arg-type]
    assert str(info.value).startswith(start)


def test_expect_keys_are_the_spec_fields() -> None:
    assert EXPECT_KEYS == ("status", "schema", "fields", "within_ms", "function_error")


@pytest.mark.property
@given(st.binary(max_size=200))
def test_load_expect_of_any_bytes_is_a_spec_or_a_configuration_error(scratch: Path, data: bytes) -> None:
    write(scratch, data)
    try:
        assert isinstance(load_expect(scratch), ExpectSpec)
    except ConfigurationError as exc:
        assert str(exc).startswith(f"expect file {scratch}")


@pytest.mark.property
@given(st.dictionaries(st.sampled_from([*EXPECT_KEYS, "statis", "x"]), json_values, max_size=5))
def test_load_expect_of_any_json_object_is_a_spec_or_a_configuration_error(scratch: Path, data: dict) -> None:
    write(scratch, json.dumps(data))
    try:
        spec = load_expect(scratch)
    except ConfigurationError as exc:
        assert str(exc).startswith(f"expect file {scratch}: ")
    else:
        assert set(spec.keywords()) == set(data)


valid_specs = st.fixed_dictionaries(
    {},
    optional={
        "status": st.integers(100, 599) | st.lists(st.integers(100, 599), min_size=1, max_size=3),
        "schema": st.dictionaries(st.text(max_size=5), json_values, max_size=3),
        "fields": st.dictionaries(st.from_regex(r"/[a-z]{1,5}(/[0-9])?", fullmatch=True), json_values, max_size=3),
        "within_ms": st.integers(1, 10**6) | st.floats(0.001, 1e6),
        "function_error": st.booleans() | st.from_regex(r"[A-Z][a-zA-Z]{0,10}", fullmatch=True),
    },
)


@pytest.mark.property
@given(valid_specs)
def test_a_valid_expect_file_round_trips(scratch: Path, data: dict) -> None:
    write(scratch, json.dumps(data))
    expected = dict(data)
    if isinstance(data.get("status"), list):
        expected["status"] = tuple(sorted(set(data["status"])))
    assert load_expect(scratch).keywords() == expected


# -- discover_events --------------------------------------------------------------------------


def test_discover_pairs_events_with_their_expectations_sorted_by_name() -> None:
    folder = FIXTURES / "events"
    assert discover_events(folder) == [
        ("create_order", folder / "create_order.json", folder / "create_order.expect.json"),
        ("get_order", folder / "get_order.json", None),
    ]


def test_discover_skips_dot_files_sub_folders_and_other_files(tmp_path: Path) -> None:
    for name in ["b.json", "a.json", ".a.json.swp", ".hidden.json", "notes.md", "a.expect.json"]:
        write(tmp_path / name, "{}")
    (tmp_path / "schemas.json").mkdir()
    assert discover_events(tmp_path) == [
        ("a", tmp_path / "a.json", tmp_path / "a.expect.json"),
        ("b", tmp_path / "b.json", None),
    ]


def test_an_expectation_without_its_event_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "create_order.json", "{}")
    write(tmp_path / "create_ordr.expect.json", "{}")
    with pytest.raises(ConfigurationError) as info:
        discover_events(tmp_path)
    assert str(info.value) == (
        f"events folder {tmp_path}: create_ordr.expect.json has no event file (create_ordr.json); "
        "rename it to match its event or remove it"
    )


def test_an_unlistable_folder_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(eventfiles.os, "scandir", denied)  # root may list any folder: simulate it
    with pytest.raises(ConfigurationError) as info:
        discover_events(tmp_path)
    assert str(info.value) == f"events folder {tmp_path}: cannot list it (Permission denied)"


def test_a_missing_or_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"^events folder .*nowhere does not exist or is not a folder"):
        discover_events(tmp_path / "nowhere")
    write(tmp_path / "readme.md", "")
    with pytest.raises(ConfigurationError) as info:
        discover_events(tmp_path)
    assert str(info.value) == (
        f"events folder {tmp_path} has no NAME.json event files; record at least one event there"
    )


def test_expect_files_with_the_same_bytes_are_read_once_per_folder(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        for name in ("a", "b"):
            write(folder / f"{name}.expect.json", '{"status": 200, "schema": "order.json"}')
    write(one / "c.expect.json", '{"status": 201, "schema": "order.json"}')

    a, b, c = (load_expect(one / f"{name}.expect.json") for name in ("a", "b", "c"))
    other = load_expect(two / "a.expect.json")

    assert a is b  # the same document in the same folder: parsed and checked once
    assert (c.status, c.schema) == (201, one / "order.json")
    assert other.schema == two / "order.json"  # a relative schema starts at each file's own folder
    write(one / "d.expect.json", '{"status": 200, "schema": "order.json", "status": 201}')
    with pytest.raises(ConfigurationError, match=r"^expect file .*d\.expect\.json: duplicate key 'status'"):
        load_expect(one / "d.expect.json")  # a broken file is never a cached one


def test_list_events_is_discover_events_without_paths(tmp_path: Path) -> None:
    for name in ["b.json", "a.json", "a.expect.json", ".c.json"]:
        write(tmp_path / name, "{}")
    assert eventfiles.list_events(tmp_path) == [("a", True), ("b", False)]
    assert [(name, expect is not None) for name, _, expect in discover_events(tmp_path)] == [("a", True), ("b", False)]


def test_a_file_read_in_one_call_is_the_whole_file(tmp_path: Path) -> None:
    data = json.dumps({"items": ["x" * 1000] * 100}).encode()
    assert event_payload(write(tmp_path / "big.json", data)) == data
    assert event_payload(write(tmp_path / "empty-ish.json", b"0")) == b"0"


def test_a_schema_an_expect_file_names_or_holds_is_checked_when_the_file_is_read(tmp_path: Path) -> None:
    """A broken schema in (or named by) an expect file is a broken recorded file: reported with the
    others before anything runs, naming the expect file, not found by the check that uses it."""
    from hookkit import HookRegistry
    from hookkit.checks.recorded import deferred_reading, read_events, recorded_events

    for name, expect in [("a", {"fields": {"/greeting": "hi"}}), ("b", {"schema": {"type": 12}}),
                         ("d", {"schema": "nonexistent.json"}), ("e", {"schema": "notschema.json"})]:
        (tmp_path / f"{name}.json").write_text('{"action": "x"}')
        (tmp_path / f"{name}.expect.json").write_text(json.dumps(expect))
    (tmp_path / "notschema.json").write_text('{"type": "object", "properties": 5}')
    with deferred_reading():
        checks = recorded_events(tmp_path, registry=HookRegistry())
    with pytest.raises(ConfigurationError) as info:
        read_events(checks)
    message = str(info.value)
    assert message.startswith("3 recorded event file(s) cannot be used"), message
    assert f"expect file {tmp_path / 'b.expect.json'}: inline schema is not a valid JSON Schema" in message
    assert f"expect file {tmp_path / 'd.expect.json'}: schema file {tmp_path / 'nonexistent.json'}" in message
    not_a_schema = tmp_path / "notschema.json"
    assert f"expect file {tmp_path / 'e.expect.json'}: schema file {not_a_schema} is not a valid" in message
    with pytest.raises(ConfigurationError, match=r"b\.expect\.json: inline schema is not a valid JSON Schema"):
        recorded_events(tmp_path, registry=HookRegistry())  # read at registration: the import fails


def test_a_schema_shared_by_many_expect_files_is_checked_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A replay of thousands of events shares a few schemas: each distinct one is checked once."""
    from hookkit import HookRegistry
    from hookkit.checks import expect
    from hookkit.checks.recorded import recorded_events

    (tmp_path / "order.json").write_text('{"type": "object"}')
    for i in range(30):
        (tmp_path / f"inline{i}.json").write_text("{}")
        (tmp_path / f"inline{i}.expect.json").write_text('{"schema": {"type": "object"}}')
        (tmp_path / f"file{i}.json").write_text("{}")
        (tmp_path / f"file{i}.expect.json").write_text(json.dumps({"schema": "order.json", "within_ms": 100 + i}))
    built = []
    real = expect._validator
    monkeypatch.setattr(expect, "_validator", lambda schema, base: built.append(schema) or real(schema, base))
    assert len(recorded_events(tmp_path, registry=HookRegistry())) == 61  # order.json is an event too
    assert sorted(map(str, built)) == sorted([str(tmp_path / "order.json"), "{'type': 'object'}"])
