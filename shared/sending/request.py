"""A send request, parsed and checked from the HTTP request, storable as JSON.

Routes (:class:`SendRoute`): ``POST /{hub}/messages`` (tag expression, broadcast, ``?test``,
``?direct``), ``POST /{hub}/messages/$batch?direct`` and ``POST /{hub}/schedulednotifications``.
Rules beyond the NH docs, each chosen to fail loudly rather than send to the wrong devices:

- ``?test`` and ``?direct`` count by presence (``?test``, ``?test=true``); ``false``/``0`` is off.
  ``test`` applies only to tag and broadcast sends (JS parses a test outcome only then).
- A ``ServiceBusNotification-DeviceHandle`` without ``?direct`` is a 400 (NH would broadcast),
  as are tags on a direct send, a direct ``template`` send (a handle has no template) and a
  device handle on a scheduled send.
- Native sends carry the ``apns-*`` (not ``apns-topic``), ``X-WNS-*`` or Web Push
  (``TTL``/``Urgency``/``Topic``) headers of their platform; template sends take headers from
  each device's template instead.
- Template bodies are a flat JSON object whose values are strings; numbers are accepted and
  kept as written (so ``#(badge)`` can render them).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared import tags
from shared.errors import BadRequestError, HeraldError, PayloadTooLargeError
from shared.http import HttpRequestData
from shared.pns.base import Platform, WebPushKeys
from shared.sending import _headers
from shared.sending.formats import (
    SendFormat,
    oversize_reason,
    parse_format,
    pass_through,
    target_platforms,
)
from shared.sending.multipart import parse_batch
from shared.templates import Properties

MAX_BODY = 64 * 1024
# A batch carries up to 1000 handles besides the 64 KB notification (FCM tokens are ~160
# characters, channel URLs up to 2 KB), so its whole body gets a larger cap.
MAX_BATCH_BODY = 4 * 1024 * 1024
_MAX_HANDLE = 4096
_STORED_VERSION = 1
_OFF = frozenset({"false", "0"})


class SendRoute(StrEnum):
    MESSAGES = "messages"  # POST /{hub}/messages
    BATCH = "batch"  # POST /{hub}/messages/$batch?direct
    SCHEDULED = "scheduled"  # POST /{hub}/schedulednotifications


@dataclass(frozen=True)
class DirectDevice:
    """A device handle named by a direct send; browser handles come with their keys."""

    handle: str
    web_push_keys: WebPushKeys | None = None


@dataclass(frozen=True)
class SendRequest:
    format: SendFormat
    payload: bytes  # the notification body as sent (template sends: the properties JSON)
    tag_expression: str | None = None  # the ServiceBusNotification-Tags text, stripped
    expression: tags.Expr | None = None  # parsed; None with no devices means broadcast
    devices: tuple[DirectDevice, ...] = ()  # direct and batch direct sends only
    schedule_time: datetime | None = None  # UTC; scheduled sends only
    test: bool = False
    properties: Mapping[str, str] | None = None  # template sends only
    headers: Mapping[str, str] = field(default_factory=dict)  # pass-through, names lower-case

    @property
    def platforms(self) -> tuple[Platform, ...]:
        """The platforms this send reaches: one for a native format, all for template."""
        return target_platforms(self.format)

    @property
    def is_template(self) -> bool:
        return self.format is SendFormat.TEMPLATE

    @property
    def is_direct(self) -> bool:
        return bool(self.devices)

    @property
    def notification_body(self) -> str:
        """The body as text, for telemetry's NotificationBody."""
        return self.payload.decode("utf-8", "replace")

    @functools.cached_property
    def template_properties(self) -> Properties:
        """The properties, folded once for rendering on every device."""
        return Properties(self.properties or {})

    def to_json(self) -> str:
        data: dict[str, Any] = {"v": _STORED_VERSION, "format": self.format.value}
        try:
            data["body"] = self.payload.decode("utf-8")
        except UnicodeDecodeError:
            data["body64"] = base64.b64encode(self.payload).decode("ascii")
        if self.tag_expression is not None:
            data["tags"] = self.tag_expression
        if self.devices:
            data["devices"] = [_device_to_json(d) for d in self.devices]
        if self.schedule_time is not None:
            data["schedule"] = self.schedule_time.isoformat()
        if self.test:
            data["test"] = True
        if self.properties is not None:
            data["properties"] = dict(self.properties)
        if self.headers:
            data["headers"] = dict(self.headers)
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> SendRequest:
        """Read back what :meth:`to_json` wrote; unreadable data is a (500) HeraldError."""
        try:
            return _from_json(json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError, BadRequestError) as exc:
            raise HeraldError(f"A stored send request is unreadable: {exc}") from exc


