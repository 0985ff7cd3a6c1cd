"""The NH registration: one device handle with tags, push variables and at most one template.

A registration is the older of NH's two device models. Herald stores it beside installations,
in the same table and tag index (docs/decisions.md), under a key no installation id can take:
:func:`registration_key` puts ``reg:`` before the registration id, and ``:`` is not an
installation-id character. Its JSON form (:meth:`Registration.to_wire`, read back by
:func:`parse_registration`) is what storage holds and what export writes; the Atom XML that
the NH API speaks is translated to and from it in ``shared.registrations``.

An installation *implies* registrations, as NH shows them: one native, and one per template,
tagged ``$InstallationId:{id}``. :func:`implied_registrations` builds them for the read APIs;
their ids (:func:`implied_registration_id`) hold ``~``, which neither installation ids nor
registration ids may, so they never meet a stored registration.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from shared.errors import BadRequestError
from shared.model.channels import (
    InstallationPlatform,
    PushChannel,
    channel_handle,
    channel_to_wire,
    parse_platform,
    parse_push_channel,
)
from shared.model.installation import Installation, installation_id_tag, user_id_tag
from shared.model.templates import (
    TEMPLATE_LIMITS,
    TemplateLimits,
    check_template_header,
    check_template_size,
    parse_string_map,
    parse_template_content,
)
from shared.model.validation import (
    INSTALLATION_ERROR,
    NEVER_EXPIRES,
    check_tag_count,
    content_hash,
    format_datetime,
    installation_error,
    is_installation_id,
    json_type,
    parse_datetime,
    parse_expiration,
    require_str,
    show,
    validate_name,
    validate_tags,
    validate_user_id,
)

REGISTRATION_ERROR = "Registration validation failed with following error(s): "
REGISTRATION_KEY_PREFIX = "reg:"
IMPLIED_SEPARATOR = "~"
BAIDU_MESSAGE_TYPES = (0, 1)  # NH's BaiduTemplateRegistrationDescription.MessageType
_UNHASHED_FIELDS = ("lastUpdate",)


def registration_key(registration_id: str) -> str:
    """The registry key of a registration: never an installation id (``:`` is not allowed)."""
    return REGISTRATION_KEY_PREFIX + registration_id


def registration_id_of(device_id: str) -> str | None:
    """The registration id a registry key holds, or None for an installation's key."""
    if device_id.startswith(REGISTRATION_KEY_PREFIX):
        return device_id[len(REGISTRATION_KEY_PREFIX) :]
    return None


def id_field(device_id: str) -> tuple[str, str]:
    """How telemetry and feedback name a device: ``("registrationId", id)`` for a registration,
    ``("installationId", id)`` for an installation."""
    registration_id = registration_id_of(device_id)
    if registration_id is not None:
        return "registrationId", registration_id
    return "installationId", device_id


def is_registration_id(text: str) -> bool:
    """Ids a client may give a registration: the installation-id alphabet (URL-path safe)."""
    return is_installation_id(text)


def validate_registration_id(value: object) -> str:
    with registration_errors():
        text = require_str(value, "RegistrationId")
    if not is_registration_id(text):
        raise BadRequestError(
            f"{REGISTRATION_ERROR}The registration id {show(text)} is invalid. It must be 1 "
            "to 256 letters, digits, periods (.), hyphens (-) or underscores (_)."
        )
    return text


@contextmanager
def registration_errors() -> Iterator[None]:
    """Say "Registration" where the shared validators say "Installation"."""
    try:
        yield
    except BadRequestError as error:
        detail = error.detail
        if detail.startswith(INSTALLATION_ERROR):
            detail = REGISTRATION_ERROR + detail[len(INSTALLATION_ERROR) :]
        raise BadRequestError(detail) from None


@dataclass(frozen=True)
class RegistrationTemplate:
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)
    expiry: str | None = None  # Apple: a W3C date or a template expression
    name: str | None = None
    priority: str | None = None  # Apple's Priority element: apns-priority, or an expression
    message_type: int | None = None  # Baidu's MessageType: 0 message, 1 notification

    @property
    def delivery_headers(self) -> dict[str, str]:
        """The headers a send renders: Priority and MessageType become the headers the
        senders read, unless a header of that name is set already."""
        headers = dict(self.headers)
        names = {name.lower() for name in headers}
        if self.priority is not None and "apns-priority" not in names:
            headers["apns-priority"] = self.priority
        if self.message_type is not None and "x-baidu-message-type" not in names:
            headers["X-Baidu-Message-Type"] = str(self.message_type)
        return headers

    def to_wire(self) -> dict[str, object]:
        wire: dict[str, object] = {"body": self.body}
        optional: dict[str, object | None] = {
            "name": self.name,
            "expiry": self.expiry,
            "priority": self.priority,
            "messageType": self.message_type,
        }
        if self.headers:
            wire["headers"] = dict(self.headers)
        wire.update({k: v for k, v in optional.items() if v is not None})
        return wire


