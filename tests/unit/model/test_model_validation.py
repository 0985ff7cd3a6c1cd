"""Field validators accept exactly NH's character sets and raise nothing but BadRequestError."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit.model.strategies import TAG_ALPHABET, installation_ids, tags, user_ids

from shared.errors import BadRequestError
from shared.model.validation import (
    MAX_INSTALLATION_ID_LENGTH,
    MAX_TAG_LENGTH,
    validate_installation_id,
    validate_tag,
    validate_tags,
    validate_user_id,
)

_TAG = re.compile(r"[A-Za-z0-9_@#.:-]{1,120}")
_ID = re.compile(r"[A-Za-z0-9._-]{1,256}")
_ANY = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=TAG_ALPHABET + "$ {}/,=", max_size=130),
    st.none(),
    st.integers(),
    st.lists(st.text(max_size=3), max_size=2),
)


@settings(deadline=None)
@given(tags)
def test_every_tag_of_the_nh_charset_is_accepted(tag: str) -> None:
    assert validate_tag(tag) == tag


@settings(deadline=None)
@given(_ANY)
def test_tags_outside_the_charset_are_rejected_with_bad_request_only(value: object) -> None:
    valid = isinstance(value, str) and _TAG.fullmatch(value) is not None
    try:
        assert validate_tag(value) == value
        assert valid
    except BadRequestError:
        assert not valid


@settings(deadline=None)
@given(installation_ids)
def test_every_id_of_the_path_segment_charset_is_accepted(ident: str) -> None:
    assert validate_installation_id(ident) == ident


@settings(deadline=None)
@given(_ANY)
def test_ids_outside_the_charset_are_rejected_with_bad_request_only(value: object) -> None:
    valid = isinstance(value, str) and _ID.fullmatch(value) is not None
    try:
        assert validate_installation_id(value) == value
        assert valid
    except BadRequestError:
        assert not valid


@settings(deadline=None)
@given(user_ids)
def test_user_ids_allow_the_documented_characters(user_id: str) -> None:
    assert validate_user_id(user_id) == user_id


def test_boundaries() -> None:
    assert validate_tag("a" * MAX_TAG_LENGTH)
    assert validate_installation_id("a" * MAX_INSTALLATION_ID_LENGTH)
    for bad_tag in ("", "a" * (MAX_TAG_LENGTH + 1), "é", "a\n", "$UserId:{u}"):
        with pytest.raises(BadRequestError):
            validate_tag(bad_tag)
    assert validate_user_id(None) is None


def test_tag_lists_are_a_sorted_set() -> None:
    assert validate_tags(["b", "a", "b"]) == ("a", "b")
    assert validate_tags(None) == ()
