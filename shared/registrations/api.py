"""NH's registrations API: ``/{hub}/registrations[/{id}]``, ``/{hub}/registrationIDs`` and
``/{hub}/tags/{tag}/registrations``.

- ``POST registrationIDs`` allocates an id (nothing is stored): 201, ``Location`` an https URL
  ending ``/{hub}/registrationids/{id}``, which the JS SDK and .NET both check.
- ``POST registrations`` creates under a new id; ``PUT registrations/{id}`` creates or replaces,
  honouring ``If-Match`` (``*`` or an ETag: 404 when there is nothing to match, 412 on another
  version). Both answer 200 with the stored entry, as the recorded NH responses show.
- ``GET registrations/{id}``: 200 and the entry, or 404. ``DELETE`` honours ``If-Match``: 200,
  or 404 when there is nothing to delete.
- Listing and ``tags/{tag}/registrations``: ``shared.registrations.listing``.

Rights are as for installations (Listen writes and reads single registrations, with the hub's
tag policy and user tokens). The ETag is the stored row's version. The registrations an
installation implies are read-only here: a write to one is a 409 (docs/decisions.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace

from shared.auth.sas import AccessRight
from shared.engine import Engine, get_engine
from shared.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
)
from shared.http import HttpAnswer, HttpRequestData
from shared.hubs.model import Hub
from shared.metrics.series import registry_key
from shared.model.registration import (
    Registration,
    implied_registrations,
    parse_implied_id,
    registration_key,
    validate_registration_id,
)
from shared.nh_wire import CHANGE_HEADER
from shared.registrations.atom import ENTRY_CONTENT_TYPE, entry_content
from shared.registrations.descriptions import parse_description
from shared.registrations.entries import entry_answer, resource_url
from shared.registrations.listing import list_registrations, list_tag_registrations
from shared.registry import access
from shared.registry.api import caller_of
from shared.registry.writes import delete_device, write_device
from shared.store.installations import InstallationKey, StoredInstallation

MAX_BODY_BYTES = 64 * 1024
NOT_FOUND = "Registration not found."


def new_registration_id() -> str:
    """An id shaped like NH's (``1025788889202364695-4967386798417373880-2``)."""
    return f"{secrets.randbits(63)}-{secrets.randbits(63)}-1"


def _if_match(request: HttpRequestData) -> frozenset[str] | None:
    """The ETags of ``If-Match`` (``*``, ``"3"``, ``W/"3"`` or a bare ``3``); None if absent."""
    value = request.header("if-match")
    if value is None or not value.strip():
        return None
    tags = (part.strip().removeprefix("W/").strip('"') for part in value.split(","))
    return frozenset(tag for tag in tags if tag)


def _check_if_match(wanted: frozenset[str] | None, stored: StoredInstallation | None) -> None:
    if wanted is None:
        return
    if stored is None or stored.registration is None:
        raise NotFoundError(NOT_FOUND)
    if "*" not in wanted and str(stored.version) not in wanted:
        raise PreconditionFailedError(
            f"The registration's ETag is {stored.version}, not {', '.join(sorted(wanted))}."
        )


def _registration_id(text: str) -> str:
    if parse_implied_id(text) is not None:
        raise ConflictError(
            f"Registration {text} is one that installation {text.partition('~')[0]} implies; "
            "change it with the installations API."
        )
    return validate_registration_id(text)


