"""The NH template language: compile a template body once, render it cheaply per device.

Expressions (property names are case-insensitive; a missing property renders as ``""``):

- ``$(prop)``: the value; ``$(prop, n)``: its first n characters.
- ``.(prop, n)``: at most n characters; a longer value is cut to n - 3 and gets ``...``
  (``n < 3`` keeps only ``n`` dots).
- ``%(prop)``: the value percent-encoded as UTF-8 (RFC 3986 unreserved characters kept).
- ``#(prop)``: in a JSON template, when it is the whole string value and the value is a number
  by NH's rule (``(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?``), a bare JSON number; otherwise
  the same as ``$(prop)``.
- ``{term + 'literal' + "literal" + ...}``: concatenation; it must be the whole value.

Where expressions go: JSON string values (not keys), XML text and attribute values, or the
whole text for :attr:`TemplateFormat.TEXT` (``wns/raw`` bodies, header values, APNs expiry).
A value that is ``{...}`` (whitespace around it kept as is) is a concatenation; any other value
may mix literal text with the single-term forms, e.g. ``"Hi $(name)!"``. XML comments, CDATA
sections and processing instructions are copied verbatim, expressions in them untouched.
Property names differing only in case collide; the last one given wins.

Rendered values are escaped for their place: JSON string escaping, XML character references
(characters XML 1.0 forbids become U+FFFD), nothing for TEXT. Lone surrogates in values become
U+FFFD so the output always encodes as UTF-8. Lengths count code points. Invalid templates raise
BadRequestError from :func:`compile_template`, so registration can reject them.

A render can be given a limit (:meth:`Template.render_within`): it stops as soon as the output
is certain to pass it, so its cost follows the limit, not the template times the properties.
Each render step is handed the room left and may stop once its text passes it; escaping and
UTF-8 never shorten text, so a part longer than the room means the whole is too.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from json.encoder import encode_basestring
from typing import NoReturn
from urllib.parse import quote

from shared.errors import BadRequestError

_Values = dict[str, str]
# Renders a part from the values and the room left (characters); past the room, it may stop
# and answer any text longer than the room.
_Render = Callable[[_Values, int], str]

_TERM = re.compile(r"([$.%#])\(\s*([^\s,()]+)\s*(?:,\s*([0-9]{1,9})\s*)?\)")
_TERM_START = re.compile(r"[$.%#]\(")
_LITERAL = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_PLUS = re.compile(r"\s*\+\s*")
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-")
_URL_ASCII = {code: f"%{code:02X}" for code in range(128) if chr(code) not in _URL_SAFE}
_NUMBER = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SURROGATE = re.compile("[\ud800-\udfff]")
_EXPECTED_TERM = "'$(name)', '$(name, n)', '.(name, n)', '%(name)' or '#(name)'"
_CACHE_SIZE = 512  # bodies are at most 64 KB: this bounds the memoised total
_NO_LIMIT = sys.maxsize


class TemplateFormat(StrEnum):
    JSON = "json"  # APNs, FCM, ADM, Web Push
    XML = "xml"  # WNS toast, tile and badge
    TEXT = "text"  # wns/raw, header values, APNs expiry: no escaping


class Properties(Mapping[str, str]):
    """A send's properties with case-insensitive names: build once per send, render many times."""

    __slots__ = ("_values",)

    def __init__(self, props: Mapping[str, str]) -> None:
        self._values = {name.lower(): _clean(v) for name, v in props.items()}

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def over(self, defaults: Mapping[str, str]) -> Properties:
        """These properties over ``defaults`` (a device's push variables), names in any case;
        only the defaults are folded again, so a send's large values cost nothing per device."""
        merged = Properties(defaults)
        merged._values.update(self._values)
        return merged


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled template: constant text around render slots."""

    format: TemplateFormat
    _head: str = field(repr=False)
    _slots: tuple[tuple[_Render, str], ...] = field(repr=False)

    def render(self, props: Mapping[str, str]) -> str:
        """Render for one device; pass a :class:`Properties` to skip re-folding names."""
        text = self._render(props, _NO_LIMIT)
        assert text is not None
        return text

    def render_within(self, props: Mapping[str, str], limit: int) -> str | None:
        """As :meth:`render`, or None when the text would be longer than ``limit`` characters;
        it stops as soon as that is certain."""
        return self._render(props, limit)

    def _render(self, props: Mapping[str, str], room: int) -> str | None:
        values = (props if isinstance(props, Properties) else Properties(props))._values
        out = [self._head]
        room -= len(self._head)
        for slot, tail in self._slots:
            if room < 0:
                return None
            text = slot(values, room)
            out.append(text)
            out.append(tail)
            room -= len(text) + len(tail)
        return "".join(out) if room >= 0 else None


def count_expressions(text: str) -> int:
    """At most how many expressions ``text`` holds: each ``$(``, ``.(``, ``%(`` and ``#(``,
    wherever it stands (in a JSON key or an XML comment too)."""
    return len(_TERM_START.findall(text))


def compile_template(body: str, format: TemplateFormat) -> Template:
    """Compile (memoised: templates repeat across devices) or raise BadRequestError."""
    return _compile_cached(body, format)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile_cached(body: str, format: TemplateFormat) -> Template:
    body = _clean(body)
    builder = _Builder()
    if format is TemplateFormat.JSON:
        _compile_json(body, builder)
    elif format is TemplateFormat.XML:
        _compile_xml(body, builder)
    else:
        builder.value(body, body, _identity)
    return builder.build(format)


class _Builder:
    """Collects constant text and slots in document order."""

    def __init__(self) -> None:
        self._text: list[str] = []
        self._head: str | None = None
        self._slots: list[tuple[_Render, str]] = []
        self._pending: _Render | None = None

    def text(self, text: str) -> None:
        self._text.append(text)

    def value(self, raw: str, decoded: str, escape: Callable[[str], str]) -> None:
        """Add a value: verbatim ``raw`` when it has no expression, else a rendering slot."""
        render = _compile_value(decoded)
        if render is None:
            self._text.append(raw)
        else:
            self.slot(_escaped(render, escape))

    def slot(self, render: _Render) -> None:
        constant = "".join(self._text)
        self._text = []
        if self._pending is None:
            self._head = constant
        else:
            self._slots.append((self._pending, constant))
        self._pending = render

    def build(self, format: TemplateFormat) -> Template:
        constant = "".join(self._text)
        if self._pending is None:
            return Template(format, constant, ())
        slots = (*self._slots, (self._pending, constant))
        return Template(format, self._head or "", slots)


def _escaped(render: _Render, escape: Callable[[str], str]) -> _Render:
    def escaped(values: _Values, room: int) -> str:
        text = render(values, room)
        return text if len(text) > room else escape(text)  # escaping a text over is wasted

    return escaped


def _identity(text: str) -> str:
    return text


def _clean(text: str) -> str:
    """Replace lone surrogates, which cannot be encoded as UTF-8."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


# --- expressions -------------------------------------------------------------------------


def _compile_value(text: str) -> _Render | None:
    """The renderer for one value (unescaped output), or None when it is plain text."""
    core = text.strip()
    if not (core.startswith("{") and core.endswith("}")):
        return _compile_inline(text)
    # Whitespace around the braces stays: pretty-printed XML indents its text.
    lead, trail = text[: text.index("{")], text[text.rindex("}") + 1 :]
    pieces = _parse_concatenation(core)
    if lead:
        pieces.insert(0, _constant(lead))
    if trail:
        pieces.append(_constant(trail))
    return _join(pieces)


def _compile_inline(text: str) -> _Render | None:
    pieces: list[_Render] = []
    pos = 0
    # Terms hold no parentheses, so no match of _TERM_START starts inside the previous term.
    for start in _TERM_START.finditer(text):
        if start.start() > pos:
            pieces.append(_constant(text[pos : start.start()]))
        term, pos = _parse_term(text, start.start())
        pieces.append(term)
    if not pieces:
        return None
    if pos < len(text):
        pieces.append(_constant(text[pos:]))
    return _join(pieces)


def _parse_concatenation(text: str) -> list[_Render]:
    inner_end = len(text) - 1
    pos = _skip_space(text, 1, inner_end)
    pieces: list[_Render] = []
    while True:
        literal = _LITERAL.match(text, pos, inner_end)
        if literal is not None:
            pieces.append(_constant(literal.group(1) or literal.group(2) or ""))
            pos = literal.end()
        else:
            term, pos = _parse_term(text, pos, inner_end, literals=True)
            pieces.append(term)
        pos = _skip_space(text, pos, inner_end)
        if pos == inner_end:
            return pieces
        plus = _PLUS.match(text, pos, inner_end)
        if plus is None:
            _fail(text, pos, "'+' or '}'")
        pos = plus.end()


def _skip_space(text: str, pos: int, end: int) -> int:
    while pos < end and text[pos].isspace():
        pos += 1
    return pos


def _parse_term(
    text: str, pos: int, end: int | None = None, *, literals: bool = False
) -> tuple[_Render, int]:
    match = _TERM.match(text, pos, len(text) if end is None else end)
    if match is None:
        _fail(text, pos, f"a quoted literal or {_EXPECTED_TERM}" if literals else _EXPECTED_TERM)
    op, name, limit = match.groups()
    if (op == "." and limit is None) or (op in "%#" and limit is not None):
        _fail(text, pos, _EXPECTED_TERM)
    return _lookup(op, name.lower(), None if limit is None else int(limit)), match.end()


def _lookup(op: str, key: str, limit: int | None) -> _Render:
    if op == "%":  # each character encodes to one or more: room + 1 of them tell
        return lambda values, room: _percent_encode(values.get(key, "")[: room + 1])
    if op == ".":
        return lambda values, room: _ellipsize(values.get(key, ""), limit or 0)
    if limit is not None:
        return lambda values, room: values.get(key, "")[:limit]
    return lambda values, room: values.get(key, "")


def _percent_encode(value: str) -> str:
    # urllib's quote loops over bytes in Python; translate does ASCII (the usual case) in C.
    return value.translate(_URL_ASCII) if value.isascii() else quote(value, safe="")


def _ellipsize(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return value[: max(limit - 3, 0)] + "..."[:limit]


def _constant(text: str) -> _Render:
    return lambda values, room: text


def _join(pieces: list[_Render]) -> _Render:
    if len(pieces) == 1:
        return pieces[0]

    def join(values: _Values, room: int) -> str:
        out: list[str] = []
        left = room
        for piece in pieces:
            text = piece(values, left)
            out.append(text)
            left -= len(text)
            if left < 0:
                break  # what is joined so far is already longer than the room
        return "".join(out)

    return join


def _fail(text: str, pos: int, expected: str) -> NoReturn:
    shown = text if len(text) <= 80 else text[:77] + "..."
    raise BadRequestError(
        f"Invalid template expression in {shown!r}: expected {expected} at position {pos}"
    )


# --- JSON --------------------------------------------------------------------------------

_DECODER = json.JSONDecoder()
_JSON_COLON = re.compile(r"[ \t\n\r]*:")
_WHOLE_NUMBER_TERM = re.compile(r"#\(\s*([^\s,()]+)\s*\)")


def _compile_json(body: str, builder: _Builder) -> None:
    _check_json(body)
    pos = 0
    while (start := body.find('"', pos)) >= 0:
        builder.text(body[pos:start])
        value: str
        value, pos = _DECODER.raw_decode(body, start)
        raw = body[start:pos]
        if _JSON_COLON.match(body, pos):  # an object key: never a template slot
            builder.text(raw)
        elif number := _WHOLE_NUMBER_TERM.fullmatch(value):
            builder.slot(_json_number(number.group(1).lower()))
        else:
            builder.value(raw, value, encode_basestring)
    builder.text(body[pos:])


def _check_json(body: str) -> None:
    try:
        json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequestError(f"The template body is not valid JSON: {exc}") from exc


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_number(key: str) -> _Render:
    def render(values: _Values, room: int) -> str:
        value = values.get(key, "")
        if len(value) > room or _NUMBER.fullmatch(value):
            return value
        return encode_basestring(value)

    return render


# --- XML ---------------------------------------------------------------------------------

_XML_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_XML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_XML_MARKUP = (("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>"), ("</", ">"))
_XML_TAG_NAME = re.compile(r"<[^\s/>]+")
_XML_ATTRIBUTE = re.compile(r"(\s+[^\s=/>]+\s*=\s*)([\"'])(.*?)\2", re.DOTALL)
_XML_TAG_END = re.compile(r"\s*/?>")
_XML_SPECIAL = re.compile("[&<>\"'\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_REPLACEMENTS = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&apos;",
    "\t": "&#9;",
    "\n": "&#10;",
    "\r": "&#13;",
}


def _compile_xml(body: str, builder: _Builder) -> None:
    _check_xml(body)
    pos = 0
    while pos < len(body):
        if body[pos] != "<":
            end = body.find("<", pos)
            end = len(body) if end < 0 else end
            raw = body[pos:end]
            builder.value(raw, _xml_unescape(raw), xml_escape)
            pos = end
            continue
        closer = next((c for o, c in _XML_MARKUP if body.startswith(o, pos)), None)
        if closer is None:
            pos = _compile_start_tag(body, pos, builder)
        else:
            end = body.index(closer, pos) + len(closer)
            builder.text(body[pos:end])
            pos = end


def _compile_start_tag(body: str, pos: int, builder: _Builder) -> int:
    name = _XML_TAG_NAME.match(body, pos)
    assert name is not None  # the document parsed, so a start tag is well-formed
    builder.text(name.group())
    pos = name.end()
    while attribute := _XML_ATTRIBUTE.match(body, pos):
        prefix, quote_char, raw = attribute.groups()
        builder.text(prefix + quote_char)
        builder.value(raw, _xml_unescape(raw), xml_escape)
        builder.text(quote_char)
        pos = attribute.end()
    end = _XML_TAG_END.match(body, pos)
    assert end is not None
    builder.text(end.group())
    return end.end()


def _check_xml(body: str) -> None:
    if "<!DOCTYPE" in body:
        raise BadRequestError("The template body must not contain a DOCTYPE")
    try:
        ET.fromstring(body)
    except ET.ParseError as exc:
        raise BadRequestError(f"The template body is not valid XML: {exc}") from exc


def _xml_unescape(raw: str) -> str:
    if "&" not in raw:
        return raw
    return _XML_ENTITY.sub(_xml_entity, raw)


def _xml_entity(match: re.Match[str]) -> str:
    ref = match.group(1)
    if ref.startswith("#x"):
        return chr(int(ref[2:], 16))
    if ref.startswith("#"):
        return chr(int(ref[1:]))
    return _XML_NAMED[ref]


def xml_escape(text: str) -> str:
    """Escape for XML text or a quoted attribute; characters XML 1.0 forbids become U+FFFD."""
    return _XML_SPECIAL.sub(_xml_replacement, text)


def _xml_replacement(match: re.Match[str]) -> str:
    return _XML_REPLACEMENTS.get(match.group(), "\ufffd")
