"""The ADM simulator: client-credentials token, send checks, replaced and dead handles."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from simulators.simkit import h1_client

from emulator.pns import RunningSimulators
from emulator.pns.adm import checksum

HEADERS = {
    "accept": "application/json",
    "x-amzn-type-version": "com.amazon.device.messaging.ADMMessage@1.0",
    "x-amzn-accept-type": "com.amazon.device.messaging.ADMSendResult@1.0",
}


def registration() -> str:
    return "amzn1.adm-registration.v3." + secrets.token_urlsafe(60)


async def adm_token(sims: RunningSimulators, secret: str | None = None) -> httpx.Response:
    creds = sims.credentials
    form = {
        "grant_type": "client_credentials",
        "scope": "messaging:push",
        "client_id": creds.adm_client_id,
        "client_secret": secret or creds.adm_client_secret,
    }
    async with h1_client(sims) as client:
        return await client.post(sims.endpoints.adm_token_uri, data=form)


@pytest.fixture
async def token(sims: RunningSimulators) -> str:
    response = await adm_token(sims)
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "bearer",
        3600,
        "messaging:push",
    )
    value: str = body["access_token"]
    return value


async def _send(
    sims: RunningSimulators, token: str, handle: str, body: Any, headers: dict[str, str] = HEADERS
) -> httpx.Response:
    url = f"{sims.endpoints.adm}/messaging/registrations/{handle}/messages"
    async with h1_client(sims) as client:
        return await client.post(
            url, json=body, headers={**headers, "authorization": f"Bearer {token}"}
        )


async def test_send_is_recorded(sims: RunningSimulators, token: str) -> None:
    handle, data = registration(), {"a": "1", "b": "two"}
    body = {"data": data, "consolidationKey": "sync", "expiresAfter": 86400, "md5": checksum(data)}
    response = await _send(sims, token, handle, body)
    assert (response.status_code, response.json()) == (200, {"registrationID": handle})
    assert await sims.control.counts("adm") == {handle: 1}


async def test_bad_client_secret(sims: RunningSimulators) -> None:
    response = await adm_token(sims, "wrong")
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"data": {"n": 1}}, 400, "InvalidData"),
        ({"data": "text"}, 400, "InvalidData"),
        ({"data": {}, "extra": 1}, 400, "InvalidData"),
        ({"data": {"k": "v" * 6200}}, 413, "MessageTooLarge"),
        ({"data": {}, "consolidationKey": "k" * 65}, 400, "InvalidConsolidationKey"),
        ({"data": {}, "expiresAfter": "soon"}, 400, "InvalidExpiration"),
        ({"data": {"k": "v"}, "md5": "AAAA"}, 400, "InvalidChecksum"),
    ],
)
async def test_body_checks(
    sims: RunningSimulators, token: str, body: dict[str, Any], status: int, reason: str
) -> None:
    response = await _send(sims, token, registration(), body)
    assert (response.status_code, response.json()) == (status, {"reason": reason})


async def test_auth_headers_and_handle_checks(sims: RunningSimulators, token: str) -> None:
    body = {"data": {"k": "v"}}
    expired = await _send(sims, "Atc|forged", registration(), body)
    wrong_type = await _send(
        sims, token, registration(), body, {**HEADERS, "x-amzn-type-version": "x"}
    )
    bad_id = await _send(sims, token, "bad!id", body)
    assert expired.json() == {"reason": "AccessTokenExpired"}
    assert expired.status_code == 401
    assert (wrong_type.status_code, wrong_type.json()["reason"]) == (400, "InvalidType")
    assert (bad_id.status_code, bad_id.json()["reason"]) == (400, "InvalidRegistrationId")


async def test_replaced_and_dead_handles(sims: RunningSimulators, token: str) -> None:
    old, new, dead = registration(), registration(), registration()
    await sims.control.mark_handle("adm", old, "replaced", replacement=new)
    await sims.control.mark_handle("adm", dead, "dead")
    replaced = await _send(sims, token, old, {"data": {"k": "v"}})
    gone = await _send(sims, token, dead, {"data": {"k": "v"}})
    assert (replaced.status_code, replaced.json()) == (200, {"registrationID": new})
    assert (gone.status_code, gone.json()) == (400, {"reason": "Unregistered"})
