"""The send's queue steps: plan a send, walk one page of one shard and deliver it, deliver one
chunk of a direct send, or re-send one retry batch. Each step is claimed in the notification's
partition, so a copy of a step stands down, and the same step run again carries on from its
recorded progress (shared.fanout.steps). A step that fails keeps its error in its row, for the
poison handler (shared.fanout.poison) to name if every attempt fails. A step whose hub or
notification is gone ends without writing anything (shared.fanout.context)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

from shared.engine import Engine, get_engine
from shared.fanout.audience import small_audience_targets
from shared.fanout.context import SendContext, open_send
from shared.fanout.journal import send_started
from shared.fanout.messages import (
    Direct,
    Plan,
    Retry,
    Scan,
    encode,
    parse_fanout,
    parse_retry,
)
from shared.fanout.retries import MAX_ATTEMPTS, retry_target
from shared.fanout.select import Target
from shared.fanout.steps import Keyed, StepRun, position_keys, walk_key
from shared.fanout.walk import Audience, walk_step
from shared.hubs.model import Hub
from shared.sending.formats import delivery_platform
from shared.sending.request import SendRequest
from shared.store.notifications import NotificationMeta, NotificationState, StepResult

log = logging.getLogger(__name__)

DIRECT_CHUNK = 200  # device handles per direct-send message (well under the message size)
INLINE_KEY = "a~0000"  # the one step of a send whose plan delivers its small audience
_T = TypeVar("_T")


def scan_key(shard: int, step: int) -> str:
    return f"s~{shard:04d}~{step:06d}"


def direct_key(chunk: int) -> str:
    return f"d~{chunk:04d}"


def step_key(message: Scan | Direct) -> str:
    if isinstance(message, Direct):
        return direct_key(message.chunk)
    return scan_key(message.shard, message.step)


def installation_platforms(request: SendRequest) -> frozenset[str]:
    names = ("apns", "fcmv1", "gcm", "wns", "browser", "adm", "baidu", "xiaomi")
    return frozenset(n for n in names if delivery_platform(n) in request.platforms)


async def handle_fanout(body: bytes, message_id: str) -> list[str]:
    """One fanout message; answers the fanout messages to enqueue next."""
    message = parse_fanout(body)
    engine = get_engine()
    fresh = isinstance(message, Plan)  # a plan decides on the notification's current state
    send = await open_send(engine, message.hub, message.notification_id, fresh=fresh)
    if send is None:
        return []
    if isinstance(message, Plan):
        return await _plan(engine, send, message_id)
    key = step_key(message)
    return await _noting(engine, message, key, _step(engine, send, message, key, message_id))


async def handle_retry(body: bytes, message_id: str) -> None:
    """One retry batch from the deliveries queue."""
    retry = parse_retry(body)
    engine = get_engine()
    send = await open_send(engine, retry.hub, retry.notification_id)
    if send is not None:
        await _noting(engine, retry, retry.key, _retry(engine, send, retry, message_id))


async def _noting(
    engine: Engine, message: Scan | Direct | Retry, key: str, work: Awaitable[_T]
) -> _T:
    """Run a step; if it fails, keep why in its row before the queue tries it again."""
    try:
        return await work
    except Exception as exc:
        try:
            error = f"{type(exc).__name__}: {exc}"
            await engine.notifications.note_error(message.hub, message.notification_id, key, error)
        except Exception:
            log.debug("Could not note the failure of step %s", key, exc_info=True)
        raise


async def _plan(engine: Engine, send: SendContext, message_id: str) -> list[str]:
    meta, hub = send.meta, send.hub
    plan = Plan(meta.hub, meta.notification_id)
    if meta.state in (NotificationState.CANCELLED, NotificationState.ABANDONED):
        return []
    request = SendRequest.from_json(meta.request)
    if request.is_direct:
        devices = [_device_json(d.handle, d.web_push_keys) for d in request.devices]
        chunks = [devices[i : i + DIRECT_CHUNK] for i in range(0, len(devices), DIRECT_CHUNK)]
        direct = [Direct(plan.hub, plan.notification_id, k, c) for k, c in enumerate(chunks)]
        await _start(engine, plan, chains=len(direct))
        send_started(meta, request, how=f"{len(direct)} chunk(s) of up to {DIRECT_CHUNK}")
        return [encode(m) for m in direct]
    if meta.chains == 0 or meta.inline:  # a plan run again walks if it walked before
        targets = await small_audience_targets(
            engine.index, hub.name, hub.shard_count, _audience(request), datetime.now(UTC)
        )
        if targets is not None:
            await _deliver_inline(engine, meta, request, hub, message_id, targets)
            return []
    await _start(engine, plan, chains=hub.shard_count)
    send_started(meta, request, how=f"walking the tag index in {hub.shard_count} shard(s)")
    return [
        encode(Scan(plan.hub, plan.notification_id, shard, 0, None))
        for shard in range(hub.shard_count)
    ]


async def _start(engine: Engine, plan: Plan, *, chains: int, inline: bool = False) -> None:
    await engine.notifications.update_meta(
        plan.hub,
        plan.notification_id,
        State=NotificationState.PROCESSING.value,
        StartedAt=datetime.now(UTC),
        Chains=chains,
        Inline=inline,
    )


async def _deliver_inline(
    engine: Engine,
    meta: NotificationMeta,
    request: SendRequest,
    hub: Hub,
    message_id: str,
    targets: list[Target],
) -> None:
    """The whole small audience as one step of the plan's own (shared.fanout.audience)."""
    plan = Plan(meta.hub, meta.notification_id)
    claim = engine.notifications.claim_step(meta.hub, meta.notification_id, INLINE_KEY, message_id)
    if meta.inline:
        earlier = await claim
    else:  # the two writes side by side: a plan run again after either redoes both
        _, earlier = await asyncio.gather(_start(engine, plan, chains=1, inline=True), claim)
        send_started(meta, request, how=f"a small audience ({len(targets)}), sent at once")
    if earlier is not None and (earlier.done or earlier.message_id != message_id):
        return
    run = StepRun.resume(
        engine, meta, INLINE_KEY, message_id, earlier, retry_attempt=1, sole_step=True
    )
    async with engine.page_slots:
        keyed = [(walk_key(target), target) for target in targets]
        await run.deliver(hub, request, keyed, last_attempt=False)
    await run.finish(last=True, next_cursor=None)


