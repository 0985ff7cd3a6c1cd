"""The FCM v1 ``Message`` schema checks, as pure functions."""

from __future__ import annotations

import json
import re
from typing import Any

_TOPIC = re.compile(r"[a-zA-Z0-9\-_.~%]+")
_DURATION = re.compile(r"\d+(\.\d{1,9})?s")
_MAX_TTL = 2_419_200  # four weeks
_TARGETS = ("token", "topic", "condition")
_MESSAGE_FIELDS = frozenset(
    {"name", "data", "notification", "android", "webpush", "apns", "fcm_options", *_TARGETS}
)
_NOTIFICATION = frozenset({"title", "body", "image"})
_ANDROID = frozenset(
    {
        "collapse_key",
        "priority",
        "ttl",
        "restricted_package_name",
        "data",
        "notification",
        "fcm_options",
        "direct_boot_ok",
        "bandwidth_constrained_ok",
        "restricted_satellite_ok",
    }
)
_APNS = frozenset({"headers", "payload", "fcm_options", "live_activity_token"})
_WEBPUSH = frozenset({"headers", "data", "notification", "fcm_options"})
_RESERVED_KEYS = frozenset({"from", "message_type"})


class SchemaError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def validate_message(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The message and its ``validate_only`` flag, or SchemaError naming the bad field."""
    _known(body, frozenset({"message", "validate_only"}), "")
    validate_only = body.get("validate_only", False)
    if not isinstance(validate_only, bool):
        raise SchemaError(_bad_value("validate_only", "TYPE_BOOL", validate_only), "validate_only")
    message = body.get("message")
    if not isinstance(message, dict):
        raise SchemaError("Request contains an invalid argument.", "message")
    _known(message, _MESSAGE_FIELDS, "message")
    targets = [name for name in _TARGETS if name in message]
    if len(targets) != 1:
        raise SchemaError("Exactly one of token, topic or condition must be set.", "message")
    target = message[targets[0]]
    if not isinstance(target, str) or not target:
        raise SchemaError(_bad_value(f"message.{targets[0]}", "TYPE_STRING", target), "message")
    if targets[0] == "topic" and not _TOPIC.fullmatch(target):
        raise SchemaError("Invalid topic name.", "message.topic")
    _string_map(message, "data", "message", reserved=True)
    _object(message, "notification", "message", _NOTIFICATION)
    _object(message, "fcm_options", "message", frozenset({"analytics_label"}))
    _android(message.get("android"))
    _apns(message.get("apns"))
    _webpush(message.get("webpush"))
    return message, validate_only


def message_size(message: dict[str, Any]) -> int:
    """Bytes the size limit counts: every key and value except the target."""
    content = {key: value for key, value in message.items() if key not in (*_TARGETS, "name")}
    return len(json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode())


def _android(android: object) -> None:
    if android is None:
        return
    block = _object({"android": android}, "android", "message", _ANDROID)
    _string_map(block, "data", "message.android", reserved=True)
    priority = block.get("priority", "NORMAL")
    if priority not in ("NORMAL", "HIGH"):
        raise SchemaError(
            _bad_value("message.android.priority", "TYPE_ENUM", priority),
            "message.android.priority",
        )
    ttl = block.get("ttl")
    if ttl is not None and not _valid_ttl(ttl):
        raise SchemaError("Invalid value at 'message.android.ttl'", "message.android.ttl")
    if not isinstance(block.get("notification", {}), dict):
        raise SchemaError("Invalid android notification", "message.android.notification")


def _apns(apns: object) -> None:
    if apns is None:
        return
    block = _object({"apns": apns}, "apns", "message", _APNS)
    _string_map(block, "headers", "message.apns")
    if not isinstance(block.get("payload", {}), dict):
        raise SchemaError("Invalid APNs payload", "message.apns.payload")


def _webpush(webpush: object) -> None:
    if webpush is None:
        return
    block = _object({"webpush": webpush}, "webpush", "message", _WEBPUSH)
    _string_map(block, "headers", "message.webpush")
    _string_map(block, "data", "message.webpush")
    if not isinstance(block.get("notification", {}), dict):
        raise SchemaError("Invalid webpush notification", "message.webpush.notification")


def _valid_ttl(ttl: object) -> bool:
    if not isinstance(ttl, str) or not _DURATION.fullmatch(ttl):
        return False
    return 0 <= float(ttl[:-1]) <= _MAX_TTL


def _object(parent: dict[str, Any], name: str, path: str, fields: frozenset[str]) -> dict[str, Any]:
    value = parent.get(name, {})
    if not isinstance(value, dict):
        raise SchemaError(_bad_value(f"{path}.{name}", "TYPE_MESSAGE", value), f"{path}.{name}")
    _known(value, fields, f"{path}.{name}")
    return value


def _string_map(parent: dict[str, Any], name: str, path: str, *, reserved: bool = False) -> None:
    value = parent.get(name, {})
    where = f"{path}.{name}"
    if not isinstance(value, dict):
        raise SchemaError(_bad_value(where, "TYPE_MESSAGE", value), where)
    for index, (key, item) in enumerate(value.items()):
        if not isinstance(item, str):
            raise SchemaError(_bad_value(f"{where}[{index}].value", "TYPE_STRING", item), where)
        if reserved and (key in _RESERVED_KEYS or key.startswith(("google", "gcm"))):
            raise SchemaError(f"Invalid data payload key: {key}", where)


def _known(value: dict[str, Any], fields: frozenset[str], path: str) -> None:
    for key in value:
        if key not in fields:
            where = f" at '{path}'" if path else ""
            raise SchemaError(
                f'Invalid JSON payload received. Unknown name "{key}"{where}: Cannot find field.',
                path or key,
            )


def _bad_value(where: str, kind: str, value: object) -> str:
    return f"Invalid value at '{where}' ({kind}), {json.dumps(value)}"
