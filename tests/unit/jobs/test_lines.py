"""An import file cut into lines from byte ranges of any size, and descriptions as one line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from unit.registrations.strategies import registrations

from shared.jobs.lines import Line, job_registration_id, one_line, take_lines
from shared.jobs.model import Cursor
from shared.model.registration import Registration, is_registration_id
from shared.registrations.atom import parse_xml
from shared.registrations.descriptions import description_xml, parse_description

MAX_LINE = 8
_texts = st.lists(st.binary(max_size=14).map(lambda b: b.replace(b"\n", b"x")), max_size=30)


def _expected(texts: list[bytes]) -> list[Line]:
    expected = []
    for number, text in enumerate(texts, 1):
        stripped = text.removesuffix(b"\r")
        if number == 1:
            stripped = stripped.removeprefix(b"\xef\xbb\xbf")
        if len(text) > MAX_LINE:
            expected.append(Line(number, b"", too_long=True))
        elif stripped.strip():
            expected.append(Line(number, stripped))
    return expected


def _read_all(data: bytes, read_size: int, max_lines: int) -> list[Line]:
    """What the steps of a job read, each from the cursor the one before it recorded."""
    cursor, lines = Cursor(), []
    while cursor.offset < len(data):
        chunk = data[cursor.offset : cursor.offset + read_size]
        more, after = take_lines(
            chunk,
            cursor,
            at_end=cursor.offset + len(chunk) >= len(data),
            max_lines=max_lines,
            max_line_bytes=MAX_LINE,
        )
        assert after.offset > cursor.offset or more, "a read made no progress"
        cursor, lines = after, lines + more
    return lines


@settings(max_examples=500)
@given(_texts, st.booleans(), st.integers(MAX_LINE + 1, 40), st.integers(1, 5))
def test_any_reads_give_every_line_once_with_its_number(
    texts: list[bytes], final_newline: bool, read_size: int, max_lines: int
) -> None:
    data = b"\n".join(texts) + (b"\n" if final_newline and texts else b"")
    if texts and not final_newline and texts[-1] == b"":
        texts = texts[:-1]  # "a\n" is one line, not two
    assert _read_all(data, read_size, max_lines) == _expected(texts)


def test_a_line_longer_than_the_limit_is_skipped_over_several_reads() -> None:
    data = b"ok\n" + b"x" * 50 + b"\nafter\n"
    assert _read_all(data, 10, 100) == [
        Line(1, b"ok"),
        Line(2, b"", too_long=True),
        Line(3, b"after"),
    ]


def test_a_byte_order_mark_and_windows_line_ends_are_dropped() -> None:
    data = b"\xef\xbb\xbf<a/>\r\n\r\n<b/>\r\n"
    assert _read_all(data, 64, 10) == [Line(1, b"<a/>"), Line(3, b"<b/>")]


def test_line_ids_are_nh_shaped_and_the_same_each_time() -> None:
    first = job_registration_id("job", 1)
    assert first == job_registration_id("job", 1)
    assert len({first, job_registration_id("job", 2), job_registration_id("other", 1)}) == 3
    high, low, one = first.split("-")
    assert one == "1"
    assert 0 <= int(high) < 2**63
    assert 0 <= int(low) < 2**63
    assert is_registration_id(first)


@settings(max_examples=300)
@given(registrations())
def test_a_description_takes_one_line_and_reads_back_as_written(
    registration: Registration,
) -> None:
    line = one_line(description_xml(registration, etag=None))
    assert "\n" not in line
    assert "\r" not in line
    read = parse_description(
        parse_xml(line.encode()), registration_id=registration.registration_id, max_tags=60
    )
    assert read == registration


def test_line_ends_inside_cdata_close_the_section_around_a_reference() -> None:
    assert one_line("<a><![CDATA[x\ny]]>\r</a>") == "<a><![CDATA[x]]>&#10;<![CDATA[y]]>&#13;</a>"
    assert parse_xml(one_line("<a><![CDATA[x\ny]]></a>").encode()).text == "x\ny"