def parse_send_request(
    request: HttpRequestData, route: SendRoute, *, max_tags: int, now: datetime
) -> SendRequest:
    """The checked send request, or a 400/413 naming the first problem found."""
    limit = MAX_BATCH_BODY if route is SendRoute.BATCH else MAX_BODY
    if len(request.body) > limit:
        raise PayloadTooLargeError(f"The message size cannot be over {limit // 1024} Kb.")
    format = parse_format(request.header("ServiceBusNotification-Format"))
    payload, batch_devices = request.body, None
    if route is SendRoute.BATCH:
        batch = parse_batch(request.header("Content-Type"), request.body)
        payload, batch_devices = batch.notification, batch.devices
        if len(payload) > MAX_BODY:
            raise PayloadTooLargeError("The message size cannot be over 64 Kb.")
    if not payload.strip():
        raise BadRequestError("The notification body is empty.")
    properties, headers = _content(format, payload, request.headers)
    direct = route is SendRoute.BATCH or _flag(request.query, "direct")
    devices = _devices(request, format, direct, route, batch_devices)
    tag_text = (request.header("ServiceBusNotification-Tags") or "").strip() or None
    if devices and tag_text is not None:
        raise BadRequestError(
            "A direct send goes to its device handles; it cannot also carry "
            "ServiceBusNotification-Tags."
        )
    return SendRequest(
        format=format,
        payload=payload,
        tag_expression=tag_text,
        expression=tags.parse_optional(tag_text, max_tags=max_tags),
        devices=devices,
        schedule_time=_schedule_time(request, now) if route is SendRoute.SCHEDULED else None,
        test=route is SendRoute.MESSAGES and not direct and _flag(request.query, "test"),
        properties=properties,
        headers=headers,
    )


def _content(
    format: SendFormat, payload: bytes, request_headers: Mapping[str, str]
) -> tuple[dict[str, str] | None, dict[str, str]]:
    """(template properties, pass-through headers), both checked."""
    if format is SendFormat.TEMPLATE:
        return _template_properties(payload), {}
    (platform,) = target_platforms(format)
    headers = pass_through(platform, request_headers)
    if format is SendFormat.APPLE:
        _headers.apply_legacy_apple(headers, request_headers)
    if format is SendFormat.WINDOWS and "x-wns-type" not in headers:
        raise BadRequestError(
            "A windows notification needs the X-WNS-Type header: wns/toast, wns/tile, "
            "wns/badge or wns/raw."
        )
    headers = _headers.check_headers(headers)
    _headers.check_native_payload(format, payload, headers)
    too_big = oversize_reason(platform, payload, headers)
    if too_big is not None:
        raise PayloadTooLargeError(f"{too_big}.")
    return None, headers


def _template_properties(payload: bytes) -> dict[str, str]:
    # Numbers parse as their own text, so "3" and 3 render the same.
    document = _headers.load_json_object(payload, "A template notification", numbers_as_text=True)
    bad = next((k for k, v in document.items() if not isinstance(v, str)), None)
    if bad is not None:
        raise BadRequestError(
            f"A template notification is a flat JSON object of strings; '{bad[:64]}' is not."
        )
    return document


def _devices(
    request: HttpRequestData,
    format: SendFormat,
    direct: bool,
    route: SendRoute,
    batch_items: tuple[object, ...] | None,
) -> tuple[DirectDevice, ...]:
    handle = request.header("ServiceBusNotification-DeviceHandle")
    if route is SendRoute.SCHEDULED and (direct or handle is not None):
        raise BadRequestError("A scheduled send goes to tags or everyone, not to device handles.")
    if not direct:
        if handle is not None:
            raise BadRequestError(
                "ServiceBusNotification-DeviceHandle needs the 'direct' query flag."
            )
        return ()
    if format is SendFormat.TEMPLATE:
        raise BadRequestError(
            "A template notification cannot be sent directly: a device handle has no template."
        )
    (platform,) = target_platforms(format)
    if batch_items is not None:
        unique = dict.fromkeys(_batch_device(platform, item) for item in batch_items)
        return tuple(unique)
    if handle is None:
        raise BadRequestError("A direct send needs the ServiceBusNotification-DeviceHandle header.")
    keys = None
    if platform is Platform.BROWSER:
        keys = _keys(request.header("P256DH"), request.header("Auth"))
    return (_direct_device(platform, handle, keys),)


