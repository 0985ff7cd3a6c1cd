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
from shared.store.notifications import NotificationMeta

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendContext:
    hub: Hub
    meta: NotificationMeta


async def open_send(engine: Engine, hub: str, notification_id: str) -> SendContext | None:
    """The step's hub and notification; None (logged) when either no longer exists."""
    try:
        found = await engine.hubs.get_hub(hub)
        meta = await engine.notifications.get_meta(hub, notification_id)
    except NotFoundError as gone:
        log.info("Hub %s, notification %s: %s The step ends.", hub, notification_id, gone.detail)
        return None
    return SendContext(found, meta)
