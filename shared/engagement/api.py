"""``POST /{hub}/messages/{notificationId}/events``: an app reports that a notification was
opened or acted on, on one installation.

Body: ``{"installationId": "…", "kind": "opened"}``. Listen right, under the same ownership
rule as reading the installation (shared.registry.access): a device may report only for an
installation it could read. Idempotent per (installation, notification, kind): a repeat
changes nothing and answers the same 204.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.auth.sas import AccessRight
from shared.engine import get_engine
from shared.errors import BadRequestError, NotFoundError, PayloadTooLargeError
from shared.http import HttpAnswer, HttpRequestData
from shared.metrics import count_event
from shared.model.validation import validate_installation_id
from shared.registry import access
from shared.registry.api import hub_and_caller
from shared.request_json import parse_request_json
from shared.store.installations import InstallationKey
from shared.store.notifications import check_notification_id

EVENT_KINDS = ("opened", "actioned", "dismissed")
MAX_BODY_BYTES = 4 * 1024


@dataclass(frozen=True)
class Event:
    installation_id: str
    kind: str


def parse_event(body: bytes) -> Event:
    """The event a request body reports, or a 400 that says what is wrong with it."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError("An event body is larger than 4 KB.")
    data = parse_request_json(body, "The request body")
    if not isinstance(data, Mapping):
        raise BadRequestError('The body must be a JSON object: {"installationId": …, "kind": …}.')
    kind = data.get("kind")
    if kind not in EVENT_KINDS:
        raise BadRequestError(f"kind must be one of {', '.join(EVENT_KINDS)}.")
    return Event(validate_installation_id(data.get("installationId")), str(kind))


async def handle_events(request: HttpRequestData) -> HttpAnswer:
    """The one entry point of the message_events function."""
    engine = get_engine()
    hub, caller = await hub_and_caller(engine, request, AccessRight.LISTEN)
    notification_id = check_notification_id(request.route.get("notificationId") or "")
    event = parse_event(request.body)
    await engine.notifications.get_meta(hub.name, notification_id)  # 404 when unknown
    key = InstallationKey.of(hub.name, event.installation_id, hub.shard_count)
    stored = await engine.installations.read(key, max_tags=hub.max_tags)
    installation = None if stored is None else stored.installation
    if installation is None:
        raise NotFoundError("Installation not found.")
    access.check_read(caller, hub, installation)
    if await engine.events.record(hub.name, notification_id, event.installation_id, event.kind):
        await count_event(hub.name, event.kind)  # a repeat is not counted twice
    return HttpAnswer(204)
