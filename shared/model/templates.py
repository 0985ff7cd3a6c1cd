"""Installation templates and WNS secondary tiles: their model, parsing and wire form.

A template body must be JSON for the JSON platforms and XML for WNS (except ``wns/raw``), as NH
requires; the template expressions inside are checked where they are rendered, not here.

Every template is rendered once per device for each template send, so a write is held to
:class:`TemplateLimits` (NH documents none): the size of a body and of a header value, the
expressions of one template, and the bodies and expressions of all of an installation's
templates together. Stored rows are read without them, so lowering a limit never makes a stored
installation unreadable; its next write must meet it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from shared.http import is_field_name, is_field_value
from shared.model.channels import InstallationPlatform, validate_channel_url
from shared.model.validation import (
    check_tag_count,
    decode_json_text,
    installation_error,
    json_type,
    require_str,
    show,
    validate_installation_id,
    validate_name,
    validate_tags,
)
from shared.sending._headers import pns_header_problem
from shared.templates import count_expressions

MAX_EXPIRY_LENGTH = 256
_EXPRESSION = re.compile(r"[$.%#]\(|\{")  # where a template expression may start
WNS_TYPES = frozenset({"wns/toast", "wns/tile", "wns/badge", "wns/raw"})

_JSON_BODY_PLATFORMS = frozenset(
    {
        InstallationPlatform.APNS,
        InstallationPlatform.FCMV1,
        InstallationPlatform.GCM,
        InstallationPlatform.ADM,
        InstallationPlatform.BAIDU,
        InstallationPlatform.XIAOMI,
    }
)


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    """The most a write may carry; characters count code points, expressions as
    :func:`shared.templates.count_expressions` counts them."""

    body: int = 8 * 1024  # one template's body; above every push service's payload limit
    header_value: int = 1024  # one header value, as written
    expressions: int = 100  # one template's body, header values and expiry together
    installation_bodies: int = 16 * 1024  # the bodies of an installation's templates together
    installation_expressions: int = 200  # the expressions of an installation's templates


TEMPLATE_LIMITS = TemplateLimits()


@dataclass(frozen=True)
class InstallationTemplate:
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)
    expiry: str | None = None  # APNs only: a W3C date or a template expression
    tags: tuple[str, ...] = ()  # sorted, unique, without the template's own name

    def to_wire(self, name: str) -> dict[str, object]:
        """As NH answers it: the template's name is listed among its tags."""
        wire: dict[str, object] = {"body": self.body}
        if self.headers:
            wire["headers"] = dict(self.headers)
        if self.expiry is not None:
            wire["expiry"] = self.expiry
        wire["tags"] = sorted({*self.tags, name})
        return wire

    @property
    def expressions(self) -> int:
        """How many expressions its body, header values and expiry hold together."""
        texts = (self.body, *self.headers.values(), self.expiry or "")
        return sum(count_expressions(text) for text in texts)


@dataclass(frozen=True)
class SecondaryTile:
    push_channel: str
    tags: tuple[str, ...] = ()
    templates: Mapping[str, InstallationTemplate] = field(default_factory=dict)

    def to_wire(self) -> dict[str, object]:
        wire: dict[str, object] = {"pushChannel": self.push_channel}
        if self.tags:
            wire["tags"] = list(self.tags)
        if self.templates:
            wire["templates"] = {name: t.to_wire(name) for name, t in self.templates.items()}
        return wire


def parse_templates(
    value: object,
    *,
    platform: InstallationPlatform,
    base_tags: tuple[str, ...],
    max_tags: int,
    limits: TemplateLimits | None = TEMPLATE_LIMITS,
) -> dict[str, InstallationTemplate]:
    """``{name: {body, headers?, expiry?, tags?}}``; null means none. ``limits`` None: unchecked
    (a stored row)."""
    templates: dict[str, InstallationTemplate] = {}
    for name, item in _object_items(value, "templates").items():
        where = f"templates[{show(name)}]"
        validate_name(name, "A template name")
        if name.startswith("$"):
            # A template's name is one of its tags: "$UserId:{alice}" would claim alice's sends.
            raise installation_error(
                f"{where}: a template name must not start with '$', which marks system tags."
            )
        if not isinstance(item, dict):
            raise installation_error(f"{where} must be an object, not {json_type(item)}.")
        template = _parse_template(item, name=name, platform=platform, where=where)
        if limits is not None:
            check_template_size(template, limits, where)
        check_tag_count((*base_tags, *template.tags), max_tags=max_tags, where=where)
        templates[name] = template
    return templates


def check_template_totals(
    templates: Sequence[InstallationTemplate], limits: TemplateLimits
) -> None:
    """All of an installation's templates together (its secondary tiles' included)."""
    body = sum(len(t.body) for t in templates)
    if body > limits.installation_bodies:
        raise installation_error(
            f"The template bodies together are {body} characters long; an installation's "
            f"templates may have at most {limits.installation_bodies}."
        )
    expressions = sum(t.expressions for t in templates)
    if expressions > limits.installation_expressions:
        raise installation_error(
            f"The templates together have {expressions} expressions; an installation's "
            f"templates may have at most {limits.installation_expressions}."
        )


