"""The one strict parser for JSON request bodies: a value that can be stored, or a 400."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BadRequestError
from shared.request_json import MAX_DEPTH, parse_request_json


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"tags": ' + b"1" * 5000 + b"}", "5000 digits"),  # was int()'s ValueError: a 500
        (b'{"tags": -' + b"1" * 5000 + b"}", "digits"),
        (b'{"tags": 1e999}', "out of range"),
        (b'{"tags": -1e999}', "out of range"),
        (b'{"tags": NaN}', "NaN"),
        (b'{"tags": Infinity}', "Infinity"),
        (b'{"a": "\\ud800"}', "surrogate"),
        (b'{"\\udfff": "a"}', "surrogate"),
        (b'["\\ud83d\\ude00", "\\ude00"]', "surrogate"),
        (nested(MAX_DEPTH + 1), f"more than {MAX_DEPTH} levels"),
        (b"[" * 100_000, f"more than {MAX_DEPTH} levels"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_what_python_takes_but_a_request_must_not_is_a_400(body: bytes, words: str) -> None:
    with pytest.raises(BadRequestError, match=words):
        parse_request_json(body, "The request body")


def test_whole_unicode_numbers_and_depth_up_to_the_limit_are_taken() -> None:
    limit = sys.get_int_max_str_digits()
    body = b'{"a": ["\\ud83d\\ude00", 1.5e300, ' + b"9" * limit + b"]}"
    assert parse_request_json(body, "x") == {"a": ["\U0001f600", 1.5e300, int("9" * limit)]}
    assert parse_request_json(nested(MAX_DEPTH), "x") is not None


def test_numbers_as_text_keep_what_was_written() -> None:
    body = b'{"a": 1e999, "b": ' + b"7" * 5000 + b', "c": -0.50}'
    assert parse_request_json(body, "x", numbers_as_text=True) == {
        "a": "1e999",
        "b": "7" * 5000,
        "c": "-0.50",
    }


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=20,
)


@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_body_parses_to_a_storable_value_or_is_a_400(body: bytes) -> None:
    """Whatever comes back can be written as UTF-8 JSON again, as storage will write it."""
    try:
        value = parse_request_json(body, "The request body")
    except BadRequestError:
        return
    json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