def _parse_body(request: HttpRequestData, hub: Hub, registration_id: str) -> Registration:
    if len(request.body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError("The request body is larger than 64 KB.")
    return parse_description(
        entry_content(request.body), registration_id=registration_id, max_tags=hub.max_tags
    )


def _key(hub: Hub, registration_id: str) -> InstallationKey:
    return InstallationKey.of(hub.name, registration_key(registration_id), hub.shard_count)


async def _store(
    engine: Engine, hub: Hub, request: HttpRequestData, registration_id: str
) -> HttpAnswer:
    caller = await caller_of(engine, hub, request, AccessRight.LISTEN)
    new = _parse_body(request, hub, registration_id)
    wanted = _if_match(request)

    def change(stored: StoredInstallation | None) -> Registration:
        _check_if_match(wanted, stored)
        return new

    written = await write_device(engine, hub, _key(hub, registration_id), caller, change)
    answer = entry_answer(request, hub, written.document, written.version)
    return replace(answer, headers={**answer.headers, CHANGE_HEADER: written.result.value})


async def _create(engine: Engine, hub: Hub, request: HttpRequestData) -> HttpAnswer:
    return await _store(engine, hub, request, new_registration_id())


async def _put(
    engine: Engine, hub: Hub, request: HttpRequestData, registration_id: str
) -> HttpAnswer:
    return await _store(engine, hub, request, _registration_id(registration_id))


async def _get_implied(
    engine: Engine, hub: Hub, request: HttpRequestData, registration_id: str, installation_id: str
) -> HttpAnswer:
    caller = await caller_of(engine, hub, request, AccessRight.LISTEN)
    key = InstallationKey.of(hub.name, installation_id, hub.shard_count)
    stored = await engine.installations.read(key, max_tags=hub.max_tags)
    engine.metrics.count(hub.name, registry_key("read"))
    installation = None if stored is None else stored.installation
    if stored is None or installation is None:
        raise NotFoundError(NOT_FOUND)
    access.check_read(caller, hub, installation)
    for registration in implied_registrations(installation):
        if registration.registration_id == registration_id:
            return entry_answer(request, hub, registration, stored.version)
    raise NotFoundError(NOT_FOUND)


async def _get(
    engine: Engine, hub: Hub, request: HttpRequestData, registration_id: str
) -> HttpAnswer:
    implied = parse_implied_id(registration_id)
    if implied is not None:
        return await _get_implied(engine, hub, request, registration_id, implied[0])
    caller = await caller_of(engine, hub, request, AccessRight.LISTEN)
    key = _key(hub, validate_registration_id(registration_id))
    stored = await engine.installations.read(key, max_tags=hub.max_tags)
    engine.metrics.count(hub.name, registry_key("read"))
    registration = None if stored is None else stored.registration
    if stored is None or registration is None:
        raise NotFoundError(NOT_FOUND)
    access.check_read(caller, hub, registration)
    return entry_answer(request, hub, registration, stored.version)


async def _delete(
    engine: Engine, hub: Hub, request: HttpRequestData, registration_id: str
) -> HttpAnswer:
    caller = await caller_of(engine, hub, request, AccessRight.LISTEN)
    key = _key(hub, _registration_id(registration_id))
    wanted = _if_match(request)
    if not await delete_device(engine, hub, key, caller, lambda s: _check_if_match(wanted, s)):
        raise NotFoundError(NOT_FOUND)
    return HttpAnswer(200)


Operation = Callable[[Engine, Hub, HttpRequestData, str], Awaitable[HttpAnswer]]
_BY_ID: dict[str, Operation] = {"PUT": _put, "GET": _get, "DELETE": _delete}


async def handle_registrations(request: HttpRequestData) -> HttpAnswer:
    """The entry point of the registrations function: ``/{hub}/registrations[/{id}]``."""
    engine = get_engine()
    hub = await engine.hubs.get_hub(request.route["hub"])
    registration_id = request.route.get("registrationId")
    if not registration_id:
        if request.method == "POST":
            return await _create(engine, hub, request)
        if request.method == "GET":
            return await list_registrations(engine, hub, request)
        raise BadRequestError(f"{request.method} needs a registration id in the URL.")
    operation = _BY_ID.get(request.method)
    if operation is None:
        raise BadRequestError(f"{request.method} is not supported on a registration.")
    return await operation(engine, hub, request, registration_id)


async def handle_registration_ids(request: HttpRequestData) -> HttpAnswer:
    """``POST /{hub}/registrationIDs`` (Listen): a new id, in ``Location``; nothing is stored."""
    engine = get_engine()
    hub = await engine.hubs.get_hub(request.route["hub"])
    await caller_of(engine, hub, request, AccessRight.LISTEN)
    location = resource_url(request, hub, f"registrationids/{new_registration_id()}")
    return HttpAnswer(201, b"", {"Location": location, "Content-Type": ENTRY_CONTENT_TYPE})


async def handle_tag_registrations(request: HttpRequestData) -> HttpAnswer:
    """``GET /{hub}/tags/{tag}/registrations`` (Manage)."""
    engine = get_engine()
    hub = await engine.hubs.get_hub(request.route["hub"])
    return await list_tag_registrations(engine, hub, request, request.route["tag"])
