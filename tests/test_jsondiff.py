from __future__ import annotations

import copy
import json
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookkit.checks.jsondiff import MISSING, diff, lookup, split_pointer, to_pointer
from hookkit.core.errors import ConfigurationError, Difference

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


def test_equal_values_have_no_differences() -> None:
    value = {"id": "ORD-1", "items": [{"sku": "A", "qty": 2}], "paid": True, "note": None}
    assert diff(value, copy.deepcopy(value)) == []


def test_a_changed_leaf_is_reported_at_its_pointer() -> None:
    expected = {"order": {"items": [{"price": 10}, {"price": 20}]}}
    actual = {"order": {"items": [{"price": 10}, {"price": 25}]}}
    assert diff(expected, actual) == [Difference("/order/items/1/price", 20, 25)]


def test_missing_and_extra_keys_use_the_missing_sentinel_in_key_order() -> None:
    expected = {"b": 1, "a": 1, "c": 1}
    actual = {"d": 4, "c": 1, "a": 2}
    assert diff(expected, actual) == [
        Difference("/a", 1, 2),
        Difference("/b", 1, MISSING),
        Difference("/d", MISSING, 4),
    ]


def test_shorter_and_longer_arrays_report_each_item_by_index() -> None:
    assert diff([1, 2, 3], [1]) == [Difference("/1", 2, MISSING), Difference("/2", 3, MISSING)]
    assert diff([1], [1, {"x": 1}]) == [Difference("/1", MISSING, {"x": 1})]


def test_comparison_follows_json_types_not_python_equality() -> None:
    assert diff({"ok": True}, {"ok": 1}) == [Difference("/ok", True, 1)]
    assert diff({"n": 0}, {"n": False}) == [Difference("/n", 0, False)]
    assert diff({"n": None}, {"n": 0}) == [Difference("/n", None, 0)]
    assert diff({"n": 1}, {"n": 1.0}) == []
    assert diff({"v": [1]}, {"v": {"0": 1}}) == [Difference("/v", [1], {"0": 1})]
    assert diff({"v": "1"}, {"v": 1}) == [Difference("/v", "1", 1)]


def test_tuples_compare_as_arrays_and_nan_equals_nan() -> None:
    assert diff({"v": (1, 2)}, {"v": [1, 2]}) == []
    assert diff([float("nan")], [float("nan")]) == []


def test_whole_document_difference_has_the_empty_pointer() -> None:
    assert diff({"a": 1}, [1]) == [Difference("", {"a": 1}, [1])]
    assert diff("x", "y") == [Difference("", "x", "y")]


def test_keys_with_slash_and_tilde_are_escaped() -> None:
    assert diff({"a/b": 1, "m~n": 1}, {"a/b": 2, "m~n": 2}) == [
        Difference("/a~1b", 1, 2),
        Difference("/m~0n", 1, 2),
    ]


def test_non_string_keys_compare_as_their_json_names() -> None:
    assert diff({1: "a"}, {"1": "a"}) == []
    assert diff({1: "a"}, {"1": "b"}) == [Difference("/1", "a", "b")]


def test_ignore_skips_a_path_and_everything_under_it() -> None:
    expected = {"id": 1, "meta": {"requestId": "r1", "at": "t1"}, "name": "x"}
    actual = {"id": 1, "meta": {"requestId": "r2"}, "name": "y"}
    assert diff(expected, actual, ignore=["/meta"]) == [Difference("/name", "x", "y")]


def test_ignore_wildcard_matches_any_index_or_key() -> None:
    expected = {"items": [{"sku": "A", "createdAt": "1"}, {"sku": "B", "createdAt": "2"}]}
    actual = {"items": [{"sku": "A", "createdAt": "3"}, {"sku": "C", "createdAt": "4"}]}
    assert diff(expected, actual, ignore=["/items/*/createdAt"]) == [Difference("/items/1/sku", "B", "C")]
    assert diff({"a": {"t": 1}, "b": {"t": 2}}, {"a": {"t": 3}, "b": {"t": 4}}, ignore=["/*/t"]) == []


def test_ignore_covers_missing_keys_and_the_root() -> None:
    assert diff({"a": 1, "gone": 2}, {"a": 1}, ignore=["/gone"]) == []
    assert diff({"a": 1}, [2], ignore=[""]) == []


