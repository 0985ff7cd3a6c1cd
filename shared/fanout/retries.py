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

from shared.engine import Engine
from shared.fanout.messages import MAX_MESSAGE_BYTES, Retry, encode
from shared.fanout.select import Target
from shared.pns.base import Outcome
from shared.store.notifications import NotificationMeta

log = logging.getLogger(__name__)

DELIVERIES_QUEUE = "deliveries"
MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 60.0


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
    *,
    first_number: int = 0,
) -> int:
    """Enqueue retry batches for ``failed``, numbered from ``first_number`` (a step that
    delivers in slices numbers on); answers how many were enqueued."""
    if not failed:
        return 0
    delay = _backoff(attempt, max((o.retry_after or 0.0) for _, o in failed))
    queue = engine.queue(DELIVERIES_QUEUE)
    chunks = _chunks([target for target, _ in failed])
    for number, chunk in enumerate(chunks, start=first_number):
        key = f"{parent}.r{attempt}.{number}"
        message = Retry(meta.hub, meta.notification_id, key, attempt, chunk)
        await queue.send_message(encode(message), visibility_timeout=delay)
    return len(chunks)


def retry_target(item: dict[str, object]) -> Target:
    view = item.get("v")
    template = item.get("m")
    if not isinstance(view, dict) or not isinstance(item.get("i"), str):
        raise ValueError("a retry target needs an installation id and a view")
    return Target(str(item["i"]), view, template if isinstance(template, str) else None)
