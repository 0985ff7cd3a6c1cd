"""The NH installations API: ``/{hub}/installations/{installationId}`` and the listing.

PUT answers 200 (created, replaced or unchanged), PATCH 200, GET 200 with the installation,
DELETE 204 whether or not it existed. PUT and PATCH say which in ``x-herald-change``
(``created``, ``updated`` or ``unchanged``), which NH does not, so an import can count them.
A write that loses a race with another writer re-reads and applies itself again, up to a few
times, so concurrent PUTs and PATCHes all land.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from shared.auth.sas import AccessRight
from shared.engine import Engine, get_engine
from shared.errors import BadRequestError, NotFoundError, PayloadTooLargeError
from shared.http import HttpAnswer, HttpRequestData
from shared.hubs.model import Hub
from shared.metrics.series import registry_key
from shared.model.installation import Installation, parse_installation
from shared.model.patch import apply_patch, parse_patch
from shared.model.validation import validate_installation_id
from shared.nh_wire import CHANGE_HEADER
from shared.registry import access
from shared.registry.listing import list_installations
from shared.registry.writes import delete_device, write_device
from shared.request_json import parse_request_json
from shared.store.installations import InstallationKey, StoredInstallation

MAX_BODY_BYTES = 64 * 1024


def _json_body(request: HttpRequestData) -> object:
    if len(request.body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError("The request body is larger than 64 KB.")
    return parse_request_json(request.body, "The request body")


def _live(stored: StoredInstallation | None) -> Installation | None:
    return None if stored is None else stored.installation


async def caller_of(
    engine: Engine, hub: Hub, request: HttpRequestData, right: AccessRight
) -> access.Caller:
    """The caller of ``request``, with ``right`` on ``hub`` (the registrations API's too)."""
    return await access.authenticate(
        request, hub, right, public_hosts=engine.settings.public_hosts, bearer=engine.bearer
    )


async def hub_and_caller(
    engine: Engine, request: HttpRequestData, right: AccessRight
) -> tuple[Hub, access.Caller]:
    """The hub ``request`` names, and its caller once it has ``right`` there: how every route
    under ``/{hub}`` starts."""
    hub = await engine.hubs.get_hub(request.route["hub"])
    return hub, await caller_of(engine, hub, request, right)


async def _put(
    engine: Engine, hub: Hub, key: InstallationKey, request: HttpRequestData
) -> HttpAnswer:
    caller = await caller_of(engine, hub, request, AccessRight.LISTEN)
    new = parse_installation(
        _json_body(request), max_tags=hub.max_tags, installation_id=key.installation_id
    )
    written = await write_device(engine, hub, key, caller, lambda _: new)
    return HttpAnswer(200, headers={CHANGE_HEADER: written.result.value})


async def _patch(
    engine: Engine, hub: Hub, key: InstallationKey, request: HttpRequestData
) -> HttpAnswer:
    caller = await caller_of(engine, hub, request, AccessRight.LISTEN)
    operations = parse_patch(_json_body(request))

    def change(stored: StoredInstallation | None) -> Installation:
        current = _live(stored)
        if current is None:
            raise NotFoundError("Installation not found.")
        return apply_patch(current, operations, max_tags=hub.max_tags)

    written = await write_device(engine, hub, key, caller, change)
    return HttpAnswer(200, headers={CHANGE_HEADER: written.result.value})


async def _get(
    engine: Engine, hub: Hub, key: InstallationKey, request: HttpRequestData
) -> HttpAnswer:
    caller = await caller_of(engine, hub, request, AccessRight.LISTEN)
    installation = _live(await engine.installations.read(key, max_tags=hub.max_tags))
    engine.metrics.count(hub.name, registry_key("read"))
    if installation is None:
        raise NotFoundError("Installation not found.")
    access.check_read(caller, hub, installation)
    # .NET reads a browser pushChannel as JSON text; the JS SDK and the docs, as an object.
    as_string = "dotnet" in (request.header("user-agent") or "").lower()
    return HttpAnswer.json(installation.to_wire(browser_channel_as_string=as_string))


async def _delete(
    engine: Engine, hub: Hub, key: InstallationKey, request: HttpRequestData
) -> HttpAnswer:
    caller = await caller_of(engine, hub, request, AccessRight.LISTEN)
    await delete_device(engine, hub, key, caller)
    return HttpAnswer(204)


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
        await caller_of(engine, hub, request, AccessRight.MANAGE)
        return await list_installations(engine, hub, request)
    operation = _OPERATIONS.get(request.method)
    if operation is None:
        raise BadRequestError(f"{request.method} is not supported on installations.")
    key = InstallationKey.of(hub.name, validate_installation_id(installation_id), hub.shard_count)
    return await operation(engine, hub, key, request)