def _audience(request: SendRequest) -> Audience:
    return Audience(request.expression, installation_platforms(request), request.is_template)


def _device_json(handle: str, keys: object) -> dict[str, str]:
    device = {"handle": handle}
    if keys is not None:
        device.update(p256dh=getattr(keys, "p256dh"), auth=getattr(keys, "auth"))  # noqa: B009
    return device


async def _step(
    engine: Engine, send: SendContext, message: Scan | Direct, key: str, message_id: str
) -> list[str]:
    store = engine.notifications
    earlier = await store.claim_step(message.hub, message.notification_id, key, message_id)
    if earlier is not None and earlier.done:
        return follow_up(message, earlier.result)  # finished; only its follow-up was lost
    if earlier is not None and earlier.message_id != message_id:
        return []  # a copy of a step another message owns
    meta, hub = send.meta, send.hub
    request = SendRequest.from_json(meta.request)
    run = StepRun.resume(engine, meta, key, message_id, earlier, retry_attempt=1)
    async with engine.page_slots:
        keyed, cursor = await step_targets(engine, meta, request, hub, message)
        await run.deliver(hub, request, keyed, last_attempt=False)
    return follow_up(message, await run.finish(last=cursor is None, next_cursor=cursor))


async def _retry(engine: Engine, send: SendContext, retry: Retry, message_id: str) -> None:
    store = engine.notifications
    earlier = await store.claim_step(retry.hub, retry.notification_id, retry.key, message_id)
    if earlier is not None and (earlier.done or earlier.message_id != message_id):
        return
    meta, hub = send.meta, send.hub
    request = SendRequest.from_json(meta.request)
    run = StepRun.resume(
        engine, meta, retry.key, message_id, earlier, retry_attempt=retry.attempt + 1
    )
    async with engine.page_slots:
        keyed = retry_targets(retry)
        await run.deliver(hub, request, keyed, last_attempt=retry.attempt >= MAX_ATTEMPTS)
    await run.finish(last=True, next_cursor=None)


def retry_targets(retry: Retry) -> list[Keyed]:
    return position_keys([retry_target(item) for item in retry.targets])


async def step_targets(
    engine: Engine, meta: NotificationMeta, request: SendRequest, hub: Hub, message: Scan | Direct
) -> tuple[list[Keyed], str | None]:
    """A step's targets, keyed in delivery order; and the shard's cursor after them (None:
    the chain ends)."""
    if isinstance(message, Direct):
        return position_keys([_direct_target(request, d) for d in message.devices]), None
    walked = await walk_step(
        engine.index,
        meta.hub,
        _audience(request),
        message.shard,
        hub.shard_count,
        message.after,
        datetime.now(UTC),
    )
    return [(walk_key(target), target) for target in walked.targets], walked.next_cursor


def _direct_target(request: SendRequest, device: dict[str, str]) -> Target:
    (platform,) = request.platforms
    channel: object = device["handle"]
    if "p256dh" in device:
        channel = {"endpoint": device["handle"], "p256dh": device["p256dh"], "auth": device["auth"]}
    return Target("", {"platform": platform.value, "channel": channel})


def follow_up(message: Scan | Direct, result: StepResult) -> list[str]:
    if isinstance(message, Direct) or result.last:
        return []
    following = Scan(
        message.hub, message.notification_id, message.shard, message.step + 1, result.next_cursor
    )
    return [encode(following)]
