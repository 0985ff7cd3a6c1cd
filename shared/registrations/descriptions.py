"""NH's registration descriptions: every kind, to and from :class:`Registration` (sans-IO).

A description arrives as ``<{Kind}RegistrationDescription>`` or
``<{Kind}TemplateRegistrationDescription>`` (the JS SDK, the device SDKs, the docs), or as
``<RegistrationDescription i:type="{Kind}…">`` (.NET's DataContractSerializer, azure-sb). It is
read into the registration's JSON form and validated by ``parse_registration``, so one set of
rules holds for the XML API, storage and import.

Answers name the concrete kind and list the elements in .NET's ``DataMember`` order (base
members 1001-1005, then the platform's 2001-, then the template's 3001-), which its
DataContractSerializer requires; optional members that are unset are left out rather than
sent as ``i:nil``, which the JS SDK would read as text. Kinds: Apple, Gcm (delivered over FCM
v1, as installations are), FcmV1, Windows, Adm, Baidu, Browser and Xiaomi. Mpns is retired.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from shared.errors import BadRequestError
from shared.model.channels import BrowserPushChannel, InstallationPlatform
from shared.model.registration import REGISTRATION_ERROR, Registration, parse_registration
from shared.registrations.atom import (
    ATOM_NS,
    NH_NS,
    XSI_NS,
    Element,
    cdata,
    element,
    text_element,
)

_TEMPLATE = "Template"
_SUFFIX = "RegistrationDescription"
_USER_TAG = re.compile(r"\$UserId:\{(.*)\}", re.IGNORECASE | re.DOTALL)
_NEVER = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)


@dataclass(frozen=True)
class Kind:
    """One NH description kind: its platform, handle elements and template extras, each in
    .NET's member order."""

    name: str
    platform: InstallationPlatform
    handle: tuple[str, ...]
    template_members: tuple[str, ...] = ("BodyTemplate", "TemplateName")
    headers: str | None = None  # the template's header collection element

    def root(self, template: bool) -> str:
        return f"{self.name}{_TEMPLATE if template else ''}{_SUFFIX}"


KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            Kind(
                "Apple",
                InstallationPlatform.APNS,
                ("DeviceToken",),
                ("BodyTemplate", "Expiry", "TemplateName", "Priority", "ApnsHeaders"),
                headers="ApnsHeaders",
            ),
            Kind("Gcm", InstallationPlatform.GCM, ("GcmRegistrationId",)),
            Kind("FcmV1", InstallationPlatform.FCMV1, ("FcmV1RegistrationId",)),
            Kind(
                "Windows",
                InstallationPlatform.WNS,
                ("ChannelUri", "SecondaryTileName"),
                ("BodyTemplate", "WnsHeaders", "TemplateName"),
                headers="WnsHeaders",
            ),
            Kind("Adm", InstallationPlatform.ADM, ("AdmRegistrationId",)),
            Kind(
                "Baidu",
                InstallationPlatform.BAIDU,
                ("BaiduUserId", "BaiduChannelId"),
                ("BodyTemplate", "TemplateName", "MessageType"),
            ),
            Kind("Browser", InstallationPlatform.BROWSER, ("Endpoint", "P256DH", "Auth")),
            Kind("Xiaomi", InstallationPlatform.XIAOMI, ("XiaomiRegistrationId",)),
        )
    }
)
_BY_PLATFORM = MappingProxyType({kind.platform: kind for kind in KINDS.values()})
# .NET's FcmRegistrationDescription is the legacy Gcm one under another name.
_ALIASES = MappingProxyType({"Fcm": ("Gcm", "FcmRegistrationId")})
_RETIRED = MappingProxyType(
    {"Mpns": "MPNS (Windows Phone) was retired by Microsoft; register with WNS (Windows)"}
)


def _error(detail: str) -> BadRequestError:
    return BadRequestError(REGISTRATION_ERROR + detail)


def kind_of_platform(platform: InstallationPlatform) -> Kind:
    return _BY_PLATFORM[platform]


