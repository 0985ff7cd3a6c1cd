"""Installation platforms and the shape of each platform's push channel (the device handle).

Only the *shape* is checked here: hex for APNs, a token for FCM and the like, an absolute
http(s) URL without user-info for WNS and Web Push. Whether a URL may be contacted (the SSRF
allow-list of PNS hosts) is the caller's decision: after parsing or patching, pass every entry
of :attr:`Installation.channel_urls` to the allow-list check before storing.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from shared.model.validation import (
    decode_json_text,
    installation_error,
    json_type,
    require_str,
    show,
)

MAX_URL_LENGTH = 2048
MAX_TOKEN_LENGTH = 4096
MAX_APNS_TOKEN_HEX = 200  # APNs tokens are 32 bytes today; Apple allows for up to 100.
P256DH_BYTES = 65  # an uncompressed P-256 point
AUTH_BYTES = 16

_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces
_B64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


class InstallationPlatform(StrEnum):
    """NH's installation ``platform`` values, which clients send in any case."""

    APNS = "apns"
    FCMV1 = "fcmv1"
    GCM = "gcm"
    WNS = "wns"
    ADM = "adm"
    BAIDU = "baidu"
    XIAOMI = "xiaomi"
    BROWSER = "browser"

    @property
    def uses_url_channel(self) -> bool:
        return self in (InstallationPlatform.WNS, InstallationPlatform.BROWSER)


@dataclass(frozen=True)
class BrowserPushChannel:
    """A Web Push subscription: endpoint URL plus the browser's keys (base64url, as sent)."""

    endpoint: str
    p256dh: str
    auth: str

    def to_wire(self) -> dict[str, object]:
        return {"endpoint": self.endpoint, "p256dh": self.p256dh, "auth": self.auth}


PushChannel = str | BrowserPushChannel


def channel_handle(channel: PushChannel) -> str:
    """The handle a sender addresses: the channel, or a browser channel's endpoint."""
    return channel.endpoint if isinstance(channel, BrowserPushChannel) else channel


def parse_platform(value: object) -> InstallationPlatform:
    text = require_str(value, "platform")
    try:
        return InstallationPlatform(text.strip().lower())
    except ValueError:
        known = ", ".join(platform.value for platform in InstallationPlatform)
        raise installation_error(
            f"platform {show(text)} is not supported. Use one of: {known}."
        ) from None


def parse_push_channel(platform: InstallationPlatform, value: object) -> PushChannel:
    """The channel for ``platform``; browser accepts an object or that object as JSON text."""
    if platform is InstallationPlatform.BROWSER:
        return _parse_browser_channel(value)
    text = require_str(value, "pushChannel")
    if platform is InstallationPlatform.APNS:
        if len(text) > MAX_APNS_TOKEN_HEX or not _HEX.fullmatch(text):
            raise installation_error(
                f"pushChannel {show(text)} is not an APNs device token "
                f"(an even number of hex digits, at most {MAX_APNS_TOKEN_HEX})."
            )
        return text
    if platform is InstallationPlatform.WNS:
        return validate_channel_url(text, "pushChannel")
    if len(text) > MAX_TOKEN_LENGTH or not _TOKEN.fullmatch(text):
        raise installation_error(
            f"pushChannel {show(text)} is not a {platform.value} token "
            f"(1 to {MAX_TOKEN_LENGTH} printable ASCII characters without spaces)."
        )
    return text


def validate_channel_url(value: object, field: str) -> str:
    """An absolute http(s) URL with a host and no user-info (the allow-list is checked later)."""
    text = require_str(value, field)
    problem = _url_problem(text)
    if problem:
        raise installation_error(f"{field} {show(text)} is not a valid channel URL: {problem}.")
    return text


def _url_problem(text: str) -> str | None:
    if len(text) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if not _TOKEN.fullmatch(text):
        return "it must be printable ASCII without spaces"
    try:
        parts = urlsplit(text)
        port_is_valid = parts.port is None or parts.port > 0
    except ValueError:
        return "it cannot be parsed"
    if parts.scheme.lower() not in ("https", "http"):
        return "the scheme must be https"
    if not parts.hostname:
        return "it has no host"
    if "@" in parts.netloc:
        return "user-info is not allowed"
    if not port_is_valid:
        return "the port is invalid"
    return None


def _parse_browser_channel(value: object) -> BrowserPushChannel:
    if isinstance(value, str):
        value = decode_json_text(value, "pushChannel")
    if not isinstance(value, dict):
        raise installation_error(
            "pushChannel for browser must be an object {endpoint, p256dh, auth}, "
            f"not {json_type(value)}."
        )
    p256dh = _browser_key(value.get("p256dh"), "pushChannel.p256dh", P256DH_BYTES)
    if base64.urlsafe_b64decode(_padded(p256dh))[0] != 0x04:
        raise installation_error("pushChannel.p256dh must be an uncompressed P-256 point.")
    return BrowserPushChannel(
        endpoint=validate_channel_url(value.get("endpoint"), "pushChannel.endpoint"),
        p256dh=p256dh,
        auth=_browser_key(value.get("auth"), "pushChannel.auth", AUTH_BYTES),
    )


def _browser_key(value: object, field: str, size: int) -> str:
    text = require_str(value, field)
    try:
        if not _B64.fullmatch(text):
            raise ValueError(text)
        decoded = base64.urlsafe_b64decode(_padded(text))
    except (ValueError, binascii.Error):
        decoded = b""
    if len(decoded) != size:
        raise installation_error(f"{field} must be base64url of {size} bytes.")
    return text


def _padded(text: str) -> str:
    """base64url as browsers send it has no padding; accept standard base64 too."""
    text = text.rstrip("=").replace("+", "-").replace("/", "_")
    return text + "=" * (-len(text) % 4)


def channel_to_wire(channel: PushChannel, *, as_string: bool) -> object:
    """The wire form: browser channels as an object (JS, docs) or JSON text (.NET)."""
    if isinstance(channel, BrowserPushChannel):
        wire = channel.to_wire()
        return json.dumps(wire, separators=(",", ":")) if as_string else wire
    return channel
