"""The NH template language: documented examples, escaping per body format, truncation."""

from __future__ import annotations

import contextlib
import json
import re
import tracemalloc
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BadRequestError
from shared.templates import Properties, TemplateFormat, compile_template, xml_escape

JSON = TemplateFormat.JSON
XML = TemplateFormat.XML
TEXT = TemplateFormat.TEXT

TOAST = (
    '<toast><visual><binding template="ToastText01">'
    '<text id="1">$(message)</text>'
    "</binding></visual></toast>"
)

# Arbitrary text plus the characters that break naive escaping, and lone surrogates.
awkward_text = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.characters(categories=["Cs"]),
        st.sampled_from(['"', "\\", "'", "<", ">", "&", "/", "\x00", "\x1f", "\u2028", "\ufffe"]),
    ),
)


def _expected(value: str) -> str:
    """What a value looks like after rendering: lone surrogates become U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)


def _xml_expected(value: str) -> str:
    forbidden = {*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF}
    return "".join("\ufffd" if ord(ch) in forbidden else ch for ch in _expected(value))


# --- the documented examples -------------------------------------------------------------


def test_apns_example_substitutes_message() -> None:
    template = compile_template('{"aps": {"alert": "$(message)"}}', JSON)

    assert json.loads(template.render({"message": "Hello!"})) == {"aps": {"alert": "Hello!"}}


def test_wns_toast_example_substitutes_message() -> None:
    rendered = compile_template(TOAST, XML).render({"message": "Hello!"})

    assert ET.fromstring(rendered).find("./visual/binding/text").text == "Hello!"  # type: ignore[union-attr]


def test_concatenation_example() -> None:
    template = compile_template(
        '{"aps": {"alert": "{\'Breaking News: \' + $(News_English)}"}}', JSON
    )

    rendered = template.render({"News_English": "Rain"})

    assert json.loads(rendered)["aps"]["alert"] == "Breaking News: Rain"


def test_concatenation_with_double_quoted_literal_and_several_terms() -> None:
    template = compile_template('{"a": "{$(prop) + \\" - \\" + $(prop2)}"}', JSON)

    assert json.loads(template.render({"prop": "x", "prop2": "y"})) == {"a": "x - y"}


def test_ellipsis_example_from_docs() -> None:
    template = compile_template('{"title": ".(title, 20)"}', JSON)

    rendered = template.render({"title": "This is the title line"})

    assert json.loads(rendered) == {"title": "This is the title..."}


def test_badge_number_example_from_docs() -> None:
    template = compile_template('{"aps": {"badge": "#(name)"}}', JSON)

    assert template.render({"name": "40"}) == '{"aps": {"badge": 40}}'


def test_number_term_falls_back_to_string_when_not_a_number() -> None:
    template = compile_template('{"badge": "#(n)", "inline": "n=#(n)", "braced": "{#(n)}"}', JSON)

    assert json.loads(template.render({"n": "-4"})) == {
        "badge": "-4",
        "inline": "n=-4",
        "braced": "-4",
    }
    assert json.loads(template.render({"n": "4"}))["braced"] == "4"
    assert json.loads(template.render({})) == {"badge": "", "inline": "n=", "braced": ""}


def test_property_names_are_case_insensitive() -> None:
    template = compile_template('{"a": "$(Message)"}', JSON)

    assert json.loads(template.render({"mEsSaGe": "hi"})) == {"a": "hi"}
    assert json.loads(template.render(Properties({"MESSAGE": "hi"}))) == {"a": "hi"}


def test_missing_property_renders_empty() -> None:
    template = compile_template('{"a": "$(nothing)", "b": "x$(nothing)y"}', JSON)

    assert json.loads(template.render({})) == {"a": "", "b": "xy"}


def test_inline_terms_mix_with_literal_text() -> None:
    template = compile_template('{"a": "Hi $(first) $(last, 1)., 50%% off"}', JSON)

    assert json.loads(template.render({"first": "Ada", "last": "Lovelace"})) == {
        "a": "Hi Ada L., 50%% off"
    }


def test_keys_numbers_and_plain_strings_are_kept_verbatim() -> None:
    body = '{ "$(k)" : [1, 2.50, true, null, "plain \\u00e9"], "v": "$(v)" }'

    rendered = compile_template(body, JSON).render({"k": "K", "v": "V"})

    assert rendered == '{ "$(k)" : [1, 2.50, true, null, "plain \\u00e9"], "v": "V" }'


def test_url_encoding_term() -> None:
    template = compile_template('{"url": "https://x.test/?q=%(q)"}', JSON)

    rendered = json.loads(template.render({"q": "a b&c/é~"}))["url"]

    assert rendered == "https://x.test/?q=a%20b%26c%2F%C3%A9~"


def test_xml_attribute_and_text_slots_with_comments_and_cdata_kept() -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<toast launch='$(launch)'><!-- $(c) --><visual><binding template=\"ToastText02\">"
        '<text id="1">&lt;$(a)&gt;</text><text id="2"><![CDATA[$(b)]]></text>'
        "</binding></visual></toast>"
    )

    root = ET.fromstring(compile_template(body, XML).render({"launch": "p='1'", "a": "&"}))

    assert root.get("launch") == "p='1'"
    assert [t.text for t in root.iter("text")] == ["<&>", "$(b)"]


def test_concatenation_in_indented_xml_text_keeps_the_indentation() -> None:
    body = "<toast><text>\n  {'Hi ' + $(name)}\n</text></toast>"

    rendered = compile_template(body, XML).render({"name": "Ada"})

    assert ET.fromstring(rendered).findtext("text") == "\n  Hi Ada\n"


def test_text_format_is_not_escaped() -> None:
    template = compile_template("{'id=' + $(id)}", TEXT)

    assert template.render({"id": '<"&>'}) == 'id=<"&>'


def test_template_without_expressions_renders_unchanged() -> None:
    body = '{"aps":{"alert":"static"}}'

    assert compile_template(body, JSON).render({"x": "y"}) == body


# --- invalid templates -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "format"),
    [
        ('{"a": "$(x"}', JSON),
        ('{"a": "{$(x) $(y)}"}', JSON),
        ('{"a": "{$(x) +}"}', JSON),
        ('{"a": "{}"}', JSON),
        ('{"a": ".(x)"}', JSON),
        ('{"a": "%(x, 3)"}', JSON),
        ('{"a": "#(x, 3)"}', JSON),
        ('{"a": "$( , 3)"}', JSON),
        ('{"a": "$(x, 99999999999)"}', JSON),
        ('{"a": NaN}', JSON),
        ('{"a": "$(x)"', JSON),
        ("[" * 100_000, JSON),
        ("<toast>$(x</toast>", XML),
        ("<toast><text>$(x)</toast>", XML),
        ('<!DOCTYPE t [<!ENTITY e "x">]><t>&e;</t>', XML),
        ("$(x", TEXT),
    ],
)
def test_invalid_templates_are_bad_requests(body: str, format: TemplateFormat) -> None:
    with pytest.raises(BadRequestError):
        compile_template(body, format)


def test_expression_error_names_what_was_expected() -> None:
    with pytest.raises(BadRequestError, match=r"expected '\+' or '}' at position 6"):
        compile_template('{"a": "{$(x) $(y)}"}', JSON)


@given(st.text(), st.sampled_from(list(TemplateFormat)))
def test_compile_raises_only_bad_request_on_arbitrary_text(
    body: str, format: TemplateFormat
) -> None:
    with contextlib.suppress(BadRequestError):
        compile_template(body, format)


@given(st.text(alphabet="<>/a='\"$(){}+,1 &;#.%!-[]?"))
def test_compile_xml_raises_only_bad_request_on_markup_soup(body: str) -> None:
    try:
        template = compile_template(body, XML)
    except BadRequestError:
        return
    ET.fromstring(template.render({"a": "<&'\">"}))


# --- escaping under arbitrary values -----------------------------------------------------


@given(awkward_text, awkward_text)
def test_json_output_is_valid_json_for_any_values(first: str, second: str) -> None:
    template = compile_template(
        '{"aps": {"alert": "$(a)", "n": "#(a)", "s": "{$(a) + \' & \' + $(b)}"}, "x": [".(b, 9)"]}',
        JSON,
    )

    rendered = template.render({"a": first, "b": second})

    document = json.loads(rendered.encode("utf-8"))
    assert document["aps"]["alert"] == _expected(first)
    assert document["aps"]["s"] == _expected(first) + " & " + _expected(second)


@given(awkward_text, awkward_text)
def test_xml_output_parses_for_any_values(text: str, attribute: str) -> None:
    template = compile_template('<toast launch="$(b)"><text>$(a)</text></toast>', XML)

    rendered = template.render({"a": text, "b": attribute})

    root = ET.fromstring(rendered.encode("utf-8"))
    assert (root.findtext("text") or "") == _xml_expected(text)
    assert root.get("launch") == _xml_expected(attribute)


@given(awkward_text)
def test_xml_escape_round_trips_through_a_parser(value: str) -> None:
    root = ET.fromstring(f"<t a='{xml_escape(value)}'>{xml_escape(value)}</t>")

    assert (root.text or "") == root.get("a") == _xml_expected(value)


@given(awkward_text)
def test_url_term_decodes_back_to_the_value(value: str) -> None:
    template = compile_template("%(v)", TEXT)

    rendered = template.render({"v": value})

    assert rendered.isascii()
    assert unquote(rendered) == _expected(value)


NH_NUMBER = r"(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"


@given(st.from_regex(NH_NUMBER, fullmatch=True))
def test_number_term_emits_bare_json_numbers(text: str) -> None:
    template = compile_template('{"badge": "#(n)"}', JSON)

    rendered = template.render({"n": text})

    assert rendered == f'{{"badge": {text}}}'
    assert json.loads(rendered)["badge"] == json.loads(text)


@given(awkward_text.filter(lambda v: re.fullmatch(NH_NUMBER, v) is None))
def test_number_term_quotes_anything_else(value: str) -> None:
    template = compile_template('{"badge": "#(n)"}', JSON)

    assert json.loads(template.render({"n": value}))["badge"] == _expected(value)


# --- truncation --------------------------------------------------------------------------


@given(awkward_text, st.integers(min_value=0, max_value=40))
def test_clip_keeps_the_first_n_characters(value: str, n: int) -> None:
    rendered = compile_template(f"$(v, {n})", TEXT).render({"v": value})

    assert rendered == _expected(value)[:n]


@given(awkward_text, st.integers(min_value=0, max_value=40))
def test_ellipsis_total_never_exceeds_n(value: str, n: int) -> None:
    rendered = compile_template(f".(v,{n})", TEXT).render({"v": value})
    clean = _expected(value)

    assert len(rendered) <= n
    if len(clean) <= n:
        assert rendered == clean
    elif n >= 3:
        assert rendered == clean[: n - 3] + "..."
    else:
        assert rendered == "." * n


def test_compiled_templates_are_reused() -> None:
    assert compile_template(TOAST, XML) is compile_template(TOAST, XML)


# --- rendering within a limit ------------------------------------------------------------

NAMES = ("a", "b", "c")
_term = st.one_of(
    st.builds("$({})".format, st.sampled_from(NAMES)),
    st.builds("$({}, {})".format, st.sampled_from(NAMES), st.integers(0, 30)),
    st.builds(".({}, {})".format, st.sampled_from(NAMES), st.integers(0, 30)),
    st.builds("%({})".format, st.sampled_from(NAMES)),
    st.builds("#({})".format, st.sampled_from(NAMES)),
)
_plain = st.text(alphabet="xyz &<'\"\\é", max_size=6)
_inline = st.lists(st.one_of(_term, _plain), max_size=6).map("".join)
_concatenation = st.lists(
    st.one_of(_term, st.text(alphabet="xy &<é", max_size=4).map("'{}'".format)),
    min_size=1,
    max_size=5,
).map(lambda pieces: "{" + " + ".join(pieces) + "}")
_value = st.one_of(_inline, _concatenation)


@st.composite
def templates(draw: st.DrawFn) -> tuple[str, TemplateFormat]:
    """A body of each format with expressions in every place they may stand."""
    format = draw(st.sampled_from(list(TemplateFormat)))
    values = draw(st.lists(_value, min_size=1, max_size=4))
    if format is TemplateFormat.JSON:
        members = [f'"k{n}": {json.dumps(v)}' for n, v in enumerate(values)]
        return "{" + ", ".join(members) + ', "n": "#(a)"}', format
    if format is TemplateFormat.XML:
        attribute, *texts = values
        body = "".join(f"<t>{xml_escape(text)}</t>" for text in texts)
        return f'<r a="{xml_escape(attribute)}">{body}</r>', format
    return values[0], format


property_values = st.dictionaries(
    st.sampled_from([*NAMES, "A", "B"]), st.one_of(awkward_text, st.from_regex(r"[0-9]{1,4}"))
)


@given(templates(), property_values, st.integers(min_value=-1, max_value=400))
def test_a_render_within_a_limit_is_the_render_or_none_past_it(
    body: tuple[str, TemplateFormat], values: dict[str, str], limit: int
) -> None:
    template = compile_template(*body)

    whole = template.render(values)
    within = template.render_within(values, limit)

    assert within == (whole if len(whole) <= limit else None)


def test_a_render_past_its_limit_stops_there() -> None:
    # Rendered whole, 2,000 terms of a 100,000-character value would take 200 MB.
    template = compile_template('{"a": "' + "$(a)" * 2000 + '"}', JSON)
    properties = Properties({"a": "x" * 100_000})

    tracemalloc.start()
    try:
        assert template.render_within(properties, 4096) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 1_000_000


def test_properties_over_defaults_win_whatever_the_case() -> None:
    sent = Properties({"Name": "Bob", "msg": "hi"})

    merged = sent.over({"name": "Ada", "NAME": "Eve", "extra": "x"})

    assert dict(merged) == {"name": "Bob", "msg": "hi", "extra": "x"}
