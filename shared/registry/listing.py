"""``GET /{hub}/installations`` (Manage): the registry, page by page, as JSON or JSON lines.

Query: ``tag``, ``platform``, ``userId``, ``updatedSince`` (ISO 8601), ``top`` (1-1000,
default 100) and ``continuationToken``. The token of the next page comes back in the
``x-ms-continuationtoken`` header and, for JSON, in the body; no token means the last page.
The registry holds installations and registrations: JSON lists them under ``installations``
and ``registrations``. With ``Accept: application/x-ndjson`` the body is one document per line
(a registration's has ``registrationId``), which is the export format that import reads back.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.engine import Engine
from shared.errors import BadRequestError
from shared.http import HttpAnswer, HttpRequestData
from shared.hubs.model import Hub
from shared.model.channels import parse_platform
from shared.model.installation import Installation
from shared.model.registration import Registration
from shared.model.validation import parse_datetime
from shared.request_json import parse_request_json
from shared.store.scan import InstallationScanner, ScanFilter, ScanPosition

CONTINUATION_HEADER = "x-ms-continuationtoken"
NDJSON = "application/x-ndjson"
DEFAULT_TOP = 100
MAX_TOP = 1000
_PRINTABLE = re.compile(r"[\x20-\x7e]*")


def encode_token(data: Mapping[str, object]) -> str:
    """A continuation token: URL-safe (.NET puts it in the query unencoded), opaque."""
    text = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    """What :func:`encode_token` encoded; a 400 for anything else."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = parse_request_json(text, "The continuationToken")
        if not isinstance(data, dict):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, BadRequestError):
        raise BadRequestError("The continuationToken is not one this hub issued.") from None
    return data


def encode_position(position: ScanPosition) -> str:
    return encode_token({"s": position.shard, "c": position.continuation})


def decode_position(token: str) -> ScanPosition:
    data = decode_token(token)
    try:
        shard, continuation = data["s"], data["c"]
        if not isinstance(shard, int) or shard < 0:
            raise ValueError
        # Storage's own tokens are ASCII; they travel back to it in request headers.
        if continuation is not None and not (
            isinstance(continuation, dict)
            and all(isinstance(v, str) and _PRINTABLE.fullmatch(v) for v in continuation.values())
        ):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise BadRequestError("The continuationToken is not one this hub issued.") from None
    return ScanPosition(shard, continuation)


def parse_top(text: str | None) -> int:
    """The ``top`` query parameter of a paged listing."""
    if text is None:
        return DEFAULT_TOP
    # ASCII digits only (int() takes other scripts too), and few enough for int() to take.
    if not (text.isascii() and text.isdigit() and len(text) <= 9) or not 1 <= int(text) <= MAX_TOP:
        raise BadRequestError(f"top must be a whole number from 1 to {MAX_TOP}.")
    return int(text)


def _filters(request: HttpRequestData) -> ScanFilter:
    query = request.query
    platform = query.get("platform")
    since = query.get("updatedSince")
    updated_since: datetime | None = None
    if since is not None:
        updated_since = parse_datetime(since, "updatedSince")
    return ScanFilter(
        platform=None if platform is None else parse_platform(platform).value,
        user_id=query.get("userId"),
        updated_since=updated_since,
        tag=query.get("tag"),
    )


async def list_installations(engine: Engine, hub: Hub, request: HttpRequestData) -> HttpAnswer:
    token = request.query.get("continuationToken")
    position = ScanPosition() if token is None else decode_position(token)
    scanner = InstallationScanner(engine.tables)
    found, following = await scanner.page(
        hub.name,
        hub.shard_count,
        position,
        _filters(request),
        top=parse_top(request.query.get("top")),
        max_tags=hub.max_tags,
    )
    next_token = None if following is None else encode_position(following)
    headers = {} if next_token is None else {CONTINUATION_HEADER: next_token}
    if NDJSON in (request.header("accept") or ""):
        lines = "".join(json.dumps(d.to_wire(), separators=(",", ":")) + "\n" for d in found)
        return HttpAnswer(200, lines.encode(), {"Content-Type": NDJSON, **headers})
    body = {
        "installations": [d.to_wire() for d in found if isinstance(d, Installation)],
        "registrations": [d.to_wire() for d in found if isinstance(d, Registration)],
        "continuationToken": next_token,
    }
    return HttpAnswer.json(body, headers=headers)