def test_a_single_string_ignore_is_one_pointer() -> None:
    assert diff({"a": 1, "b": 1}, {"a": 2, "b": 2}, ignore="/a") == [Difference("/b", 1, 2)]


def test_ignore_escapes_are_honoured() -> None:
    assert diff({"a/b": 1, "c": 1}, {"a/b": 2, "c": 2}, ignore=["/a~1b"]) == [Difference("/c", 1, 2)]


@pytest.mark.parametrize(
    ("pointer", "message"),
    [
        ("items/0", "ignore 'items/0' is not a JSON pointer: it must start with '/'"),
        ("/a~2b", "ignore '/a~2b': '~' must be escaped as '~0'"),
        ("/a~", "ignore '/a~': '~' must be escaped as '~0'"),
    ],
)
def test_a_bad_ignore_pointer_is_a_configuration_error(pointer: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        diff({}, {}, ignore=[pointer])
    assert str(info.value).startswith(message)


def test_an_ignore_that_is_not_a_string_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"^ignore 3 is not a string"):
        diff({}, {}, ignore=[3])  # type: ignore[list-item]


def test_order_is_deterministic_whatever_the_insertion_order() -> None:
    one = diff({"z": 1, "a": 1, "m": [1, 2]}, {"a": 2, "z": 2, "m": [3]})
    two = diff({"m": [1, 2], "a": 1, "z": 1}, {"m": [3], "z": 2, "a": 2})
    assert one == two == [
        Difference("/a", 1, 2),
        Difference("/m/0", 1, 3),
        Difference("/m/1", 2, MISSING),
        Difference("/z", 1, 2),
    ]


def test_missing_renders_as_missing_and_survives_copies_and_pickles() -> None:
    assert repr(MISSING) == "<missing>"
    assert str(Difference("/id", "A-1", MISSING)) == "/id: expected 'A-1', got <missing>"
    assert copy.deepcopy(MISSING) is MISSING
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING


def test_pointer_helpers() -> None:
    assert to_pointer(["items", 0, "a/b", "m~n"]) == "/items/0/a~1b/m~0n"
    assert split_pointer("/items/0/a~1b/m~0n") == ["items", "0", "a/b", "m~n"]
    assert split_pointer("/~01") == ["~1"]
    assert split_pointer("") == []
    assert split_pointer("/") == [""]


def test_lookup_follows_rfc6901_array_indexes() -> None:
    doc = {"items": [{"id": "a"}, {"id": "b"}], "": "empty-key"}
    assert lookup(doc, ["items", "1", "id"]) == "b"
    assert lookup(doc, [""]) == "empty-key"
    assert lookup(doc, []) is doc
    assert lookup(doc, ["items", "01"]) is MISSING
    assert lookup(doc, ["items", "-"]) is MISSING
    assert lookup(doc, ["items", "2"]) is MISSING
    assert lookup(doc, ["items", "0", "id", "x"]) is MISSING
    assert lookup(doc, ["nope"]) is MISSING


@pytest.mark.property
@given(json_values)
def test_a_value_has_no_differences_with_its_json_round_trip(value: object) -> None:
    assert diff(value, value) == []
    assert diff(value, json.loads(json.dumps(value))) == []


@pytest.mark.property
@given(json_values, json_values)
def test_every_difference_points_at_both_values(expected: object, actual: object) -> None:
    for found in diff(expected, actual):
        segments = split_pointer(found.path)
        assert lookup(expected, segments) == found.expected or lookup(expected, segments) is found.expected
        assert lookup(actual, segments) == found.actual or lookup(actual, segments) is found.actual


@pytest.mark.property
@given(json_values, json_values)
def test_swapping_sides_swaps_each_difference(expected: object, actual: object) -> None:
    forward = [(d.path, d.expected, d.actual) for d in diff(expected, actual)]
    backward = [(d.path, d.actual, d.expected) for d in diff(actual, expected)]
    assert forward == backward


@pytest.mark.property
@given(json_values, json_values)
def test_ignoring_every_reported_path_leaves_nothing(expected: object, actual: object) -> None:
    found = diff(expected, actual)
    assert diff(expected, actual, ignore=[d.path for d in found]) == []
    assert diff(expected, actual, ignore=[""]) == []
    assert diff(expected, actual) == found


@pytest.mark.property
@given(st.lists(st.text(max_size=6), max_size=5))
def test_pointers_round_trip_any_segments(segments: list[str]) -> None:
    assert split_pointer(to_pointer(segments)) == segments
