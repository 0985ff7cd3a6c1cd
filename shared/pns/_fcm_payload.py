"""FCM payloads: NH's legacy ``gcm`` JSON translated into an HTTP v1 ``Message``, or a v1
``{"message": {...}}`` body passed through. Pure functions; the sender sets the token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

# Legacy notification keys that v1 keeps at message.notification; the rest go to android.
_COMMON_NOTIFICATION = MappingProxyType({"title": "title", "body": "body", "image": "image"})
_ANDROID_NOTIFICATION = MappingProxyType(
    {
        "icon": "icon",
        "sound": "sound",
        "tag": "tag",
        "color": "color",
        "click_action": "click_action",
        "body_loc_key": "body_loc_key",
        "body_loc_args": "body_loc_args",
        "title_loc_key": "title_loc_key",
        "title_loc_args": "title_loc_args",
        "android_channel_id": "channel_id",
    }
)
_PRIORITY = MappingProxyType({"high": "HIGH", "normal": "NORMAL", "10": "HIGH", "5": "NORMAL"})
_TARGETS = ("token", "topic", "condition")


class PayloadError(ValueError):
    """The payload cannot become an FCM v1 message."""


def to_v1_message(payload: bytes) -> dict[str, Any]:
    """The v1 ``Message`` for a payload, without its target (the caller adds ``token``)."""
    try:
        document = json.loads(payload)
    except ValueError as exc:
        raise PayloadError("the payload is not JSON") from exc
    if not isinstance(document, dict):
        raise PayloadError("the payload is not a JSON object")
    if "message" in document:
        message = document["message"]
        if not isinstance(message, dict):
            raise PayloadError("'message' is not a JSON object")
        return {k: v for k, v in message.items() if k not in _TARGETS}
    return _from_gcm(document)


def _from_gcm(legacy: Mapping[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {}
    android: dict[str, Any] = {}
    data = legacy.get("data")
    if data is not None:
        if not isinstance(data, dict):
            raise PayloadError("'data' is not a JSON object")
        # v1 data values must be strings; legacy GCM allowed any JSON.
        message["data"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    notification = legacy.get("notification")
    if notification is not None:
        if not isinstance(notification, dict):
            raise PayloadError("'notification' is not a JSON object")
        common = _pick(notification, _COMMON_NOTIFICATION)
        if common:
            message["notification"] = common
        specific = _pick(notification, _ANDROID_NOTIFICATION)
        if specific:
            android["notification"] = specific
    android.update(_android_options(legacy))
    if android:
        message["android"] = android
    return message


def _android_options(legacy: Mapping[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if "collapse_key" in legacy:
        options["collapse_key"] = str(legacy["collapse_key"])
    priority = _PRIORITY.get(str(legacy.get("priority", "")).lower())
    if priority:
        options["priority"] = priority
    ttl = legacy.get("time_to_live")
    if ttl is not None:
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
            raise PayloadError("'time_to_live' must be a non-negative number of seconds")
        options["ttl"] = f"{ttl}s"
    if "restricted_package_name" in legacy:
        options["restricted_package_name"] = str(legacy["restricted_package_name"])
    return options


def _pick(source: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    picked: dict[str, Any] = {}
    for old, new in names.items():
        if old not in source:
            continue
        value = source[old]
        is_args = old.endswith("_args")
        picked[new] = [str(v) for v in value] if is_args and isinstance(value, list) else value
    return picked