def _batch_device(platform: Platform, item: object) -> DirectDevice:
    if isinstance(item, str):
        keys = None
    elif platform is Platform.BROWSER and isinstance(item, dict):
        endpoint, p256dh, auth = (item.get(k) for k in ("endpoint", "p256dh", "auth"))
        if not (isinstance(endpoint, str) and isinstance(p256dh, str) and isinstance(auth, str)):
            raise BadRequestError(
                "A browser device in a batch is an object with string endpoint, p256dh and auth."
            )
        item, keys = endpoint, WebPushKeys(p256dh=p256dh, auth=auth)
    else:
        raise BadRequestError("The devices part must list device handles as strings.")
    return _direct_device(platform, item, keys)


def _direct_device(platform: Platform, handle: str, keys: WebPushKeys | None) -> DirectDevice:
    handle = handle.strip()
    shown = handle[:80]
    if not 0 < len(handle) <= _MAX_HANDLE or not all("!" <= c <= "~" for c in handle):
        raise BadRequestError(
            f"The device handle '{shown}' must be 1 to {_MAX_HANDLE} printable ASCII "
            "characters without spaces."
        )
    if platform is Platform.APNS and not all(c in "0123456789abcdefABCDEF" for c in handle):
        raise BadRequestError(f"The device handle '{shown}' is not an APNs token (hex).")
    if platform in (Platform.WNS, Platform.BROWSER) and not handle.lower().startswith(
        ("https://", "http://")
    ):
        raise BadRequestError(f"The device handle '{shown}' must be an https URL.")
    if platform is Platform.BROWSER and keys is None:
        raise BadRequestError("A browser direct send needs the P256DH and Auth headers.")
    return DirectDevice(handle, keys)


def _keys(p256dh: str | None, auth: str | None) -> WebPushKeys | None:
    if not p256dh or not auth:
        return None
    return WebPushKeys(p256dh=p256dh.strip(), auth=auth.strip())


def _schedule_time(request: HttpRequestData, now: datetime) -> datetime:
    header = "ServiceBusNotification-ScheduleTime"
    text = request.header(header)
    if text is None or not text.strip():
        raise BadRequestError(f"A scheduled send needs the {header} header.")
    moment = _headers.parse_date(text, header)
    if moment <= now:
        raise BadRequestError(f"The {header} '{text.strip()[:64]}' is not in the future.")
    return moment


def _flag(query: Mapping[str, str], name: str) -> bool:
    """A query flag by presence, any case: ``?test``, ``?test=true``; ``false``/``0`` is off."""
    value = next((v for k, v in query.items() if k.lower() == name), None)
    return value is not None and value.strip().lower() not in _OFF


def _device_to_json(device: DirectDevice) -> dict[str, str]:
    data = {"handle": device.handle}
    if device.web_push_keys is not None:
        data |= {"p256dh": device.web_push_keys.p256dh, "auth": device.web_push_keys.auth}
    return data


def _from_json(data: dict[str, Any]) -> SendRequest:
    if data["v"] != _STORED_VERSION:
        raise ValueError(f"version {data['v']} is not {_STORED_VERSION}")
    body64 = data.get("body64")
    payload = base64.b64decode(body64) if body64 is not None else data["body"].encode()
    tag_text = data.get("tags")
    schedule = data.get("schedule")
    return SendRequest(
        format=SendFormat(data["format"]),
        payload=payload,
        tag_expression=tag_text,
        # Checked against the hub's limit when it was sent; a later, lower limit must not
        # make a stored send unreadable.
        expression=tags.parse_optional(tag_text, max_tags=len(tag_text or "")),
        devices=tuple(
            DirectDevice(d["handle"], WebPushKeys(d["p256dh"], d["auth"]) if "auth" in d else None)
            for d in data.get("devices", ())
        ),
        schedule_time=datetime.fromisoformat(schedule) if schedule is not None else None,
        test=bool(data.get("test", False)),
        properties=data.get("properties"),
        headers=data.get("headers", {}),
    )
