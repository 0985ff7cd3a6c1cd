"""``$filter`` on ``GET /{hub}/registrations``: the handle queries NH and its SDKs send (sans-IO).

NH answers "all registrations for a handle". The filters seen in the field:

- ``ChannelUri eq '…'``: any platform's handle (.NET and Java send it for every platform);
  the JS SDK percent-encodes the URI inside the quotes;
- ``DeviceToken eq '…'`` (Apple; upper-case hex, iOS sends ``deviceToken+eq+'…'``);
- ``GcmRegistrationId``, ``FcmRegistrationId``, ``FcmV1RegistrationId``: one FCM token, which
  the Android SDK expects to match registrations of either FCM kind;
- ``AdmRegistrationId``, ``XiaomiRegistrationId``;
- ``BaiduChannelId eq …' and BaiduUserId eq '…'`` (the JS SDK drops the first quote), and
  ``BaiduUserId-BaiduChannelId eq '{user}-{channel}'`` (the Android SDK);
- ``Endpoint eq '…' and P256DH eq '…' and Auth eq '…'`` (browsers; the endpoint encoded).

Field names are matched in any case; clauses are joined by ``and``. Anything else is a 400,
as NH answers an unsupported query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import unquote

from shared.errors import BadRequestError
from shared.model.channels import BrowserPushChannel, InstallationPlatform
from shared.model.device import Device, handle_key

MAX_FILTER_LENGTH = 4096
_FCM = frozenset({InstallationPlatform.GCM, InstallationPlatform.FCMV1})
_FIELDS: Mapping[str, frozenset[InstallationPlatform] | None] = MappingProxyType(
    {
        "channeluri": None,
        "devicetoken": frozenset({InstallationPlatform.APNS}),
        "gcmregistrationid": _FCM,
        "fcmregistrationid": _FCM,
        "fcmv1registrationid": _FCM,
        "admregistrationid": frozenset({InstallationPlatform.ADM}),
        "xiaomiregistrationid": frozenset({InstallationPlatform.XIAOMI}),
        "baiduchannelid": frozenset({InstallationPlatform.BAIDU}),
        "baiduuserid": frozenset({InstallationPlatform.BAIDU}),
        "baiduuserid-baiduchannelid": frozenset({InstallationPlatform.BAIDU}),
        "endpoint": frozenset({InstallationPlatform.BROWSER}),
        "p256dh": frozenset({InstallationPlatform.BROWSER}),
        "auth": frozenset({InstallationPlatform.BROWSER}),
    }
)
_URL_FIELDS = frozenset({"channeluri", "endpoint"})
# Fields that narrow a query but name no handle on their own.
_PARTIAL_FIELDS = frozenset({"p256dh", "auth", "baiduchannelid", "baiduuserid"})
# A clause: a field, "eq", and a value quoted with ' ('' inside), or bare with an optional
# stray closing quote (the JS SDK's Baidu filter).
# iOS writes spaces as '+' (``deviceToken+eq+'…'``): outside quotes, '+' counts as a space.
_CLAUSE = re.compile(
    r"[\s+]*([A-Za-z0-9-]+)[\s+]+eq[\s+]+(?:'((?:[^']|'')*)'|([^\s+']+)'?)[\s+]*", re.I
)
_AND = re.compile(r"and[\s+]+", re.IGNORECASE)


def _unsupported(text: str) -> BadRequestError:
    return BadRequestError(f"Notification hubs do not support this query: {text[:200]!r}.")


@dataclass(frozen=True)
class HandleFilter:
    """Which registrations a handle query selects.

    ``handles`` are the exact values of the registry's ``Handle`` column that may match (empty:
    any), ``platforms`` the platforms (None: any); :meth:`matches` is the whole query.
    """

    handles: tuple[str, ...] = ()
    platforms: frozenset[InstallationPlatform] | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def matches(self, device: Device) -> bool:
        if self.platforms is not None and device.platform not in self.platforms:
            return False
        if self.handles and handle_key(device) not in self.handles:
            return False
        channel = device.push_channel
        for name, value in self.fields.items():
            if name == "baiduchannelid" and not handle_key(device).endswith("-" + value):
                return False
            if name == "baiduuserid" and not handle_key(device).startswith(value + "-"):
                return False
            if name in ("p256dh", "auth") and not (
                isinstance(channel, BrowserPushChannel) and getattr(channel, name) == value
            ):
                return False
        return True


def _value(name: str, value: str) -> str:
    if name in _URL_FIELDS and "://" not in value and "://" in unquote(value):
        return unquote(value)  # the JS SDK encodes URIs with encodeURIComponent
    return value


def _clauses(text: str) -> dict[str, str]:
    text = text.strip()
    found: dict[str, str] = {}
    position = 0
    while True:
        match = _CLAUSE.match(text, position)
        if match is None:
            raise _unsupported(text)
        name = match.group(1).lower()
        if name not in _FIELDS or name in found:
            raise _unsupported(text)
        quoted, bare = match.group(2), match.group(3)
        value = quoted.replace("''", "'") if quoted is not None else bare
        found[name] = _value(name, value.strip())
        position = match.end()
        if position == len(text):
            return found
        joined = _AND.match(text, position)
        if joined is None:
            raise _unsupported(text)
        position = joined.end()


def parse_filter(text: str) -> HandleFilter:
    """The query of a ``$filter`` value (already URL-decoded once, as query values are)."""
    if len(text) > MAX_FILTER_LENGTH:
        raise _unsupported(text)
    clauses = _clauses(text)
    platforms: frozenset[InstallationPlatform] | None = None
    for name in clauses:
        allowed = _FIELDS[name]
        if allowed is not None:
            platforms = allowed if platforms is None else platforms & allowed
    if platforms is not None and not platforms:
        raise _unsupported(text)
    handle_fields = [n for n in clauses if n not in _PARTIAL_FIELDS]
    if len(handle_fields) > 1:
        raise _unsupported(text)
    extra = {n: v for n, v in clauses.items() if n in _PARTIAL_FIELDS}
    handles: tuple[str, ...] = ()
    if handle_fields:
        name = handle_fields[0]
        value = clauses[name]
        if name == "channeluri":  # an APNs token may come in either case
            handles = tuple(dict.fromkeys((value, value.upper())))
        else:
            handles = (value.upper() if name == "devicetoken" else value,)
    elif "baiduchannelid" in extra and "baiduuserid" in extra:
        handles = (f"{extra.pop('baiduuserid')}-{extra.pop('baiduchannelid')}",)
    return HandleFilter(handles, platforms, extra)
