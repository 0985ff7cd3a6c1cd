"""The fanout queue: plan a send, walk one page of one shard and deliver it, or deliver one
chunk of a direct send. Each step is claimed in the notification's partition, so a copy of a
step stands down, and it answers the follow-up messages for the queue's output binding. A
step whose hub or notification is gone ends without them (shared/fanout/context.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from shared.delivery import Delivery, deliver, drop, renderer
from shared.engine import Engine, get_engine
from shared.fanout.context import SendContext, open_send
from shared.fanout.messages import Direct, FanoutMessage, Plan, Scan, encode, parse_fanout
from shared.fanout.retries import schedule_retries
from shared.fanout.select import Target
from shared.fanout.walk import Audience, walk_step
from shared.hubs.model import Hub
from shared.sending.formats import delivery_platform
from shared.sending.request import SendRequest
from shared.store.notifications import NotificationMeta, NotificationState, StepResult

log = logging.getLogger(__name__)

DIRECT_CHUNK = 200  # device handles per direct-send message (well under the message size)
TTL_PASSED = "The notification's time to live passed before it could be sent"


def scan_key(shard: int, step: int) -> str:
    return f"s~{shard:04d}~{step:06d}"


def direct_key(chunk: int) -> str:
    return f"d~{chunk:04d}"


def installation_platforms(request: SendRequest) -> frozenset[str]:
    names = ("apns", "fcmv1", "gcm", "wns", "browser", "adm")
    return frozenset(n for n in names if delivery_platform(n) in request.platforms)


async def handle_fanout(body: bytes, message_id: str) -> list[str]:
    """One fanout message; answers the fanout messages to enqueue next."""
    message = parse_fanout(body)
    engine = get_engine()
    send = await open_send(engine, message.hub, message.notification_id)
    if send is None:
        return []
    if isinstance(message, Plan):
        return await _plan(engine, send, message)
    return await _step(engine, send, message, message_id)


async def _plan(engine: Engine, send: SendContext, plan: Plan) -> list[str]:
    meta, hub = send.meta, send.hub
    if meta.state is NotificationState.CANCELLED:
        return []
    request = SendRequest.from_json(meta.request)
    follow: list[FanoutMessage]
    if request.is_direct:
        devices = [_device_json(d.handle, d.web_push_keys) for d in request.devices]
        chunks = [devices[i : i + DIRECT_CHUNK] for i in range(0, len(devices), DIRECT_CHUNK)]
        follow = [Direct(plan.hub, plan.notification_id, k, c) for k, c in enumerate(chunks)]
    else:
        follow = [
            Scan(plan.hub, plan.notification_id, shard, 0, None) for shard in range(hub.shard_count)
        ]
    await engine.notifications.update_meta(
        plan.hub,
        plan.notification_id,
        State=NotificationState.PROCESSING.value,
        StartedAt=datetime.now(UTC),
        Chains=len(follow),
    )
    return [encode(m) for m in follow]


def _device_json(handle: str, keys: object) -> dict[str, str]:
    device = {"handle": handle}
    if keys is not None:
        device.update(p256dh=getattr(keys, "p256dh"), auth=getattr(keys, "auth"))  # noqa: B009
    return device


async def _step(
    engine: Engine, send: SendContext, message: Scan | Direct, message_id: str
) -> list[str]:
    hub_name, notification_id = message.hub, message.notification_id
    key = (
        direct_key(message.chunk)
        if isinstance(message, Direct)
        else scan_key(message.shard, message.step)
    )
    store = engine.notifications
    earlier = await store.claim_step(hub_name, notification_id, key, message_id)
    if earlier is not None and earlier.done:
        return _follow_up(message, earlier.result)  # finished; only its follow-up was lost
    if earlier is not None and earlier.message_id != message_id:
        return []  # a copy of a step another message owns
    meta, hub = send.meta, send.hub
    request = SendRequest.from_json(meta.request)
    async with engine.page_slots:
        delivery, cursor = await _targets_delivered(engine, meta, request, hub, message)
    delivery.result.last = cursor is None
    delivery.result.next_cursor = cursor
    delivery.result.retries = await schedule_retries(engine, meta, key, 1, delivery.retry)
    await engine.feedback.record(hub_name, delivery.dead)
    await store.finish_step(hub_name, notification_id, key, message_id, delivery.result)
    return _follow_up(message, delivery.result)


async def _targets_delivered(
    engine: Engine, meta: NotificationMeta, request: SendRequest, hub: Hub, message: Scan | Direct
) -> tuple[Delivery, str | None]:
    """This step's targets, delivered; and the shard's cursor after them (None: done)."""
    now = datetime.now(UTC)
    if isinstance(message, Direct):
        targets = [_direct_target(request, device) for device in message.devices]
        cursor = None
    else:
        audience = Audience(
            request.expression, installation_platforms(request), request.is_template
        )
        walked = await walk_step(
            engine.index, meta.hub, audience, message.shard, hub.shard_count, message.after, now
        )
        targets, cursor = walked.targets, walked.next_cursor
    if now > meta.expires_at:
        return drop(targets, TTL_PASSED), cursor
    render = renderer(request)
    return await deliver(engine.senders, hub, meta.notification_id, targets, render, now), cursor


def _direct_target(request: SendRequest, device: dict[str, str]) -> Target:
    (platform,) = request.platforms
    channel: object = device["handle"]
    if "p256dh" in device:
        channel = {"endpoint": device["handle"], "p256dh": device["p256dh"], "auth": device["auth"]}
    return Target("", {"platform": platform.value, "channel": channel})


def _follow_up(message: Scan | Direct, result: StepResult) -> list[str]:
    if isinstance(message, Direct) or result.last:
        return []
    following = Scan(
        message.hub, message.notification_id, message.shard, message.step + 1, result.next_cursor
    )
    return [encode(following)]