def _kind(description: Element) -> tuple[Kind, bool, str | None]:
    """The kind, whether it is a template, and the handle element an alias names."""
    name = description.name
    if name == _SUFFIX:  # .NET and azure-sb: <RegistrationDescription i:type="…">
        declared = description.attribute("type", XSI_NS)
        if not declared:
            raise _error("A RegistrationDescription must name its kind in i:type.")
        name = declared.rpartition(":")[2].strip()
    if not name.endswith(_SUFFIX):
        raise _error(f"<{name}> is not a registration description.")
    base = name[: -len(_SUFFIX)]
    template = base.endswith(_TEMPLATE)
    base = base[: -len(_TEMPLATE)] if template else base
    if base in _RETIRED:
        raise _error(f"{name} is not supported: {_RETIRED[base]}.")
    alias = _ALIASES.get(base)
    kind = KINDS.get(alias[0] if alias else base)
    if kind is None:
        known = ", ".join(f"{k}RegistrationDescription" for k in KINDS)
        raise _error(f"{name} is not a registration kind NH knows. Use one of: {known}.")
    return kind, template, alias[1] if alias else None


def _members(description: Element) -> dict[str, Element]:
    members: dict[str, Element] = {}
    for child in description.children:
        if child.name in members:
            raise _error(f"{child.name} appears more than once.")
        members[child.name] = child
    return members


def _text(members: Mapping[str, Element], name: str) -> str | None:
    """A member's text, stripped; None when absent, nil or empty."""
    member = members.get(name)
    if member is None or member.is_nil:
        return None
    if member.children:
        raise _error(f"{name} must hold text, not elements.")
    text = member.text.strip()
    return text or None


def _required(members: Mapping[str, Element], name: str) -> str:
    text = _text(members, name)
    if text is None:
        raise _error(f"{name} is required.")
    return text


def _tags(text: str | None) -> tuple[list[str], str | None]:
    """Client tags and the user of a ``$UserId:{…}`` tag, from NH's comma list."""
    tags: list[str] = []
    user: str | None = None
    for tag in (part.strip() for part in (text or "").split(",")):
        match = _USER_TAG.fullmatch(tag)
        if match is None:
            if tag:
                tags.append(tag)
        elif user is not None:
            raise _error("A registration can carry only one $UserId tag.")
        else:
            user = match.group(1)
    return tags, user


def _push_variables(text: str | None) -> object:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise _error("PushVariables must be a JSON object of strings.") from None


def _headers(member: Element | None, kind: Kind) -> dict[str, str]:
    if member is None or member.is_nil:
        return {}
    headers: dict[str, str] = {}
    for item in member.children:
        fields = _members(item)
        name, value = _text(fields, "Header"), _text(fields, "Value")
        if name is None or value is None:
            raise _error(f"Each entry of {kind.headers} needs a Header and a Value.")
        if name.lower() in (n.lower() for n in headers):
            raise _error(f"The header {name!r} appears more than once in {kind.headers}.")
        headers[name] = value
    return headers


def _message_type(text: str | None) -> object:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text  # the model says what is wrong with it


def _channel(kind: Kind, members: Mapping[str, Element], alias: str | None) -> object:
    if kind.platform is InstallationPlatform.BROWSER:
        return {
            "endpoint": _required(members, "Endpoint"),
            "p256dh": _required(members, "P256DH"),
            "auth": _required(members, "Auth"),
        }
    if kind.platform is InstallationPlatform.BAIDU:
        channel = _required(members, "BaiduChannelId")
        if "-" in channel:
            raise _error("BaiduChannelId may not hold '-'.")
        return f"{_required(members, 'BaiduUserId')}-{channel}"
    return _required(members, alias or kind.handle[0])


def _template(kind: Kind, members: Mapping[str, Element]) -> dict[str, object]:
    body = _text(members, "BodyTemplate")
    if body is None:
        raise _error("BodyTemplate is required for a template registration.")
    template: dict[str, object] = {"body": body}
    if kind.headers is not None:
        template["headers"] = _headers(members.get(kind.headers), kind)
    optional: dict[str, object] = {
        "name": _text(members, "TemplateName"),
        "expiry": _text(members, "Expiry") if "Expiry" in kind.template_members else None,
        "priority": _text(members, "Priority") if "Priority" in kind.template_members else None,
        "messageType": _message_type(_text(members, "MessageType"))
        if "MessageType" in kind.template_members
        else None,
    }
    template.update({k: v for k, v in optional.items() if v is not None})
    return template


