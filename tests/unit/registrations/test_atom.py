"""The Atom reader refuses what could hurt (DTDs, entities, depth) with a 400, never a 500."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BadRequestError
from shared.registrations.atom import MAX_DEPTH, cdata, entry_content, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<entry><content>&lol2;</content></entry>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><entry><content>&x;</content></entry>"""


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (BILLION_LAUGHS, "document type declaration"),
        (EXTERNAL, "document type declaration"),
        (b"<!DOCTYPE entry><entry/>", "document type declaration"),
        (b"<entry><content>&undefined;</content></entry>", "not well-formed"),
        (b"<entry><content>", "not well-formed"),
        (b"", "not well-formed"),
        (b"\xff\xfe<entry/>", "not well-formed"),
        (b"<entry>" * (MAX_DEPTH + 2), "nested too deeply"),
        (b"<feed/>", "must be an Atom entry"),
        (b"<entry/>", "one content element"),
        (b"<entry><content/></entry>", "one registration description"),
        (b"<entry><content><a/><b/></content></entry>", "one registration description"),
    ],
)
def test_unsafe_or_malformed_bodies_are_a_400(body: bytes, says: str) -> None:
    with pytest.raises(BadRequestError, match=says):
        entry_content(body)


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_a_400(body: bytes) -> None:
    with contextlib.suppress(BadRequestError):
        parse_xml(body)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=50))
def test_cdata_carries_any_text_xml_can(text: str) -> None:
    root = parse_xml(f"<a>{cdata(text)}</a>".encode())
    carried = text.replace("\r\n", "\n").replace("\r", "\n")
    expected = "".join(
        c
        if c in "\t\n" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff"
        else "\ufffd"
        for c in carried
    )
    assert root.text == expected
