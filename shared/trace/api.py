"""``GET /{hub}/installations/{installationId}/trace`` (Manage): what the hub's recent
notifications did for one installation, or, with ``notificationId``, what one did.

Each notification is judged by :mod:`shared.trace.verdict` from its stored request and
telemetry and the stored installation: one partition query per notification, nothing
written, and nothing added to any send.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from shared.auth.sas import AccessRight
from shared.engine import Engine, get_engine
from shared.errors import NotFoundError
from shared.http import HttpAnswer, HttpRequestData
from shared.model.installation import Installation
from shared.model.validation import format_datetime, validate_installation_id
from shared.registry.api import hub_and_caller
from shared.sending.request import SendRequest
from shared.store.installations import InstallationKey
from shared.store.notifications import check_notification_id, listing_page
from shared.telemetry import state_of
from shared.trace.verdict import SendFacts, Verdict, trace


async def _judged(
    engine: Engine, hub: str, installation: Installation, notification_id: str, now: datetime
) -> dict[str, Any]:
    rows = await engine.notifications.read_all(hub, notification_id)
    meta = rows.meta
    request = SendRequest.from_json(meta.request)
    facts = SendFacts(
        request=request,
        started=meta.started_at or meta.scheduled_for or meta.enqueued_at,
        state=state_of(rows, now),
        failures=[f for step in rows.steps for f in step.result.failures],
        untold_failures=rows.dropped_failures,
    )
    found = trace(installation, facts)
    entry: dict[str, Any] = {
        "notificationId": notification_id,
        "enqueueTime": format_datetime(meta.enqueued_at),
        "state": facts.state.value,
        "format": request.format.value,
        "tags": request.tag_expression,
        "direct": request.is_direct,
        "targeted": found.verdict is not Verdict.NOT_TARGETED,
        "verdict": found.verdict.value,
        "reasons": [reason.value for reason in found.reasons],
        "failures": [
            {"outcome": f.outcome.value, "pnsReason": f.reason, "template": f.template}
            for f in found.failures
        ],
        "installationChangedSince": found.changed_since,
    }
    if found.templates:
        entry["templates"] = list(found.templates)
    return entry


async def handle_trace(request: HttpRequestData) -> HttpAnswer:
    """The one entry point of the installation_trace function."""
    engine = get_engine()
    hub, _ = await hub_and_caller(engine, request, AccessRight.MANAGE)
    installation_id = validate_installation_id(request.route.get("installationId"))
    one = request.query.get("notificationId")
    top, after = listing_page(request.query)
    key = InstallationKey.of(hub.name, installation_id, hub.shard_count)
    stored = await engine.installations.read(key, max_tags=hub.max_tags)
    installation = None if stored is None else stored.installation
    if installation is None:
        raise NotFoundError("Installation not found.")
    if one is not None:
        ids, following = [check_notification_id(one)], None
    else:
        ids = await engine.notifications.recent_ids(hub.name, top=top, after=after)
        following = ids[-1] if len(ids) == top else None
    now = datetime.now(UTC)
    judged = await asyncio.gather(
        *(_judged(engine, hub.name, installation, notification_id, now) for notification_id in ids)
    )
    return HttpAnswer.json(
        {
            "installationId": installation_id,
            "platform": installation.platform.value,
            "pushChannelExpired": installation.push_channel_expired,
            "notifications": judged,
            "continuationToken": following,
        }
    )