def parse_description(description: Element, *, registration_id: str, max_tags: int) -> Registration:
    """The registration a description describes, stored under ``registration_id``.

    ETag and RegistrationId are read-only and ignored (the id comes from the URL);
    ExpirationTime, when given, is kept, as an installation's ``expirationTime`` is.
    """
    kind, template, alias = _kind(description)
    members = _members(description)
    tags, user = _tags(_text(members, "Tags"))
    data: dict[str, object] = {
        "registrationId": registration_id,
        "platform": kind.platform.value,
        "pushChannel": _channel(kind, members, alias),
        "tags": tags,
        "userId": user,
        "pushVariables": _push_variables(_text(members, "PushVariables")),
        "expirationTime": _text(members, "ExpirationTime"),
    }
    if kind.platform is InstallationPlatform.WNS:
        data["secondaryTileName"] = _text(members, "SecondaryTileName")
    if template:
        data["template"] = _template(kind, members)
    return parse_registration(data, max_tags=max_tags, registration_id=registration_id)


def format_expiration(moment: datetime | None) -> str:
    """NH's ``ExpirationTime``: milliseconds and ``Z``, as the recorded responses have it and
    as the Android and iOS SDKs parse it (they take exactly three fractional digits)."""
    utc = _NEVER if moment is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _handle_members(kind: Kind, registration: Registration) -> str:
    channel = registration.push_channel
    if isinstance(channel, BrowserPushChannel):
        values = [channel.endpoint, channel.p256dh, channel.auth]
    elif kind.platform is InstallationPlatform.BAIDU:
        user, _, channel_id = channel.rpartition("-")
        values = [user, channel_id]
    elif kind.platform is InstallationPlatform.WNS:
        values = [channel, registration.secondary_tile_name or ""]
    else:
        values = [channel]
    return "".join(text_element(n, v) for n, v in zip(kind.handle, values, strict=True) if v)


def _headers_member(kind: Kind, headers: Mapping[str, str]) -> str:
    if kind.headers is None or (not headers and kind.platform is not InstallationPlatform.WNS):
        return ""
    item = kind.headers[:-1]  # ApnsHeader, WnsHeader
    inner = "".join(
        element(item, text_element("Header", name) + text_element("Value", headers[name]))
        for name in sorted(headers)  # .NET's header collections are sorted dictionaries
    )
    return element(kind.headers, inner)


def _template_members(kind: Kind, registration: Registration) -> str:
    template = registration.template
    if template is None:
        return ""
    values: dict[str, str | None] = {
        "Expiry": template.expiry,
        "TemplateName": template.name,
        "Priority": template.priority,
        "MessageType": None if template.message_type is None else str(template.message_type),
    }
    parts = []
    for name in kind.template_members:
        if name == "BodyTemplate":
            parts.append(element(name, cdata(template.body)))
        elif name == kind.headers:
            parts.append(_headers_member(kind, template.headers))
        elif values[name] is not None:
            parts.append(text_element(name, values[name] or ""))
    return "".join(parts)


def description_xml(registration: Registration, *, etag: str | None) -> str:
    """The description element, in .NET's member order (no ETag in a request: None)."""
    kind = kind_of_platform(registration.platform)
    root = kind.root(registration.template is not None)
    tags = ",".join((*registration.system_tags, *registration.tags))
    base = [
        text_element("ETag", etag) if etag is not None else "",
        text_element("ExpirationTime", format_expiration(registration.expiration_time)),
        text_element("RegistrationId", registration.registration_id),
    ]
    if tags:
        base.append(text_element("Tags", tags))
    if registration.push_variables:
        variables = json.dumps(dict(registration.push_variables), separators=(",", ":"))
        base.append(text_element("PushVariables", variables))
    return (
        f'<{root} xmlns="{NH_NS}" xmlns:i="{XSI_NS}">'
        f"{''.join(base)}{_handle_members(kind, registration)}"
        f"{_template_members(kind, registration)}</{root}>"
    )


def request_entry(registration: Registration) -> bytes:
    """An Atom entry that creates or replaces ``registration``, as a client writes one."""
    content = description_xml(registration, etag=None)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><entry xmlns="{ATOM_NS}">'
        f'<content type="application/xml">{content}</content></entry>'
    ).encode()
