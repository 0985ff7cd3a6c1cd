"""``/{hub}/messages`` and ``/{hub}/schedulednotifications``: sends, test sends, direct and
batch direct sends, scheduled sends and their cancellation, and per-message telemetry.

A send stores its request in the notification's partition and answers 201 with an absolute
``Location``; the plan message it hands to the queue output binding starts the fan-out.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from shared.auth.sas import AccessRight
from shared.delivery import deliver, handle_of, renderer
from shared.engine import Engine, get_engine
from shared.errors import NotFoundError
from shared.fanout.messages import Plan, encode
from shared.fanout.select import Target
from shared.fanout.walk import Audience, walk_step
from shared.fanout.worker import installation_platforms
from shared.http import HttpAnswer, HttpRequestData
from shared.hubs.model import Hub
from shared.metrics.series import notification_key
from shared.model.registration import id_field
from shared.registry.api import hub_and_caller
from shared.sending.formats import delivery_platform
from shared.sending.outcomes import NhOutcome, nh_outcome
from shared.sending.reports import (
    XML_CONTENT_TYPE,
    RegistrationResult,
    details_json,
    details_xml,
    notification_outcome_xml,
    summary_json,
)
from shared.sending.request import SendRequest, SendRoute, parse_send_request
from shared.store.notifications import (
    NotificationMeta,
    NotificationState,
    listing_page,
    new_notification_id,
)
from shared.telemetry import build_report, failure_total

API_VERSION = "2020-06"
TEST_SEND_LIMIT = 10
QUEUE_DELAY_LIMIT = timedelta(days=7) - timedelta(minutes=5)  # Storage queues' visibility cap
FANOUT_QUEUE = "fanout"


def _base_url(request: HttpRequestData) -> str:
    parts = urlsplit(request.url)
    return f"{parts.scheme}://{parts.netloc}"


async def _hub(engine: Engine, request: HttpRequestData, right: AccessRight) -> Hub:
    hub, _ = await hub_and_caller(engine, request, right)
    return hub


def _expiry(start: datetime, ttl: float) -> datetime:
    """When a send starting then stops retrying; a schedule near year 9999's end never does."""
    try:
        return start + timedelta(seconds=ttl)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _meta(hub: Hub, send: SendRequest, now: datetime, ttl: float) -> NotificationMeta:
    start = send.schedule_time or now
    return NotificationMeta(
        hub=hub.name,
        notification_id=new_notification_id(now),
        request=send.to_json().encode(),
        state=NotificationState.SCHEDULED if send.schedule_time else NotificationState.ENQUEUED,
        enqueued_at=now,
        expires_at=_expiry(start, ttl),
        scheduled_for=send.schedule_time,
    )


def _kind(send: SendRequest, route: SendRoute) -> str:
    """What kind of send it is, for the hub's metrics (a test send counts as ``test``)."""
    if route is SendRoute.BATCH:
        return "batch"
    if send.is_direct:
        return "direct"
    return "broadcast" if send.tag_expression is None else "tag"


def _created(location: str) -> HttpAnswer:
    return HttpAnswer(201, b"", {"Location": location, "Content-Type": XML_CONTENT_TYPE})


async def handle_messages(request: HttpRequestData) -> tuple[HttpAnswer, list[str]]:
    """The one entry point of the send_notification function."""
    engine = get_engine()
    path = (request.route.get("path") or "").strip("/")
    if request.method == "GET":
        return await _telemetry(engine, request, path), []
    if path not in ("", "$batch"):
        raise NotFoundError(f"There is no {path!r} under messages.")
    hub = await _hub(engine, request, AccessRight.SEND)
    now = datetime.now(UTC)
    route = SendRoute.BATCH if path == "$batch" else SendRoute.MESSAGES
    send = parse_send_request(request, route, max_tags=hub.max_expression_tags, now=now)
    if send.test:
        return await _test_send(engine, hub, send, now), []
    meta = _meta(hub, send, now, engine.settings.notification_ttl_seconds)
    await engine.notifications.create(meta)
    engine.metrics.count(hub.name, notification_key(_kind(send, route), send.format.value))
    location = (
        f"{_base_url(request)}/{hub.name}/messages/{meta.notification_id}?api-version={API_VERSION}"
    )
    return _created(location), [encode(Plan(hub.name, meta.notification_id))]


async def handle_scheduled(request: HttpRequestData) -> HttpAnswer:
    """The one entry point of the scheduled_notifications function."""
    engine = get_engine()
    hub = await _hub(engine, request, AccessRight.SEND)
    notification_id = (request.route.get("notificationId") or "").strip("/")
    if request.method == "DELETE":
        await engine.notifications.get_meta(hub.name, notification_id)  # 404 when unknown
        await engine.notifications.update_meta(
            hub.name, notification_id, State=NotificationState.CANCELLED.value
        )
        return HttpAnswer(200)
    now = datetime.now(UTC)
    send = parse_send_request(
        request, SendRoute.SCHEDULED, max_tags=hub.max_expression_tags, now=now
    )
    meta = _meta(hub, send, now, engine.settings.notification_ttl_seconds)
    await engine.notifications.create(meta)
    engine.metrics.count(hub.name, notification_key("scheduled", send.format.value))
    await schedule_plan(engine, meta, now)
    location = (
        f"{_base_url(request)}/{hub.name}/schedulednotifications/{meta.notification_id}"
        f"?api-version={API_VERSION}"
    )
    return _created(location)