def check_template_size(template: InstallationTemplate, limits: TemplateLimits, where: str) -> None:
    if len(template.body) > limits.body:
        raise installation_error(
            f"{where}.body is {len(template.body)} characters long; a template body may have "
            f"at most {limits.body}."
        )
    for header, header_value in template.headers.items():
        if len(header_value) > limits.header_value:
            raise installation_error(
                f"{where}.headers[{show(header)}] is {len(header_value)} characters long; a "
                f"header value may have at most {limits.header_value}."
            )
    if template.expressions > limits.expressions:
        raise installation_error(
            f"{where} has {template.expressions} expressions; a template may have at most "
            f"{limits.expressions} in its body, headers and expiry together."
        )


def parse_secondary_tiles(
    value: object, *, max_tags: int, limits: TemplateLimits | None = TEMPLATE_LIMITS
) -> dict[str, SecondaryTile]:
    """WNS secondary tiles: ``{tileId: {pushChannel, tags?, templates?}}``; null means none."""
    tiles: dict[str, SecondaryTile] = {}
    for tile_id, item in _object_items(value, "secondaryTiles").items():
        where = f"secondaryTiles[{show(tile_id)}]"
        validate_installation_id(tile_id, "A secondary tile id")
        if not isinstance(item, dict):
            raise installation_error(f"{where} must be an object, not {json_type(item)}.")
        tags = validate_tags(item.get("tags"), field=f"{where}.tags")
        check_tag_count(tags, max_tags=max_tags, where=where)
        tiles[tile_id] = SecondaryTile(
            push_channel=validate_channel_url(item.get("pushChannel"), f"{where}.pushChannel"),
            tags=tags,
            templates=parse_templates(
                item.get("templates"),
                platform=InstallationPlatform.WNS,
                base_tags=tags,
                max_tags=max_tags,
                limits=limits,
            ),
        )
    return tiles


def parse_string_map(
    value: object, field_name: str, *, key_check: Callable[[str], bool] | None = None
) -> dict[str, str]:
    """A JSON object of strings (push variables, headers); null means empty."""
    result: dict[str, str] = {}
    for key, item in _object_items(value, field_name).items():
        if key_check is None:
            validate_name(key, f"A {field_name} name")
        elif not key_check(key):
            raise installation_error(f"{field_name} name {show(key)} is not allowed.")
        result[key] = require_str(item, f"{field_name}[{show(key)}]")
    return result


def parse_template_content(
    item: Mapping[str, object], *, platform: InstallationPlatform, where: str
) -> InstallationTemplate:
    """A template's body, headers and expiry, checked as NH requires; its tags are the caller's
    (an installation's template has its own, a template registration has the registration's)."""
    headers = parse_string_map(item.get("headers"), f"{where}.headers", key_check=is_field_name)
    for header, header_value in headers.items():
        check_template_header(header, header_value, where)
    body = require_str(item.get("body"), f"{where}.body")
    _check_body(body, headers, platform=platform, where=where)
    return InstallationTemplate(
        body=body, headers=headers, expiry=_parse_expiry(item.get("expiry"), where)
    )


def _parse_template(
    item: dict[str, object], *, name: str, platform: InstallationPlatform, where: str
) -> InstallationTemplate:
    content = parse_template_content(item, platform=platform, where=where)
    # GET lists the name among the tags, so a body read back from GET carries it: drop it.
    raw_tags = item.get("tags")
    if isinstance(raw_tags, list):
        raw_tags = [tag for tag in raw_tags if tag != name]
    return replace(content, tags=validate_tags(raw_tags, field=f"{where}.tags"))


def _check_body(
    body: str, headers: Mapping[str, str], *, platform: InstallationPlatform, where: str
) -> None:
    if not body.strip():
        raise installation_error(f"{where}.body is required.")
    if platform in _JSON_BODY_PLATFORMS:
        if not isinstance(decode_json_text(body, f"{where}.body"), dict):
            raise installation_error(f"{where}.body must be a JSON object for {platform.value}.")
    elif platform is InstallationPlatform.WNS:
        wns_type = next((v for k, v in headers.items() if k.lower() == "x-wns-type"), None)
        if wns_type not in WNS_TYPES:
            raise installation_error(
                f"{where}: templates for WNS must include an X-WNS-Type header, one of "
                f"{', '.join(sorted(WNS_TYPES))}."
            )
        if wns_type != "wns/raw" and not body.lstrip().startswith("<"):
            raise installation_error(f"{where}.body must be XML for {wns_type}.")


def _parse_expiry(value: object, where: str) -> str | None:
    if value is None:
        return None
    text = require_str(value, f"{where}.expiry")
    if not text.strip() or len(text) > MAX_EXPIRY_LENGTH:
        raise installation_error(f"{where}.expiry must be 1 to {MAX_EXPIRY_LENGTH} characters.")
    return text


def check_template_header(name: str, value: str, where: str) -> None:
    """RFC 9110's rules, and the push service's own for a value that is not an expression."""
    if not is_field_value(value):
        raise installation_error(
            f"{where}.headers[{show(name)}] may hold only visible ASCII, spaces and tabs."
        )
    if not _EXPRESSION.search(value):
        problem = pns_header_problem(name.lower(), value)
        if problem is not None:
            raise installation_error(f"{where}.headers[{show(name)}]: {problem}")


def _object_items(value: object, field_name: str) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise installation_error(f"{field_name} must be an object, not {json_type(value)}.")
    return value
