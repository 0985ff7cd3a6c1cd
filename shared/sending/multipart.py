"""The ``multipart/mixed`` body of a batch direct send (``POST /{hub}/messages/$batch?direct``).

Two parts, told apart by ``Content-Disposition: inline; name=notification`` and
``name=devices`` (or, when neither is named, by position): the notification payload, and a
JSON array of device handles. The SDKs write the boundary differently (JS:
``boundary = "nh-boundary-…"`` with spaces around ``=``; .NET: ``boundary="nh-batch-…"``), lines
may end in CRLF or LF, and NH's own docs show the handles as ``['a','b']`` with single quotes,
so all of these are accepted. Anything else malformed is a 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.errors import BadRequestError
from shared.request_json import parse_request_json

MAX_BATCH_DEVICES = 1000
_MAX_BOUNDARY = 200
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_LINE_BREAK = re.compile(r"\r?\n")
_NAME = re.compile(r'(?:^|;)\s*name\s*=\s*"?([^";]*)"?', re.IGNORECASE)
_QUOTED_LIST = re.compile(r"\s*\[\s*(?:'[^'\\]*'\s*(?:,\s*'[^'\\]*'\s*)*)?\]\s*")
_QUOTED_ITEM = re.compile(r"'([^'\\]*)'")
_NOTIFICATION = "notification"
_DEVICES = "devices"
_MISSING_PART = "Could not find a part of the multipart content supplied"


@dataclass(frozen=True)
class BatchBody:
    notification: bytes
    notification_type: str | None  # the notification part's Content-Type
    devices: tuple[object, ...]  # the devices part's JSON array items, unchecked


@dataclass(frozen=True)
class _Part:
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def name(self) -> str | None:
        match = _NAME.search(self.headers.get("content-disposition", ""))
        return match.group(1).strip().lower() if match else None


def parse_batch(content_type: str | None, body: bytes) -> BatchBody:
    """The two parts of a batch direct send body, or a 400 saying what is wrong."""
    boundary = _boundary(content_type)
    parts = [_parse_part(raw) for raw in _split(body, boundary)]
    notification, devices = _pick(parts)
    return BatchBody(
        notification=notification.body,
        notification_type=notification.headers.get("content-type"),
        devices=_device_items(devices.body),
    )


def _boundary(content_type: str | None) -> str:
    media, _, params = (content_type or "").partition(";")
    if not media.strip().lower().startswith("multipart/"):
        raise BadRequestError(
            "A batch send must have Content-Type multipart/mixed with a boundary, not "
            f"'{(content_type or '')[:80]}'."
        )
    for match in _PARAM.finditer(";" + params):
        if match.group(1).lower() == "boundary":
            value = match.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            if 0 < len(value) <= _MAX_BOUNDARY and value.isprintable():
                return value
            break
    raise BadRequestError("The multipart Content-Type has no usable boundary parameter.")


def _split(body: bytes, boundary: str) -> list[bytes]:
    """The parts between the delimiter lines, up to the close delimiter."""
    marker = re.escape(b"--" + boundary.encode())
    delimiter = re.compile(rb"(?:\A|\r?\n)" + marker + rb"(--)?[ \t]*(?:\r?\n|\Z)")
    parts: list[bytes] = []
    start: int | None = None
    for match in delimiter.finditer(body):
        if start is not None:
            parts.append(body[start : match.start()])
        if match.group(1):
            return parts
        start = match.end()
    if start is None:
        raise BadRequestError(f"{_MISSING_PART}: no line starts with the boundary.")
    raise BadRequestError("The multipart body has no closing boundary line.")


def _parse_part(raw: bytes) -> _Part:
    if raw.startswith((b"\r\n", b"\n")):  # no headers at all
        return _Part({}, raw[2:] if raw.startswith(b"\r\n") else raw[1:])
    split = _BLANK_LINE.search(raw)
    if split is None:
        raise BadRequestError("A multipart part has no blank line after its headers.")
    headers: dict[str, str] = {}
    last = ""
    for line in _LINE_BREAK.split(raw[: split.start()].decode("latin-1")):
        if line[:1] in (" ", "\t") and last:  # a folded continuation line
            headers[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise BadRequestError(f"A multipart part has a malformed header line '{line[:80]}'.")
        last = name.strip().lower()
        headers[last] = value.strip()
    return _Part(headers, raw[split.end() :])


def _pick(parts: list[_Part]) -> tuple[_Part, _Part]:
    named: dict[str, _Part] = {}
    for part in parts:
        name = part.name
        if name in named:
            raise BadRequestError(f"The multipart body has two parts named '{name}'.")
        if name is not None:
            named[name] = part
    if not named and len(parts) == 2:
        return parts[0], parts[1]
    notification, devices = named.get(_NOTIFICATION), named.get(_DEVICES)
    if notification is None or devices is None:
        missing = _NOTIFICATION if notification is None else _DEVICES
        raise BadRequestError(f"{_MISSING_PART}: no part named '{missing}'.")
    return notification, devices


def _device_items(raw: bytes) -> tuple[object, ...]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequestError("The devices part is not UTF-8 text.") from exc
    try:
        items = parse_request_json(text, "The devices part")
    except BadRequestError:
        if not _QUOTED_LIST.fullmatch(text):
            raise BadRequestError(
                "The devices part must be a JSON array of device handles."
            ) from None
        items = _QUOTED_ITEM.findall(text)
    if not isinstance(items, list):
        raise BadRequestError("The devices part must be a JSON array of device handles.")
    if not items:
        raise BadRequestError("The devices part lists no device handles.")
    if len(items) > MAX_BATCH_DEVICES:
        raise BadRequestError(
            f"A batch send takes at most {MAX_BATCH_DEVICES} devices; this one has {len(items)}."
        )
    return tuple(items)