async def schedule_plan(engine: Engine, meta: NotificationMeta, now: datetime) -> bool:
    """Enqueue the plan, delayed to the schedule, when the queue can hold it that long."""
    due = meta.scheduled_for or now
    delay = max(0.0, (due - now).total_seconds())
    if timedelta(seconds=delay) > QUEUE_DELAY_LIMIT:
        await engine.schedules.park(meta.hub, meta.notification_id, due)  # the timer's, later
        return False
    plan = encode(Plan(meta.hub, meta.notification_id))
    await engine.queue(FANOUT_QUEUE).send_message(plan, visibility_timeout=int(delay))
    return True


def _location(request: HttpRequestData, hub: str, notification_id: str) -> str:
    return f"{_base_url(request)}/{hub}/messages/{notification_id}?api-version={API_VERSION}"


async def _telemetry(engine: Engine, request: HttpRequestData, notification_id: str) -> HttpAnswer:
    if not notification_id:
        return await _recent(engine, request)
    hub = await _hub(engine, request, AccessRight.SEND)
    location = _location(request, hub.name, notification_id)
    token = request.query.get("failuresToken")
    if "json" not in (request.header("accept") or ""):
        rows = await engine.notifications.read_all(hub.name, notification_id)
        report = build_report(rows, location, datetime.now(UTC), token)
        return HttpAnswer(200, details_xml(report), {"Content-Type": XML_CONTENT_TYPE})
    rows, events = await asyncio.gather(
        engine.notifications.read_all(hub.name, notification_id),
        engine.events.counts(hub.name, notification_id),
    )
    report = build_report(rows, location, datetime.now(UTC), token, events=events)
    return HttpAnswer.json(details_json(report))


async def _recent(engine: Engine, request: HttpRequestData) -> HttpAnswer:
    """``GET /{hub}/messages`` (Manage): the hub's notifications, newest first, a page at a
    time, each with its state and counts (two queries each, read side by side)."""
    hub = await _hub(engine, request, AccessRight.MANAGE)
    top, after = listing_page(request.query)
    ids = await engine.notifications.recent_ids(hub.name, top=top, after=after)
    now = datetime.now(UTC)

    async def summary(notification_id: str) -> dict[str, object]:
        rows, events = await asyncio.gather(
            engine.notifications.read_all(hub.name, notification_id),
            engine.events.counts(hub.name, notification_id),
        )
        location = _location(request, hub.name, notification_id)
        report = build_report(rows, location, now, events=events)
        send_format = SendRequest.from_json(rows.meta.request).format
        return summary_json(report, send_format, failure_total(rows))

    listed = await asyncio.gather(*(summary(notification_id) for notification_id in ids))
    following = ids[-1] if len(ids) == top else None
    return HttpAnswer.json({"notifications": listed, "continuationToken": following})


async def _test_targets(engine: Engine, hub: Hub, send: SendRequest, now: datetime) -> list[Target]:
    audience = Audience(send.expression, installation_platforms(send), send.is_template)
    found: list[Target] = []
    for shard in range(hub.shard_count):
        cursor = None
        while len(found) < TEST_SEND_LIMIT:
            step = await walk_step(
                engine.index, hub.name, audience, shard, hub.shard_count, cursor, now
            )
            found += step.targets
            if step.next_cursor is None:
                break
            cursor = step.next_cursor
        if len(found) >= TEST_SEND_LIMIT:
            break
    return found[:TEST_SEND_LIMIT]


async def _test_send(engine: Engine, hub: Hub, send: SendRequest, now: datetime) -> HttpAnswer:
    """Up to 10 devices, delivered now; the answer names each device's outcome."""
    targets = await _test_targets(engine, hub, send, now)
    delivery = await deliver(engine.senders, hub, "test", targets, renderer(send), now)
    engine.metrics.count(hub.name, notification_key("test", send.format.value))
    engine.metrics.record(hub.name, delivery.tally)
    failed = {(f["installationId"], f.get("template")): f for f in delivery.result.failures}
    retrying = {(t.installation_id, t.template): o for t, o in delivery.retry}
    results = []
    for target in targets:
        platform = delivery_platform(target.platform)
        if platform is None:
            continue
        key = (target.installation_id, target.template)
        outcome, detail = NhOutcome.SUCCESS, ""
        if key in failed:
            outcome, detail = NhOutcome(failed[key]["outcome"]), failed[key]["reason"]
        elif key in retrying:  # a test send does not wait to retry
            outcome, detail = nh_outcome(retrying[key], platform), retrying[key].reason
        shown = id_field(target.installation_id)[1]
        results.append(RegistrationResult(platform, handle_of(target), shown, outcome, detail))
    body = notification_outcome_xml(results)
    return HttpAnswer(201, body, {"Content-Type": XML_CONTENT_TYPE})
