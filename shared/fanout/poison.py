"""The poison queues: a send's step that failed every attempt still ends, and says why.

The host moves a message to ``<queue>-poison`` after its last failed attempt. Left there, its
devices would never be reached, nor counted, and the notification would stay ``Processing``.
Here each poisoned step is run once more without sending: the targets it had not accounted
for (re-read from the index for a walk, from the message otherwise) are counted as
``AbandonedNotificationMessages``, each named with the step's last error, and the step is
finished, so the shard's walk goes on with its next page and the notification completes. A
poisoned plan marks the notification ``Abandoned``: nothing of it was sent. A message Herald
did not write fails here too, and rests in ``<queue>-poison-poison`` for an operator to read.
"""

from __future__ import annotations

import logging

from shared.engine import Engine, get_engine
from shared.fanout.context import SendContext, open_send
from shared.fanout.messages import (
    Direct,
    Plan,
    Retry,
    Scan,
    parse_fanout,
    parse_retry,
)
from shared.fanout.steps import Keyed, StepRun
from shared.fanout.worker import follow_up, retry_targets, step_key, step_targets
from shared.sending.outcomes import NhOutcome
from shared.sending.request import SendRequest
from shared.store.notifications import NotificationState, StepRow

log = logging.getLogger(__name__)

_UNKNOWN_ERROR = "its host stopped while running it"


def _reason(earlier: StepRow | None) -> str:
    error = earlier.last_error if earlier is not None else None
    return f"Herald gave up on this device's step after its last attempt: {error or _UNKNOWN_ERROR}"


async def handle_fanout_poison(body: bytes, message_id: str) -> list[str]:
    """One message from ``fanout-poison``; answers the fanout messages to enqueue next."""
    message = parse_fanout(body)  # not Herald's: it fails on to fanout-poison-poison, kept
    engine = get_engine()
    send = await open_send(engine, message.hub, message.notification_id, fresh=True)
    if send is None:
        return []
    if isinstance(message, Plan):
        await _abandon_plan(engine, send)
        return []
    return await _abandon_step(engine, send, message, message_id)


async def handle_retry_poison(body: bytes, message_id: str) -> None:
    """One message from ``deliveries-poison``: a retry batch whose every attempt failed."""
    retry = parse_retry(body)  # not Herald's: it fails on to deliveries-poison-poison, kept
    engine = get_engine()
    send = await open_send(engine, retry.hub, retry.notification_id)
    if send is not None:
        await _abandon_retry(engine, send, retry, message_id)


async def _abandon_plan(engine: Engine, send: SendContext) -> None:
    meta = send.meta
    if meta.chains == 0 and meta.state is not NotificationState.CANCELLED:
        log.error("The plan of %s/%s failed every attempt", meta.hub, meta.notification_id)
        await engine.notifications.update_meta(
            meta.hub, meta.notification_id, State=NotificationState.ABANDONED.value
        )


async def _abandon_step(
    engine: Engine, send: SendContext, message: Scan | Direct, message_id: str
) -> list[str]:
    key = step_key(message)
    store = engine.notifications
    earlier = await store.claim_step(message.hub, message.notification_id, key, message_id)
    if earlier is not None and earlier.done:
        return follow_up(message, earlier.result)
    meta, hub = send.meta, send.hub
    request = SendRequest.from_json(meta.request)
    keyed, cursor = await step_targets(engine, meta, request, hub, message)
    run = StepRun.resume(engine, meta, key, message_id, earlier, retry_attempt=1)
    await _give_up(run, keyed, earlier)
    return follow_up(message, await run.finish(last=cursor is None, next_cursor=cursor))


async def _abandon_retry(engine: Engine, send: SendContext, retry: Retry, message_id: str) -> None:
    store = engine.notifications
    earlier = await store.claim_step(retry.hub, retry.notification_id, retry.key, message_id)
    if earlier is not None and earlier.done:
        return
    run = StepRun.resume(
        engine, send.meta, retry.key, message_id, earlier, retry_attempt=retry.attempt
    )
    await _give_up(run, retry_targets(retry), earlier)
    await run.finish(last=True, next_cursor=None)


async def _give_up(run: StepRun, keyed: list[Keyed], earlier: StepRow | None) -> None:
    reason = _reason(earlier)
    log.error(
        "Step %s of %s/%s failed every attempt; %d device(s) not reached: %s",
        run.key,
        run.meta.hub,
        run.meta.notification_id,
        len(run.pending(keyed)),
        reason,
    )
    await run.abandon(keyed, NhOutcome.ABANDONED_NOTIFICATION_MESSAGES, reason)
