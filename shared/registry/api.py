"""The NH installations API: ``/{hub}/installations/{installationId}`` and the listing.

PUT answers 200 (created, replaced or unchanged), PATCH 200, GET 200 with the installation,
DELETE 204 whether or not it existed. A write that loses a race with another writer re-reads
and applies itself again, up to a few times, so concurrent PUTs and PATCHes all land.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from shared.auth.sas import AccessRight
from shared.engine import Engine, get_engine
from shared.errors import BadRequestError, ConflictError, NotFoundError, PayloadTooLargeError
from shared.http import HttpAnswer, HttpRequestData
from shared.hubs.model import Hub
from shared.model.channels import InstallationPlatform
from shared.model.installation import Installation, parse_installation
from shared.model.patch import apply_patch, parse_patch
from shared.model.validation import validate_installation_id
from shared.pns.base import Platform
from shared.pns.urls import check_device_url
from shared.registry import access
from shared.registry.listing import list_installations
from shared.request_json import parse_request_json
from shared.store.installations import InstallationKey, LostRace, StoredInstallation

MAX_BODY_BYTES = 64 * 1024
_WRITE_ATTEMPTS = 12
_URL_PLATFORMS = {
    InstallationPlatform.WNS: Platform.WNS,
    InstallationPlatform.BROWSER: Platform.BROWSER,
}

Change = Callable[[StoredInstallation | None], Installation]


def _json_body(request: HttpRequestData) -> object:
    if len(request.body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError("The request body is larger than 64 KB.")
    return parse_request_json(request.body, "The request body")


def _check_channels(engine: Engine, installation: Installation) -> None:
    platform = _URL_PLATFORMS.get(installation.platform)
    if platform is None:
        return
    for url in installation.channel_urls:
        check_device_url(url, platform, allowed_test_hosts=engine.settings.pns_allowed_test_hosts)


async def _back_off(attempt: int) -> None:
    """Writers that keep colliding spread out, so each round one of them wins."""
    await asyncio.sleep(random.uniform(0, 0.01 * (attempt + 1)))


def _live(stored: StoredInstallation | None) -> Installation | None:
    return None if stored is None else stored.installation


async def _caller(
    engine: Engine, hub: Hub, request: HttpRequestData, right: AccessRight
) -> access.Caller:
    return await access.authenticate(
        request, hub, right, public_hosts=engine.settings.public_hosts, bearer=engine.bearer
    )


async def _write(
    engine: Engine, hub: Hub, key: InstallationKey, caller: access.Caller, change: Change
) -> None:
    """Read, change, check and save; on a lost race read again and redo the change."""
    store = engine.installations
    for attempt in range(_WRITE_ATTEMPTS):
        stored = await store.read(key, max_tags=hub.max_tags)
        new = change(stored).stamped(datetime.now(UTC))
        _check_channels(engine, new)
        access.check_write(caller, hub, _live(stored), new)
        try:
            await store.save(key, stored, new)
        except LostRace:
            await _back_off(attempt)
            continue
        return
    raise ConflictError("The installation kept changing under this write; try again.")


async def _put(
    engine: Engine, hub: Hub, key: InstallationKey, request: HttpRequestData
) -> HttpAnswer:
    caller = await _caller(engine, hub, request, AccessRight.LISTEN)
    new = parse_installation(
        _json_body(request), max_tags=hub.max_tags, installation_id=key.installation_id
    )
    await _write(engine, hub, key, caller, lambda _: new)
    return HttpAnswer(200)


async def _patch(
    engine: Engine, hub: Hub, key: InstallationKey, request: HttpRequestData
) -> HttpAnswer:
    caller = await _caller(engine, hub, request, AccessRight.LISTEN)
    operations = parse_patch(_json_body(request))

    def change(stored: StoredInstallation | None) -> Installation:
        current = _live(stored)
        if current is None:
            raise NotFoundError("Installation not found.")
        return apply_patch(current, operations, max_tags=hub.max_tags)

    await _write(engine, hub, key, caller, change)
    return HttpAnswer(200)


async def _get(
    engine: Engine, hub: Hub, key: InstallationKey, request: HttpRequestData
) -> HttpAnswer:
    caller = await _caller(engine, hub, request, AccessRight.LISTEN)
    installation = _live(await engine.installations.read(key, max_tags=hub.max_tags))
    if installation is None:
        raise NotFoundError("Installation not found.")
    access.check_read(caller, hub, installation)
    # .NET reads a browser pushChannel as JSON text; the JS SDK and the docs, as an object.
    as_string = "dotnet" in (request.header("user-agent") or "").lower()
    return HttpAnswer.json(installation.to_wire(browser_channel_as_string=as_string))


async def _delete(
    engine: Engine, hub: Hub, key: InstallationKey, request: HttpRequestData
) -> HttpAnswer:
    caller = await _caller(engine, hub, request, AccessRight.LISTEN)
    store = engine.installations
    for attempt in range(_WRITE_ATTEMPTS):
        stored = await store.read(key, max_tags=hub.max_tags)
        if stored is None:
            return HttpAnswer(204)
        if stored.installation is not None:
            access.check_delete(caller, hub, stored.installation)
        try:
            await store.delete(key, stored)
        except LostRace:
            await _back_off(attempt)
            continue
        return HttpAnswer(204)
    raise ConflictError("The installation kept changing under this delete; try again.")


Operation = Callable[[Engine, Hub, InstallationKey, HttpRequestData], Awaitable[HttpAnswer]]
_OPERATIONS: dict[str, Operation] = {
    "PUT": _put,
    "PATCH": _patch,
    "GET": _get,
    "DELETE": _delete,
}


async def handle_installations(request: HttpRequestData) -> HttpAnswer:
    """The one entry point of the register_installation function."""
    engine = get_engine()
    hub = await engine.hubs.get_hub(request.route["hub"])
    installation_id = request.route.get("installationId")
    if not installation_id:
        if request.method != "GET":
            raise BadRequestError("The installation id is missing from the URL.")
        await _caller(engine, hub, request, AccessRight.MANAGE)
        return await list_installations(engine, hub, request)
    operation = _OPERATIONS.get(request.method)
    if operation is None:
        raise BadRequestError(f"{request.method} is not supported on installations.")
    key = InstallationKey.of(hub.name, validate_installation_id(installation_id), hub.shard_count)
    return await operation(engine, hub, key, request)
