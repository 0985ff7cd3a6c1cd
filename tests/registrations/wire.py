"""Registration bodies as clients write them, and reading NH's answers back, for the tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from shared.registrations.atom import ATOM_NS, NH_NS

NS = f'xmlns="{NH_NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"'
ATOM = f"{{{ATOM_NS}}}"
NH = f"{{{NH_NS}}}"


def entry(description: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><entry xmlns="{ATOM_NS}">'
        f'<content type="application/xml">{description}</content></entry>'
    ).encode()


def apple(token: str, tags: str = "", template: str = "", kind: str = "Apple") -> bytes:
    tag_element = f"<Tags>{tags}</Tags>" if tags else ""
    name = f"{kind}{'Template' if template else ''}RegistrationDescription"
    return entry(f"<{name} {NS}>{tag_element}<DeviceToken>{token}</DeviceToken>{template}</{name}>")


def fcm(token: str, tags: str = "", template: str = "") -> bytes:
    tag_element = f"<Tags>{tags}</Tags>" if tags else ""
    name = f"FcmV1{'Template' if template else ''}RegistrationDescription"
    return entry(
        f"<{name} {NS}>{tag_element}<FcmV1RegistrationId>{token}</FcmV1RegistrationId>"
        f"{template}</{name}>"
    )


def description(body: bytes) -> tuple[str, dict[str, str]]:
    """The kind and the text members of an entry's description."""
    root = ET.fromstring(body)
    content = root.find(f"{ATOM}content")
    assert content is not None
    (element,) = list(content)
    members = {child.tag.removeprefix(NH): child.text or "" for child in element}
    return element.tag.removeprefix(NH), members


def feed(body: bytes) -> list[tuple[str, dict[str, str]]]:
    root = ET.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    return [
        description(ET.tostring(entry_element)) for entry_element in root.findall(f"{ATOM}entry")
    ]
