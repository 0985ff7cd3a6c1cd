"""What the tag index keeps per installation, and which index rows an installation has.

Each tag an installation can be matched by has one index row per shard partition
(``{hub}~{tag}~{shard}``, RowKey = installation id). A row carries the *delivery view*: what a
send needs to reach the device (platform, channel, templates, push variables, expiry), but not
the installation's other tags. So adding or removing a tag writes only that tag's row, and a
send evaluates a tag expression by walking the partitions of the expression's tags side by
side, in RowKey order (see docs/decisions.md).

A row also names its *scopes*: ``""`` when the tag belongs to the installation itself, and the
names of the templates that carry it, so a template send can tell which templates match.

A registration is indexed the same way. A native one's tags are native-scoped and it has no
templates, so only native sends reach it; a template registration's tags are scoped to its one
template, and its view says ``templateOnly``, so only template sends reach it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.model.channels import BrowserPushChannel
from shared.model.device import Device
from shared.model.installation import Installation, installation_id_tag
from shared.model.registration import Registration
from shared.model.validation import format_datetime

NATIVE_SCOPE = ""
UNNAMED_TEMPLATE = "$template"  # the scope of a template registration without a TemplateName
TEMPLATE_ONLY = "templateOnly"  # a view key: native sends skip this device

Index = Mapping[str, tuple[str, ...]]  # tag -> sorted scopes


def template_scope(registration: Registration) -> str:
    template = registration.template
    return NATIVE_SCOPE if template is None else template.name or UNNAMED_TEMPLATE


def index_of(device: Device) -> dict[str, tuple[str, ...]]:
    """The index rows a device needs: every matchable tag but ``$InstallationId``, which a
    send answers with a point read instead."""
    if isinstance(device, Registration):
        scope = (template_scope(device),)
        return {tag: scope for tag in sorted(device.all_tags)}
    installation = device
    scopes: dict[str, set[str]] = {}
    for tag in installation.native_tags:
        scopes.setdefault(tag, set()).add(NATIVE_SCOPE)
    for name, template in installation.templates.items():
        for tag in (*template.tags, name):
            scopes.setdefault(tag, set()).add(name)
    scopes.pop(installation_id_tag(installation.installation_id), None)
    return {tag: tuple(sorted(s)) for tag, s in sorted(scopes.items())}


def _templates(device: Device) -> dict[str, Any]:
    if isinstance(device, Installation):
        return {
            name: {"body": t.body, "headers": dict(t.headers), "expiry": t.expiry}
            for name, t in device.templates.items()
        }
    template = device.template
    if template is None:
        return {}
    shown = {"body": template.body, "headers": template.delivery_headers, "expiry": template.expiry}
    return {template_scope(device): shown}


def delivery_view(device: Device) -> dict[str, Any]:
    channel = device.push_channel
    view: dict[str, Any] = {
        "platform": device.platform.value,
        "channel": channel.to_wire() if isinstance(channel, BrowserPushChannel) else channel,
    }
    templates = _templates(device)
    if templates:
        view["templates"] = templates
    if isinstance(device, Registration) and device.template is not None:
        view[TEMPLATE_ONLY] = True
    if device.push_variables:
        view["variables"] = dict(device.push_variables)
    if device.expiration_time is not None:
        view["expires"] = format_datetime(device.expiration_time)
    if isinstance(device, Installation) and device.push_channel_expired:
        view["expired"] = True
    return view


@dataclass(frozen=True)
class EncodedView:
    data: bytes
    digest: str

    @classmethod
    def of(cls, device: Device) -> EncodedView:
        data = json.dumps(delivery_view(device), separators=(",", ":"), sort_keys=True)
        encoded = data.encode()
        return cls(encoded, hashlib.sha256(encoded).hexdigest()[:32])
