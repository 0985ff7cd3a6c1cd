"""Paging parameters a client sends back: anything that is not one Herald issued is a 400."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BadRequestError
from shared.registry.listing import decode_position, encode_position, parse_top
from shared.store.scan import ScanPosition


def token_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        token_of("[" * 5000),  # was a RecursionError: a 500
        token_of('{"s": ' + "1" * 5000 + ', "c": null}'),  # int() over 4,300 digits: a 500
        token_of('{"s": 0, "c": {"PartitionKey": "\\u20ac"}}'),  # goes back in a header
        token_of('{"s": 0, "c": {"PartitionKey": "a\\nb"}}'),
        token_of('{"s": -1, "c": null}'),
        "é",
        "not-a-token!",
    ],
)
def test_a_token_herald_did_not_issue_is_a_400(token: str) -> None:
    with pytest.raises(BadRequestError, match="continuationToken"):
        decode_position(token)


@given(st.text(max_size=200))
def test_any_token_is_a_position_or_a_400(token: str) -> None:
    with contextlib.suppress(BadRequestError):
        decode_position(token)


@given(
    st.integers(0, 1000),
    st.none() | st.fixed_dictionaries({"PartitionKey": st.text("abc~1", max_size=20)}),
)
def test_issued_tokens_read_back(shard: int, continuation: dict[str, str] | None) -> None:
    position = ScanPosition(shard, continuation)
    assert decode_position(encode_position(position)) == position


@pytest.mark.parametrize("top", ["0", "1001", "9" * 5000, "\u0661", "-1", "", " 5"])
def test_top_outside_1_to_1000_is_a_400(top: str) -> None:
    with pytest.raises(BadRequestError, match="top"):
        parse_top(top)
