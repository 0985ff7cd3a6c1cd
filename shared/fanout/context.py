"""What every queue step of a send reads first: its hub and its notification.

Either may be gone when the step runs: the hub was deleted after the send was queued, or its
rows (the notification among them) were purged, and the name may even belong to a new hub by
now. Retrying cannot bring them back, so the step ends quietly (one log line, no follow-up
message, and no row written) instead of failing until its message lands in poison.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shared.engine import Engine
from shared.errors import NotFoundError
from shared.hubs.model import Hub
from shared.store.hubs import CACHE_SECONDS
from shared.store.notifications import NotificationMeta

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendContext:
    hub: Hub
    meta: NotificationMeta


async def open_send(
    engine: Engine, hub: str, notification_id: str, *, fresh: bool = False
) -> SendContext | None:
    """The step's hub and notification; None (logged) when either no longer exists. Unless
    ``fresh``, a notification this process read within the hub cache's lifetime will do: a
    deleted hub is noticed as late anyway."""
    try:
        found = await engine.hubs.get_hub(hub)
        max_age = 0.0 if fresh else CACHE_SECONDS
        meta = await engine.notifications.get_meta(hub, notification_id, max_age=max_age)
    except NotFoundError as gone:
        log.info("Hub %s, notification %s: %s The step ends.", hub, notification_id, gone.detail)
        return None
    return SendContext(found, meta)
