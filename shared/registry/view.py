"""What the tag index keeps per installation, and which index rows an installation has.

Each tag an installation can be matched by has one index row per shard partition
(``{hub}~{tag}~{shard}``, RowKey = installation id). A row carries the *delivery view*: what a
send needs to reach the device (platform, channel, templates, push variables, expiry), but not
the installation's other tags. So adding or removing a tag writes only that tag's row, and a
send evaluates a tag expression by walking the partitions of the expression's tags side by
side, in RowKey order (see docs/decisions.md).

A row also names its *scopes*: ``""`` when the tag belongs to the installation itself, and the
names of the templates that carry it, so a template send can tell which templates match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.model.channels import BrowserPushChannel
from shared.model.installation import Installation, installation_id_tag
from shared.model.validation import format_datetime

NATIVE_SCOPE = ""

Index = Mapping[str, tuple[str, ...]]  # tag -> sorted scopes


def index_of(installation: Installation) -> dict[str, tuple[str, ...]]:
    """The index rows an installation needs: every matchable tag but ``$InstallationId``,
    which a send answers with a point read instead."""
    scopes: dict[str, set[str]] = {}
    for tag in installation.native_tags:
        scopes.setdefault(tag, set()).add(NATIVE_SCOPE)
    for name, template in installation.templates.items():
        for tag in (*template.tags, name):
            scopes.setdefault(tag, set()).add(name)
    scopes.pop(installation_id_tag(installation.installation_id), None)
    return {tag: tuple(sorted(s)) for tag, s in sorted(scopes.items())}


def delivery_view(installation: Installation) -> dict[str, Any]:
    channel = installation.push_channel
    view: dict[str, Any] = {
        "platform": installation.platform.value,
        "channel": channel.to_wire() if isinstance(channel, BrowserPushChannel) else channel,
    }
    if installation.templates:
        view["templates"] = {
            name: {"body": t.body, "headers": dict(t.headers), "expiry": t.expiry}
            for name, t in installation.templates.items()
        }
    if installation.push_variables:
        view["variables"] = dict(installation.push_variables)
    if installation.expiration_time is not None:
        view["expires"] = format_datetime(installation.expiration_time)
    if installation.push_channel_expired:
        view["expired"] = True
    return view


@dataclass(frozen=True)
class EncodedView:
    data: bytes
    digest: str

    @classmethod
    def of(cls, installation: Installation) -> EncodedView:
        data = json.dumps(delivery_view(installation), separators=(",", ":"), sort_keys=True)
        encoded = data.encode()
        return cls(encoded, hashlib.sha256(encoded).hexdigest()[:32])