@dataclass(frozen=True)
class Registration:
    registration_id: str
    platform: InstallationPlatform
    push_channel: PushChannel  # APNs tokens upper-case; Baidu "{userId}-{channelId}"
    tags: tuple[str, ...] = ()  # sorted, unique, client tags only
    user_id: str | None = None  # the $UserId:{…} tag
    push_variables: Mapping[str, str] = field(default_factory=dict)
    template: RegistrationTemplate | None = None
    expiration_time: datetime | None = None  # None: never
    secondary_tile_name: str | None = None  # Windows only
    installation_id: str | None = None  # set on the registrations an installation implies
    last_update: datetime | None = None

    @property
    def device_id(self) -> str:
        """The registry key (:func:`registration_key`)."""
        return registration_key(self.registration_id)

    @property
    def handle(self) -> str:
        return channel_handle(self.push_channel)

    @property
    def channel_urls(self) -> tuple[str, ...]:
        return (self.handle,) if self.platform.uses_url_channel else ()

    @property
    def system_tags(self) -> tuple[str, ...]:
        tags = []
        if self.installation_id is not None:
            tags.append(installation_id_tag(self.installation_id))
        if self.user_id is not None:
            tags.append(user_id_tag(self.user_id))
        return tuple(tags)

    @property
    def all_tags(self) -> frozenset[str]:
        """Every tag a send selects this registration by."""
        return frozenset((*self.tags, *self.system_tags))

    def stamped(self, now: datetime) -> Registration:
        return replace(self, last_update=now)

    def to_wire(self) -> dict[str, object]:
        expiry = self.expiration_time
        wire: dict[str, object] = {
            "registrationId": self.registration_id,
            "platform": self.platform.value,
            "pushChannel": channel_to_wire(self.push_channel, as_string=False),
            "expirationTime": NEVER_EXPIRES if expiry is None else format_datetime(expiry),
        }
        if self.tags:
            wire["tags"] = list(self.tags)
        if self.user_id is not None:
            wire["userId"] = self.user_id
        if self.push_variables:
            wire["pushVariables"] = dict(self.push_variables)
        if self.template is not None:
            wire["template"] = self.template.to_wire()
        if self.secondary_tile_name is not None:
            wire["secondaryTileName"] = self.secondary_tile_name
        if self.last_update is not None:
            wire["lastUpdate"] = format_datetime(self.last_update)
        return wire

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON without the timestamp: equal content, equal hash."""
        return content_hash(self.to_wire(), unhashed=_UNHASHED_FIELDS)


def parse_registration(
    data: object,
    *,
    max_tags: int,
    registration_id: str | None = None,
    template_limits: TemplateLimits | None = TEMPLATE_LIMITS,
) -> Registration:
    """Parse and validate a registration's JSON form (as stored, exported and imported).

    ``registration_id`` is the id from the URL: the body's may be absent but must not differ.
    ``template_limits`` bound its template, as one of an installation's; None reads a stored
    row, which met the limits of its day.
    """
    with registration_errors():
        if not isinstance(data, dict):
            raise installation_error(
                f"The registration must be a JSON object, not {json_type(data)}."
            )
        body_id = data.get("registrationId")
        if body_id is None and registration_id is None:
            raise installation_error("registrationId is required.")
        ident = validate_registration_id(body_id if body_id is not None else registration_id)
        if registration_id is not None and ident != registration_id:
            raise installation_error(
                f"registrationId in the body ({ident}) differs from the URL ({registration_id})."
            )
        if data.get("platform") is None:
            raise installation_error("platform is required.")
        platform = parse_platform(data["platform"])
        tags = validate_tags(data.get("tags"))
        check_tag_count(tags, max_tags=max_tags, where="The registration")
        return Registration(
            registration_id=ident,
            platform=platform,
            push_channel=_parse_channel(platform, data.get("pushChannel")),
            tags=tags,
            user_id=validate_user_id(data.get("userId")),
            push_variables=parse_string_map(data.get("pushVariables"), "pushVariables"),
            template=_parse_template(data.get("template"), platform, template_limits),
            expiration_time=parse_expiration(data.get("expirationTime")),
            secondary_tile_name=_parse_tile_name(data.get("secondaryTileName"), platform),
            last_update=parse_datetime(data.get("lastUpdate"), "lastUpdate"),
        )


def _parse_channel(platform: InstallationPlatform, value: object) -> PushChannel:
    if value is None:
        raise installation_error("The device handle (pushChannel) is required.")
    channel = parse_push_channel(platform, value)
    if platform is InstallationPlatform.APNS and isinstance(channel, str):
        return channel.upper()  # NH keeps device tokens in upper case, and filters on them so
    if platform is InstallationPlatform.BAIDU and isinstance(channel, str):
        user, _, channel_id = channel.rpartition("-")
        if not user or not channel_id:
            raise installation_error(
                f"The Baidu handle {show(channel)} must be BaiduUserId-BaiduChannelId."
            )
    return channel


def _parse_template(
    value: object, platform: InstallationPlatform, limits: TemplateLimits | None
) -> RegistrationTemplate | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise installation_error(f"template must be an object, not {json_type(value)}.")
    content = parse_template_content(value, platform=platform, where="BodyTemplate")
    if limits is not None:
        check_template_size(content, limits, "The template")
    name = value.get("name")
    priority = value.get("priority")
    if priority is not None:
        priority = require_str(priority, "Priority")
        if platform is not InstallationPlatform.APNS:
            raise installation_error("Priority applies to Apple template registrations only.")
        check_template_header("apns-priority", priority, "Priority")
    message_type = value.get("messageType")
    if message_type is not None:
        if platform is not InstallationPlatform.BAIDU:
            raise installation_error("MessageType applies to Baidu template registrations only.")
        if isinstance(message_type, bool) or message_type not in BAIDU_MESSAGE_TYPES:
            raise installation_error("MessageType must be 0 (message) or 1 (notification).")
    return RegistrationTemplate(
        body=content.body,
        headers=content.headers,
        expiry=content.expiry,
        name=None if name is None else validate_name(name, "TemplateName"),
        priority=priority,
        message_type=message_type,
    )


def _parse_tile_name(value: object, platform: InstallationPlatform) -> str | None:
    if value is None:
        return None
    if platform is not InstallationPlatform.WNS:
        raise installation_error("SecondaryTileName applies to Windows registrations only.")
    return validate_name(value, "SecondaryTileName")


def implied_registration_id(installation_id: str, template: str | None = None) -> str:
    """``{installationId}~`` for the native registration, ``~{name, base64url}`` for a
    template's: URL-path safe, and never an id a client can give a registration."""
    if template is None:
        return installation_id + IMPLIED_SEPARATOR
    name = base64.urlsafe_b64encode(template.encode()).decode().rstrip("=")
    return f"{installation_id}{IMPLIED_SEPARATOR}{name}"


