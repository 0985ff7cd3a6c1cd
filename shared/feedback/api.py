"""``GET /{hub}/feedback`` (Manage): what the feedback processor pruned, when, and why.

Each entry names the installation and handle, the action (``expired``, ``replaced``,
``removed``, ``deleted`` or ``unmatched``), the push service's own reason, when the report
came and when it was applied. Entries come by platform, then by report time. Query:
``platform``, ``since`` (ISO 8601, by report time), ``top`` (1-1000, default 100) and
``continuationToken``; the next page's token comes back in the body and in the
``x-ms-continuationtoken`` header, as the installations listing does. ``hygiene`` holds the
hub's pruning counts: in total, and in the last timer run that touched the hub.
"""

from __future__ import annotations

from shared.auth.sas import AccessRight
from shared.engine import get_engine
from shared.http import HttpAnswer, HttpRequestData
from shared.model.channels import parse_platform
from shared.model.validation import parse_datetime
from shared.registry.api import hub_and_caller
from shared.registry.listing import (
    CONTINUATION_HEADER,
    decode_position,
    encode_position,
    parse_top,
)
from shared.store.hygiene import HygieneStore
from shared.store.scan import ScanPosition


async def handle_feedback(request: HttpRequestData) -> HttpAnswer:
    """The one entry point of the feedback_api function."""
    engine = get_engine()
    hub, _ = await hub_and_caller(engine, request, AccessRight.MANAGE)
    query = request.query
    token = query.get("continuationToken")
    platform = query.get("platform")
    entries, following = await engine.feedback.list_page(
        hub.name,
        platform=None if platform is None else parse_platform(platform).value,
        since=parse_datetime(query.get("since"), "since"),
        top=parse_top(query.get("top")),
        continuation=None if token is None else decode_position(token).continuation,
    )
    summary = await HygieneStore(engine.tables).get_summary(hub.name)
    next_token = None if following is None else encode_position(ScanPosition(0, following))
    body = {
        "feedback": [entry.to_json() for entry in entries],
        "continuationToken": next_token,
        "hygiene": summary.to_json(),
    }
    headers = {} if next_token is None else {CONTINUATION_HEADER: next_token}
    return HttpAnswer.json(body, headers=headers)
