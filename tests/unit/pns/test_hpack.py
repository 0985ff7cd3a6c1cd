"""Herald's HPACK decoder reads what a standard encoder writes, and refuses what breaks RFC 7541
the way a standard decoder does, with HeaderDecodingError only."""

from __future__ import annotations

import pytest
from hpack import Decoder, Encoder, HPACKError
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hpack.huffman_table import decode_huffman
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.pns._hpack import HeaderDecoder, HeaderDecodingError, huffman_decode

_huffman = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)
# Names a server answers with (static-table ones, one it indexes, odd ones) and any values.
_names = st.sampled_from(
    [b":status", b"content-type", b"apns-id", b"retry-after", b"x-\xff", b"", b"www-authenticate"]
)
_fields = st.lists(st.tuples(_names, st.binary(max_size=200)), min_size=1, max_size=10)


@settings(max_examples=300, deadline=None)
@given(
    blocks=st.lists(
        st.tuples(_fields, st.booleans(), st.sampled_from([None, 0, 64, 256, 4096])),
        min_size=1,
        max_size=30,
    )
)
def test_every_block_a_standard_encoder_writes_decodes_to_its_fields(
    blocks: list[tuple[list[tuple[bytes, bytes]], bool, int | None]],
) -> None:
    """Huffman or not, indexed, evicted, and the table resized between blocks: the two tables
    never drift apart."""
    encoder, decoder = Encoder(), HeaderDecoder()
    for fields, huffman, size in blocks:
        if size is not None:
            encoder.header_table_size = size
        assert decoder.decode(encoder.encode(fields, huffman=huffman)) == fields


@given(text=st.binary(max_size=300))
def test_huffman_text_decodes_to_itself(text: bytes) -> None:
    assert huffman_decode(_huffman.encode(text)) == text


@given(data=st.binary(max_size=64))
def test_any_huffman_bytes_decode_as_hpack_decodes_them_or_are_refused(data: bytes) -> None:
    try:
        expected: bytes | None = decode_huffman(data)
    except HPACKError:
        expected = None
    if expected is None:
        with pytest.raises(HeaderDecodingError):
            huffman_decode(data)
    else:
        assert huffman_decode(data) == expected


@settings(max_examples=500)
@given(
    prefix=st.lists(_fields, max_size=3),
    wire=st.binary(max_size=200),
)
def test_any_bytes_decode_as_hpack_decodes_them_or_are_refused(
    prefix: list[list[tuple[bytes, bytes]]], wire: bytes
) -> None:
    """After the same earlier blocks (so the dynamic tables hold the same entries)."""
    encoder, theirs, mine = Encoder(), Decoder(max_header_list_size=1 << 16), HeaderDecoder()
    for fields in prefix:
        block = encoder.encode(fields)
        theirs.decode(block, raw=True)
        mine.decode(block)
    try:
        expected = [tuple(field) for field in theirs.decode(wire, raw=True)]
    except HPACKError:
        with pytest.raises(HeaderDecodingError):
            mine.decode(wire)
    else:
        assert mine.decode(wire) == expected


@pytest.mark.parametrize(
    ("block", "why"),
    [
        (b"\x80", "index 0"),
        (b"\xbe", "index 62 with an empty dynamic table"),
        (b"\xff\xff\xff\xff\xff\xff\xff", "an integer that never ends"),
        (b"\x3f\xe2\x1f", "a table size of 4097"),
        (b"\x82\x20", "a size update after a field"),
        (b"\x40\x05ab", "a name cut short"),
        (b"\x00\x01a\x85\xff", "a Huffman value cut short"),
    ],
)
def test_broken_blocks_are_refused(block: bytes, why: str) -> None:
    with pytest.raises(HeaderDecodingError):
        HeaderDecoder().decode(block)


def test_a_long_header_list_is_refused() -> None:
    block = Encoder().encode([(b"x-big", b"v" * 300)] * 3, huffman=False)
    listed = 3 * (5 + 300 + 32)  # each field and its 32 bytes of overhead (RFC 7541, 4.1)
    assert len(HeaderDecoder(max_list_size=listed).decode(block)) == 3
    with pytest.raises(HeaderDecodingError, match="header list"):
        HeaderDecoder(max_list_size=listed - 1).decode(block)
