"""The NH installation: parsing what every SDK sends, validation, canonical JSON and tag views.

:func:`parse_installation` accepts the JS, .NET and Java forms alike (platform in any case,
``null`` for absent, the browser channel as object or JSON text, dates with or without a zone)
and raises only :class:`BadRequestError`. :meth:`Installation.to_wire` is the JSON that GET
answers, shaped like the recorded NH responses: empty collections are left out, and each
template's tags include the template's own name. Parsing that JSON gives back an equal
installation, which is how stored rows and JSON Patch round-trip.

Read-only fields (``pushChannelExpired``, ``lastActiveOn``, ``lastUpdate``) are parsed so stored
JSON round-trips; a PUT handler overwrites them with :meth:`Installation.stamped`.
Secondary tiles (WNS) are validated, stored and returned, but add nothing to the delivery tags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from shared.model.channels import (
    InstallationPlatform,
    PushChannel,
    channel_handle,
    channel_to_wire,
    parse_platform,
    parse_push_channel,
)
from shared.model.templates import (
    TEMPLATE_LIMITS,
    InstallationTemplate,
    SecondaryTile,
    TemplateLimits,
    check_template_totals,
    parse_secondary_tiles,
    parse_string_map,
    parse_templates,
)
from shared.model.validation import (
    NEVER_EXPIRES,
    check_tag_count,
    content_hash,
    format_datetime,
    installation_error,
    json_type,
    parse_datetime,
    parse_expiration,
    validate_installation_id,
    validate_tags,
    validate_user_id,
)

_UNHASHED_FIELDS = ("lastActiveOn", "lastUpdate")


def installation_id_tag(installation_id: str) -> str:
    return f"$InstallationId:{{{installation_id}}}"


def user_id_tag(user_id: str) -> str:
    return f"$UserId:{{{user_id}}}"


@dataclass(frozen=True)
class Installation:
    installation_id: str
    platform: InstallationPlatform
    push_channel: PushChannel
    user_id: str | None = None
    tags: tuple[str, ...] = ()  # sorted, unique, client tags only
    templates: Mapping[str, InstallationTemplate] = field(default_factory=dict)
    push_variables: Mapping[str, str] = field(default_factory=dict)
    secondary_tiles: Mapping[str, SecondaryTile] = field(default_factory=dict)
    expiration_time: datetime | None = None  # None: never
    push_channel_expired: bool = False
    last_active_on: datetime | None = None
    last_update: datetime | None = None

    @property
    def device_id(self) -> str:
        """The registry key: the installation id (a registration's has another shape)."""
        return self.installation_id

    @property
    def handle(self) -> str:
        return channel_handle(self.push_channel)

    @property
    def channel_urls(self) -> tuple[str, ...]:
        """Every device-supplied URL, which the caller must pass through the SSRF allow-list."""
        if not self.platform.uses_url_channel:
            return ()
        return (self.handle, *(tile.push_channel for tile in self.secondary_tiles.values()))

    @property
    def system_tags(self) -> tuple[str, ...]:
        """``$InstallationId:{id}`` and, with a user, ``$UserId:{uid}``: NH's exact spelling."""
        tags = [installation_id_tag(self.installation_id)]
        if self.user_id is not None:
            tags.append(user_id_tag(self.user_id))
        return tuple(tags)

    @property
    def native_tags(self) -> frozenset[str]:
        """The tags a native (non-template) send matches against."""
        return frozenset((*self.tags, *self.system_tags))

    def template_tags(self, name: str) -> frozenset[str]:
        """The tags a template send to template ``name`` matches: native, its own, its name."""
        template = self.templates[name]
        return self.native_tags | frozenset((*template.tags, name))

    @property
    def all_tags(self) -> frozenset[str]:
        """Every tag any send could match this installation by: the rows of the tag index."""
        tags = set(self.native_tags)
        for name, template in self.templates.items():
            tags.update(template.tags)
            tags.add(name)
        return frozenset(tags)

    def stamped(self, now: datetime) -> Installation:
        """This installation as a PUT stores it: channel live again, updated ``now``."""
        return replace(self, push_channel_expired=False, last_update=now)

    def to_wire(self, *, browser_channel_as_string: bool = False) -> dict[str, object]:
        """The GET body. .NET reads ``pushChannel`` as a string, so it needs the string form."""
        expiry = self.expiration_time
        wire: dict[str, object] = {
            "installationId": self.installation_id,
            "pushChannel": channel_to_wire(self.push_channel, as_string=browser_channel_as_string),
            "pushChannelExpired": self.push_channel_expired,
            "platform": self.platform.value,
            "expirationTime": NEVER_EXPIRES if expiry is None else format_datetime(expiry),
        }
        if self.tags:
            wire["tags"] = list(self.tags)
        if self.push_variables:
            wire["pushVariables"] = dict(self.push_variables)
        if self.templates:
            wire["templates"] = {name: t.to_wire(name) for name, t in self.templates.items()}
        if self.user_id is not None:
            wire["userId"] = self.user_id
        if self.secondary_tiles:
            wire["secondaryTiles"] = {
                tile_id: tile.to_wire() for tile_id, tile in self.secondary_tiles.items()
            }
        for key, value in (("lastActiveOn", self.last_active_on), ("lastUpdate", self.last_update)):
            if value is not None:
                wire[key] = format_datetime(value)
        return wire

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON without the timestamps: equal content, equal hash."""
        return content_hash(self.to_wire(), unhashed=_UNHASHED_FIELDS)


def parse_installation(
    data: object,
    *,
    max_tags: int,
    installation_id: str | None = None,
    template_limits: TemplateLimits | None = TEMPLATE_LIMITS,
) -> Installation:
    """Parse and validate an installation body.

    ``installation_id`` is the id from the URL: the body's id may be absent (the URL's is used)
    but must not differ. ``max_tags`` bounds the client tags of the installation, and of each
    template counting the installation's tags with the template's (system and name tags free).
    ``template_limits`` None reads a stored row, which met the limits of its day.
    """
    if not isinstance(data, dict):
        raise installation_error(f"The installation must be a JSON object, not {json_type(data)}.")
    body_id = data.get("installationId")
    if body_id is None and installation_id is None:
        raise installation_error("installationId is required.")
    ident = validate_installation_id(body_id if body_id is not None else installation_id)
    if installation_id is not None and ident != installation_id:
        raise installation_error(
            f"installationId in the body ({ident}) differs from the URL ({installation_id})."
        )
    if data.get("platform") is None:
        raise installation_error("platform is required.")
    platform = parse_platform(data["platform"])
    if data.get("pushChannel") is None:
        raise installation_error("pushChannel is required.")
    tags = validate_tags(data.get("tags"))
    check_tag_count(tags, max_tags=max_tags, where="The installation")
    templates = parse_templates(
        data.get("templates"),
        platform=platform,
        base_tags=tags,
        max_tags=max_tags,
        limits=template_limits,
    )
    tiles = _parse_tiles(data.get("secondaryTiles"), platform, max_tags, template_limits)
    if template_limits is not None:
        tile_templates = (t for tile in tiles.values() for t in tile.templates.values())
        check_template_totals([*templates.values(), *tile_templates], template_limits)
    return Installation(
        installation_id=ident,
        platform=platform,
        push_channel=parse_push_channel(platform, data["pushChannel"]),
        user_id=validate_user_id(data.get("userId")),
        tags=tags,
        templates=templates,
        push_variables=parse_string_map(data.get("pushVariables"), "pushVariables"),
        secondary_tiles=tiles,
        expiration_time=parse_expiration(data.get("expirationTime")),
        push_channel_expired=_parse_flag(data.get("pushChannelExpired"), "pushChannelExpired"),
        last_active_on=parse_datetime(data.get("lastActiveOn"), "lastActiveOn"),
        last_update=parse_datetime(data.get("lastUpdate"), "lastUpdate"),
    )


def _parse_tiles(
    value: object, platform: InstallationPlatform, max_tags: int, limits: TemplateLimits | None
) -> dict[str, SecondaryTile]:
    if value is not None and platform is not InstallationPlatform.WNS:
        raise installation_error("secondaryTiles are only supported for the wns platform.")
    return parse_secondary_tiles(value, max_tags=max_tags, limits=limits)


def _parse_flag(value: object, field_name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise installation_error(f"{field_name} must be a boolean, not {json_type(value)}.")
    return value
