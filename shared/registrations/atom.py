"""Atom XML as NH's registration API speaks it: a safe parser and the writer's pieces (sans-IO).

:func:`parse_xml` reads a body with expat into a small tree of :class:`Element`. It refuses a
document type declaration outright, so no entity can be declared (nothing to expand, nothing
external to fetch), and bounds the depth and the number of elements; every failure is a
:class:`BadRequestError`. Names are matched by local name: clients differ in namespaces (the
docs once printed ``https://`` for NH's), and their order is the writer's business, not ours.

The writer side emits compact XML: the JS SDK's parser takes the first key under ``content``
as the description, so no whitespace may sit between elements.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from shared.errors import BadRequestError

ATOM_NS = "http://www.w3.org/2005/Atom"
NH_NS = "http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
METADATA_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
ENTRY_CONTENT_TYPE = "application/atom+xml;type=entry;charset=utf-8"
FEED_CONTENT_TYPE = "application/atom+xml;type=feed;charset=utf-8"

MAX_DEPTH = 16
MAX_ELEMENTS = 4096
# Characters XML 1.0 cannot carry at all, not even in CDATA.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class Element:
    name: str  # the local name
    namespace: str = ""
    attributes: dict[str, str] = field(default_factory=dict)  # "{ns}local" or "local"
    children: list[Element] = field(default_factory=list)
    text: str = ""  # character data directly inside (CDATA included)

    def attribute(self, local: str, namespace: str = "") -> str | None:
        return self.attributes.get(f"{{{namespace}}}{local}" if namespace else local)

    @property
    def is_nil(self) -> bool:
        return (self.attribute("nil", XSI_NS) or "").strip().lower() == "true"


class _Refused(Exception):
    pass


def _split(name: str) -> tuple[str, str]:
    namespace, _, local = name.rpartition(" ")
    return namespace, local


def parse_xml(body: bytes) -> Element:
    """The document element of ``body``; a 400 for anything but plain, well-formed XML."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    root = Element("")
    stack: list[Element] = [root]
    count = 0

    def refuse_dtd(*_: object) -> None:
        raise _Refused("The body may not hold a document type declaration (DTD) or entities.")

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if len(stack) > MAX_DEPTH or count > MAX_ELEMENTS:
            raise _Refused("The XML body is nested too deeply or holds too many elements.")
        namespace, local = _split(name)
        element = Element(local, namespace)
        for key, value in attributes.items():
            attr_ns, attr_local = _split(key)
            element.attributes[f"{{{attr_ns}}}{attr_local}" if attr_ns else attr_local] = value
        stack[-1].children.append(element)
        stack.append(element)

    def end(_: str) -> None:
        stack.pop()

    def characters(data: str) -> None:
        stack[-1].text += data

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(body, True)
    except _Refused as refused:
        raise BadRequestError(str(refused)) from None
    except (expat.ExpatError, ValueError) as error:
        raise BadRequestError(f"The body is not well-formed XML: {error}.") from None
    if len(root.children) != 1:
        raise BadRequestError("The body is not an XML document.")
    return root.children[0]


def entry_content(body: bytes) -> Element:
    """The one element inside an Atom entry's ``content``."""
    entry = parse_xml(body)
    if entry.name != "entry":
        raise BadRequestError(f"The body must be an Atom entry, not <{entry.name}>.")
    contents = [child for child in entry.children if child.name == "content"]
    if len(contents) != 1:
        raise BadRequestError("The Atom entry must hold one content element.")
    described = contents[0].children
    if len(described) != 1:
        raise BadRequestError("The entry's content must hold one registration description.")
    return described[0]


def xml_text(text: str) -> str:
    """Text for an element: escaped, and what XML cannot carry replaced by U+FFFD."""
    return escape(_NOT_XML.sub("\ufffd", text))


def cdata(text: str) -> str:
    """A CDATA section; ``]]>`` inside is split across two sections."""
    safe = _NOT_XML.sub("\ufffd", text)
    return "<![CDATA[" + safe.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def element(name: str, inner: str) -> str:
    return f"<{name}>{inner}</{name}>"


def text_element(name: str, text: str) -> str:
    return element(name, xml_text(text))


def entry_xml(
    *, entry_id: str, title: str, updated: str, etag: str | None, self_link: str, content: str
) -> str:
    """An Atom entry as NH writes one (``a:etag`` as in the recorded responses; jobs have
    none)."""
    tag = "" if etag is None else f"a:etag={quoteattr(weak_etag(etag))} "
    return (
        f"<entry {tag}xmlns={quoteattr(ATOM_NS)} "
        f"xmlns:a={quoteattr(METADATA_NS)}>"
        f"{text_element('id', entry_id)}"
        f'<title type="text">{xml_text(title)}</title>'
        f"{text_element('published', updated)}{text_element('updated', updated)}"
        f'<link rel="self" href={quoteattr(self_link)}/>'
        f'<content type="application/xml">{content}</content></entry>'
    )


def feed_xml(
    *, feed_id: str, updated: str, entries: Iterable[str], title: str = "Registrations"
) -> str:
    return (
        f"<feed xmlns={quoteattr(ATOM_NS)}>"
        f'<title type="text">{xml_text(title)}</title>'
        f"{text_element('id', feed_id)}{text_element('updated', updated)}"
        f'<link rel="self" href={quoteattr(feed_id)}/>'
        f"{''.join(entries)}</feed>"
    )


def weak_etag(etag: str) -> str:
    return f'W/"{etag}"'
