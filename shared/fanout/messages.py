"""The queue messages of a send, as JSON; anything else is rejected (and ends in poison)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_BYTES = 45 * 1024  # a queue message carries 48 KiB once base64-encoded


class MalformedMessage(ValueError):
    """Not a message Herald wrote; retrying cannot help, so it goes to poison."""


@dataclass(frozen=True)
class Plan:
    hub: str
    notification_id: str


@dataclass(frozen=True)
class Scan:
    hub: str
    notification_id: str
    shard: int
    step: int
    after: str | None


@dataclass(frozen=True)
class Direct:
    hub: str
    notification_id: str
    chunk: int
    devices: list[dict[str, str]]


@dataclass(frozen=True)
class Retry:
    hub: str
    notification_id: str
    key: str
    attempt: int
    targets: list[dict[str, Any]]  # {"i": installation id, "v": view, "m": template or absent}


FanoutMessage = Plan | Scan | Direct


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedMessage(f"field {key!r} must be a non-empty string")
    return value


def _number(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedMessage(f"field {key!r} must be a whole number")
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise MalformedMessage(f"field {key!r} must be a list of objects")
    return value


def _object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedMessage(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise MalformedMessage("not a JSON object")
    return data


def parse_fanout(body: bytes) -> FanoutMessage:
    data = _object(body)
    hub, notification_id = _text(data, "hub"), _text(data, "id")
    kind = data.get("kind")
    if kind == "plan":
        return Plan(hub, notification_id)
    if kind == "scan":
        after = data.get("after")
        if after is not None and not isinstance(after, str):
            raise MalformedMessage("field 'after' must be a string or null")
        return Scan(hub, notification_id, _number(data, "shard"), _number(data, "step"), after)
    if kind == "direct":
        return Direct(hub, notification_id, _number(data, "chunk"), _list(data, "devices"))
    raise MalformedMessage(f"unknown kind {kind!r}")


def parse_retry(body: bytes) -> Retry:
    data = _object(body)
    if data.get("kind") != "retry":
        raise MalformedMessage(f"unknown kind {data.get('kind')!r}")
    return Retry(
        _text(data, "hub"),
        _text(data, "id"),
        _text(data, "key"),
        _number(data, "attempt"),
        _list(data, "targets"),
    )


def encode(message: FanoutMessage | Retry) -> str:
    kind = {Plan: "plan", Scan: "scan", Direct: "direct", Retry: "retry"}[type(message)]
    fields = {k: v for k, v in vars(message).items() if k not in ("hub", "notification_id")}
    data = {"kind": kind, "hub": message.hub, "id": message.notification_id, **fields}
    return json.dumps(data, separators=(",", ":"))
