"""Retries: the throttled and transient part of a step, re-sent later by the delivery worker.

Only the failed subset travels, in messages under the queue's size limit, delayed by the
push service's Retry-After or an exponential backoff, whichever is longer. Each retry batch
is a step of its own (``{parent}.r{attempt}.{n}``), claimed and finished like the others.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence
from datetime import UTC, datetime

from shared.delivery import deliver, drop, give_up, renderer
from shared.engine import Engine, get_engine
from shared.fanout.context import open_send
from shared.fanout.messages import MAX_MESSAGE_BYTES, Retry, encode, parse_retry
from shared.fanout.select import Target
from shared.pns.base import Outcome
from shared.sending.request import SendRequest
from shared.store.notifications import NotificationMeta

log = logging.getLogger(__name__)

DELIVERIES_QUEUE = "deliveries"
MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 60.0
TTL_PASSED = "The notification's time to live passed before it could be sent"


def _backoff(attempt: int, retry_after: float | None) -> int:
    backoff = min(MAX_BACKOFF_SECONDS, 2.0 ** (attempt - 1)) * random.uniform(0.8, 1.2)
    return max(1, round(max(backoff, retry_after or 0.0)))


def _chunks(targets: Sequence[Target]) -> list[list[dict[str, object]]]:
    chunks: list[list[dict[str, object]]] = [[]]
    size = 0
    for target in targets:
        item: dict[str, object] = {"i": target.installation_id, "v": dict(target.view)}
        if target.template is not None:
            item["m"] = target.template
        encoded = len(json.dumps(item, separators=(",", ":"))) + 1
        if chunks[-1] and size + encoded > MAX_MESSAGE_BYTES - 512:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += encoded
    return [c for c in chunks if c]


async def schedule_retries(
    engine: Engine,
    meta: NotificationMeta,
    parent: str,
    attempt: int,
    failed: Sequence[tuple[Target, Outcome]],
) -> int:
    """Enqueue retry batches for ``failed``; answers how many were enqueued."""
    if not failed:
        return 0
    delay = _backoff(attempt, max((o.retry_after or 0.0) for _, o in failed))
    queue = engine.queue(DELIVERIES_QUEUE)
    chunks = _chunks([target for target, _ in failed])
    for number, chunk in enumerate(chunks):
        key = f"{parent}.r{attempt}.{number}"
        message = Retry(meta.hub, meta.notification_id, key, attempt, chunk)
        await queue.send_message(encode(message), visibility_timeout=delay)
    return len(chunks)


def _target(item: dict[str, object]) -> Target:
    view = item.get("v")
    template = item.get("m")
    if not isinstance(view, dict) or not isinstance(item.get("i"), str):
        raise ValueError("a retry target needs an installation id and a view")
    return Target(str(item["i"]), view, template if isinstance(template, str) else None)


async def handle_retry(body: bytes, message_id: str) -> None:
    """One retry batch from the deliveries queue."""
    retry = parse_retry(body)
    engine = get_engine()
    send = await open_send(engine, retry.hub, retry.notification_id)
    if send is None:
        return
    store = engine.notifications
    earlier = await store.claim_step(retry.hub, retry.notification_id, retry.key, message_id)
    if earlier is not None and (earlier.done or earlier.message_id != message_id):
        return
    meta = send.meta
    async with engine.page_slots:
        targets = [_target(item) for item in retry.targets]
        now = datetime.now(UTC)
        if now > meta.expires_at:
            delivery = drop(targets, TTL_PASSED)
        else:
            request = SendRequest.from_json(meta.request)
            delivery = await deliver(
                engine.senders, send.hub, retry.notification_id, targets, renderer(request), now
            )
    if retry.attempt >= MAX_ATTEMPTS:
        give_up(delivery)
    delivery.result.last = True
    delivery.result.retries = await schedule_retries(
        engine, meta, retry.key, retry.attempt + 1, delivery.retry
    )
    await engine.feedback.record(retry.hub, delivery.dead)
    await store.finish_step(
        retry.hub, retry.notification_id, retry.key, message_id, delivery.result
    )
