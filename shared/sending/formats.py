"""NH notification formats, the platforms each one reaches, and what each platform accepts.

``ServiceBusNotification-Format`` names the payload's format. Herald delivers to seven platforms
(:class:`Platform`); each native format reaches exactly one of them, and ``template`` reaches all
seven. ``gcm`` and ``fcmv1`` both reach FCM v1: Google shut the legacy GCM/FCM API down, so NH's
``gcm`` installations are delivered through FCM v1 as well, and the FCM sender translates a
legacy ``gcm`` payload (one without a top-level ``"message"``) into a v1 message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from types import MappingProxyType

from shared.errors import BadRequestError
from shared.pns.base import Platform


class SendFormat(StrEnum):
    """The ``ServiceBusNotification-Format`` values Herald delivers."""

    APPLE = "apple"
    GCM = "gcm"
    FCMV1 = "fcmv1"
    WINDOWS = "windows"
    BROWSER = "browser"
    ADM = "adm"
    BAIDU = "baidu"
    XIAOMI = "xiaomi"
    TEMPLATE = "template"


ALL_PLATFORMS: tuple[Platform, ...] = tuple(Platform)

_TARGETS: Mapping[SendFormat, tuple[Platform, ...]] = MappingProxyType(
    {
        SendFormat.APPLE: (Platform.APNS,),
        SendFormat.GCM: (Platform.FCMV1,),
        SendFormat.FCMV1: (Platform.FCMV1,),
        SendFormat.WINDOWS: (Platform.WNS,),
        SendFormat.BROWSER: (Platform.BROWSER,),
        SendFormat.ADM: (Platform.ADM,),
        SendFormat.BAIDU: (Platform.BAIDU,),
        SendFormat.XIAOMI: (Platform.XIAOMI,),
        SendFormat.TEMPLATE: ALL_PLATFORMS,
    }
)
# The docs' Python sample sends "fcm"; it means the legacy payload, as "gcm" does.
_ALIASES = MappingProxyType({"fcm": SendFormat.GCM})
_RETIRED = MappingProxyType(
    {
        "windowsphone": "MPNS (windowsphone) was retired by Microsoft; use 'windows' (WNS)",
        "nokiax": "Nokia X push was retired; use 'fcmv1'",
    }
)

# NH's names for the platforms, as ApplicationPlatform and TargetPlatforms show them.
NH_PLATFORM_NAMES: Mapping[Platform, str] = MappingProxyType(
    {
        Platform.APNS: "apple",
        Platform.FCMV1: "fcmv1",
        Platform.WNS: "windows",
        Platform.BROWSER: "browser",
        Platform.ADM: "adm",
        Platform.BAIDU: "baidu",
        Platform.XIAOMI: "xiaomi",
    }
)

# Installation platform (as stored) -> the platform that delivers to it.
_INSTALLATION_PLATFORMS = MappingProxyType(
    {
        "apns": Platform.APNS,
        "fcmv1": Platform.FCMV1,
        "gcm": Platform.FCMV1,
        "wns": Platform.WNS,
        "browser": Platform.BROWSER,
        "adm": Platform.ADM,
        "baidu": Platform.BAIDU,
        "xiaomi": Platform.XIAOMI,
    }
)

# Largest payload each PNS takes, in bytes of the final (rendered, unencrypted) body.
PAYLOAD_LIMITS: Mapping[Platform, int] = MappingProxyType(
    {
        Platform.APNS: 4096,  # 5120 for apns-push-type voip
        Platform.FCMV1: 4096,
        Platform.WNS: 5000,
        Platform.BROWSER: 3993,  # 4096 encrypted (RFC 8030 7.2) less the aes128gcm overhead
        Platform.ADM: 6144,
        Platform.BAIDU: 4096,  # Baidu's msg
        Platform.XIAOMI: 4096,  # the JSON body the Mi Push form fields come from
    }
)
APNS_VOIP_PAYLOAD_LIMIT = 5120
WNS_TYPES = frozenset({"wns/toast", "wns/tile", "wns/badge", "wns/raw"})
WNS_RAW = "wns/raw"
_WEB_PUSH_HEADERS = frozenset({"ttl", "urgency", "topic"})
BAIDU_MESSAGE_TYPE = "x-baidu-message-type"  # NH's BaiduNotification.MessageType: 0 or 1


def parse_format(value: str | None) -> SendFormat:
    """The format named by the header (any case), or a 400 that says what to use instead."""
    if value is None or not value.strip():
        raise BadRequestError("The ServiceBusNotification-Format header is required.")
    name = value.strip().lower()
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        return SendFormat(name)
    except ValueError:
        pass
    shown = value.strip()[:40]
    if name in _RETIRED:
        raise BadRequestError(
            f"The notification format '{shown}' is not supported: {_RETIRED[name]}."
        )
    known = ", ".join(f.value for f in SendFormat)
    raise BadRequestError(f"The notification format '{shown}' is unknown. Use one of: {known}.")


def target_platforms(format: SendFormat) -> tuple[Platform, ...]:
    return _TARGETS[format]


def delivery_platform(installation_platform: str) -> Platform | None:
    """The platform delivering to an installation platform (``gcm`` -> FCM v1); None for a
    platform Herald does not know."""
    return _INSTALLATION_PLATFORMS.get(installation_platform.lower())


def payload_limit(platform: Platform, headers: Mapping[str, str]) -> int:
    """The platform's limit for a message with these (lower-case) pass-through headers."""
    if platform is Platform.APNS and headers.get("apns-push-type") == "voip":
        return APNS_VOIP_PAYLOAD_LIMIT
    return PAYLOAD_LIMITS[platform]


def oversize_reason(platform: Platform, payload: bytes, headers: Mapping[str, str]) -> str | None:
    """Why the payload is too big for the platform, or None when it fits."""
    limit = payload_limit(platform, headers)
    if len(payload) <= limit:
        return None
    name = NH_PLATFORM_NAMES[platform]
    return f"InvalidNotificationSize: the {name} payload is {len(payload)} bytes, limit {limit}"


def _is_apns_header(name: str) -> bool:
    # NH does not let a send override apns-topic: the hub's credentials own the bundle id.
    return name.startswith("apns-") and name != "apns-topic"


def _is_wns_header(name: str) -> bool:
    return name.startswith("x-wns-")


def _is_web_push_header(name: str) -> bool:
    return name in _WEB_PUSH_HEADERS


def _is_baidu_header(name: str) -> bool:
    return name == BAIDU_MESSAGE_TYPE


def _no_headers(name: str) -> bool:
    return False


_PASSES: Mapping[Platform, Callable[[str], bool]] = MappingProxyType(
    {
        Platform.APNS: _is_apns_header,
        Platform.FCMV1: _no_headers,
        Platform.WNS: _is_wns_header,
        Platform.BROWSER: _is_web_push_header,
        Platform.ADM: _no_headers,
        Platform.BAIDU: _is_baidu_header,
        Platform.XIAOMI: _no_headers,
    }
)


def pass_through(platform: Platform, headers: Mapping[str, str]) -> dict[str, str]:
    """The headers a platform's sender reads, names lower-cased: ``apns-*`` (not
    ``apns-topic``) for APNs, ``X-WNS-*`` for WNS, ``TTL``/``Urgency``/``Topic`` for Web Push,
    ``X-Baidu-Message-Type`` for Baidu, none for FCM, ADM and Xiaomi (their options travel in
    the payload)."""
    passes = _PASSES[platform]
    picked: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if passes(lowered):
            picked[lowered] = value.strip()
    return picked