def parse_implied_id(registration_id: str) -> tuple[str, str | None] | None:
    """(installation id, template name or None) for an implied registration's id, else None."""
    installation_id, separator, encoded = registration_id.partition(IMPLIED_SEPARATOR)
    if not separator or not is_installation_id(installation_id):
        return None
    if not encoded:
        return installation_id, None
    try:
        name = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, binascii.Error):
        return None
    return installation_id, name


def implied_registrations(installation: Installation) -> list[Registration]:
    """The native registration and one per template, as NH lists an installation's."""
    native = Registration(
        registration_id=implied_registration_id(installation.installation_id),
        platform=installation.platform,
        push_channel=installation.push_channel,
        tags=installation.tags,
        user_id=installation.user_id,
        push_variables=installation.push_variables,
        expiration_time=installation.expiration_time,
        installation_id=installation.installation_id,
        last_update=installation.last_update,
    )
    found = [native]
    for name, template in sorted(installation.templates.items()):
        shown = RegistrationTemplate(
            body=template.body, headers=template.headers, expiry=template.expiry, name=name
        )
        found.append(
            replace(
                native,
                registration_id=implied_registration_id(installation.installation_id, name),
                tags=tuple(sorted({*installation.tags, *template.tags, name})),
                template=shown,
            )
        )
    return found
