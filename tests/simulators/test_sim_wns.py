"""The WNS simulator: both token flows, the channel checks and the X-WNS-* answer headers."""

from __future__ import annotations

import secrets

import httpx
import pytest
from simulators.simkit import h1_client, live_token

from emulator.pns import RunningSimulators

TOAST = (
    b"<toast><visual><binding template='ToastGeneric'><text>Hi</text></binding></visual></toast>"
)


async def _post(
    sims: RunningSimulators, token: str | None, handle: str, body: bytes, **headers: str
) -> httpx.Response:
    sent = {k.replace("_", "-"): v for k, v in headers.items()}
    if token:
        sent["authorization"] = f"Bearer {token}"
    async with h1_client(sims) as client:
        url = sims.endpoints.wns_channel_base + handle
        return await client.post(url, content=body, headers=sent)


async def test_toast_is_received_with_wns_headers(sims: RunningSimulators) -> None:
    token, handle = await live_token(sims), secrets.token_urlsafe(32)
    response = await _post(
        sims,
        token,
        handle,
        TOAST,
        x_wns_type="wns/toast",
        content_type="text/xml",
        x_wns_requestforstatus="true",
    )
    assert response.status_code == 200
    assert response.headers["x-wns-status"] == "received"
    assert response.headers["x-wns-deviceconnectionstatus"] == "connected"
    assert len(response.headers["x-wns-msg-id"]) <= 16
    assert response.headers["x-wns-debug-trace"]
    [record] = await sims.control.records("wns", handle)
    assert record["payload"] == TOAST.decode()


async def test_entra_token_flow_and_raw(sims: RunningSimulators) -> None:
    creds = sims.credentials
    form = {
        "grant_type": "client_credentials",
        "client_id": creds.wns_aad_client_id,
        "client_secret": creds.wns_aad_client_secret,
        "scope": "https://wns.windows.com/.default",
    }
    async with h1_client(sims) as client:
        answer = await client.post(sims.endpoints.wns_aad_token_uri, data=form)
        refused = await client.post(
            sims.endpoints.wns_aad_token_uri, data={**form, "client_secret": "wrong"}
        )
    assert (answer.status_code, answer.json()["expires_in"]) == (200, "86399")
    assert refused.status_code == 401
    raw = await _post(
        sims,
        answer.json()["access_token"],
        secrets.token_urlsafe(32),
        b"\x00\x01binary",
        x_wns_type="wns/raw",
        content_type="application/octet-stream",
    )
    assert raw.status_code == 200


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"x_wns_type": "wns/popup", "content_type": "text/xml"}, TOAST, 400),
        ({"content_type": "text/xml"}, TOAST, 400),
        ({"x_wns_type": "wns/toast", "content_type": "application/octet-stream"}, TOAST, 400),
        ({"x_wns_type": "wns/raw", "content_type": "text/xml"}, b"raw", 400),
        ({"x_wns_type": "wns/toast", "content_type": "text/xml"}, b"<toast><oops>", 400),
        ({"x_wns_type": "wns/badge", "content_type": "text/xml"}, TOAST, 400),
        (
            {"x_wns_type": "wns/tile", "content_type": "text/xml", "x_wns_tag": "x" * 17},
            b"<tile/>",
            400,
        ),
        (
            {"x_wns_type": "wns/toast", "content_type": "text/xml", "x_wns_priority": "9"},
            TOAST,
            400,
        ),
        (
            {"x_wns_type": "wns/raw", "content_type": "application/octet-stream"},
            b"x" * 5001,
            413,
        ),
    ],
)
async def test_request_checks(
    sims: RunningSimulators, headers: dict[str, str], body: bytes, status: int
) -> None:
    token = await live_token(sims)
    response = await _post(sims, token, secrets.token_urlsafe(32), body, **headers)
    assert response.status_code == status
    assert response.headers["x-wns-error-description"]


async def test_auth_and_channel_state(sims: RunningSimulators) -> None:
    token, handle = await live_token(sims), secrets.token_urlsafe(32)
    toast = {"x_wns_type": "wns/toast", "content_type": "text/xml"}
    assert (await _post(sims, None, handle, TOAST, **toast)).status_code == 401
    assert (await _post(sims, "EwBforged", handle, TOAST, **toast)).status_code == 401
    assert (await _post(sims, token, "bad!", TOAST, **toast)).status_code == 404
    await sims.control.mark_handle("wns", handle, "dead")
    assert (await _post(sims, token, handle, TOAST, **toast)).status_code == 410
    await sims.control.expire_tokens("wns")
    assert (await _post(sims, token, secrets.token_urlsafe(32), TOAST, **toast)).status_code == 401
