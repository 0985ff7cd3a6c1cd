"""Fault injection and records: exact counts, reset, Retry-After, GOAWAY and dropped connections."""

from __future__ import annotations

import json
import secrets

import httpx
import pytest
from h2.events import ConnectionTerminated, ResponseReceived
from simulators.simkit import (
    PAYLOAD,
    apns_headers,
    device_token,
    h1_client,
    h2_client,
    h2_exchange,
    live_token,
)

from emulator.pns import ControlError, RunningSimulators


async def _apns_statuses(sims: RunningSimulators, tokens: list[str]) -> list[int]:
    statuses = []
    async with h2_client(sims) as client:
        for token in tokens:
            url = f"{sims.endpoints.apns}/3/device/{token}"
            response = await client.post(
                url, headers=apns_headers(sims.credentials), content=PAYLOAD
            )
            statuses.append(response.status_code)
    return statuses


async def test_first_n_attempts_per_handle_fail_then_succeed(sims: RunningSimulators) -> None:
    await sims.control.set_faults("apns", first_n=2, first_n_kind="error")
    one, two = device_token(), device_token()
    statuses = await _apns_statuses(sims, [one, two, one, two, one, two, one])
    assert statuses == [503, 503, 503, 503, 200, 200, 200]
    assert await sims.control.counts("apns") == {one: 2, two: 1}
    assert await sims.control.rejections("apns") == {
        one: {"fault:error": 2},
        two: {"fault:error": 2},
    }


async def test_seeded_rates_repeat_exactly(sims: RunningSimulators) -> None:
    tokens = [device_token() for _ in range(30)]
    runs = []
    for _ in range(2):
        await sims.control.reset_records()
        await sims.control.set_faults("apns", error_rate=0.3, throttle_rate=0.2, seed=42)
        runs.append(await _apns_statuses(sims, tokens))
    assert runs[0] == runs[1]
    assert {200, 429, 503} == set(runs[0])
    delivered = await sims.control.counts("apns")
    assert sum(delivered.values()) == runs[1].count(200)


async def test_reset_forgets_records(sims: RunningSimulators) -> None:
    await _apns_statuses(sims, [device_token()])
    assert len(await sims.control.records("apns")) == 1
    await sims.control.reset_records("apns")
    assert await sims.control.records("apns") == []
    assert await sims.control.counts("apns") == {}


async def test_throttling_carries_retry_after(sims: RunningSimulators) -> None:
    for platform in ("apns", "adm", "wns", "webpush"):
        await sims.control.set_faults(platform, throttle_rate=1.0, retry_after=7)
    async with h2_client(sims) as client:
        url = f"{sims.endpoints.apns}/3/device/{device_token()}"
        apns = await client.post(url, headers=apns_headers(sims.credentials), content=PAYLOAD)
    assert (apns.status_code, apns.json()["reason"], apns.headers["retry-after"]) == (
        429,
        "TooManyRequests",
        "7",
    )
    adm = await _adm_send(sims)
    assert (adm.status_code, adm.json(), adm.headers["retry-after"]) == (
        429,
        {"reason": "MaxRateExceeded"},
        "7",
    )
    wns = await _wns_send(sims, await live_token(sims), secrets.token_urlsafe(24))
    assert (wns.status_code, wns.headers["x-wns-status"]) == (406, "channelthrottled")
    assert wns.headers["x-wns-continue-after"] == "7"


async def _adm_send(sims: RunningSimulators) -> httpx.Response:
    creds = sims.credentials
    form = {
        "grant_type": "client_credentials",
        "scope": "messaging:push",
        "client_id": creds.adm_client_id,
        "client_secret": creds.adm_client_secret,
    }
    headers = {
        "accept": "application/json",
        "x-amzn-type-version": "com.amazon.device.messaging.ADMMessage@1.0",
    }
    async with h1_client(sims) as client:
        token = (await client.post(sims.endpoints.adm_token_uri, data=form)).json()["access_token"]
        url = f"{sims.endpoints.adm}/messaging/registrations/amzn1.adm-registration.x1/messages"
        headers["authorization"] = f"Bearer {token}"
        return await client.post(url, json={"data": {"k": "v"}}, headers=headers)


async def _wns_send(sims: RunningSimulators, token: str, channel: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}", "x-wns-type": "wns/raw"}
    headers["content-type"] = "application/octet-stream"
    async with h1_client(sims) as client:
        return await client.post(
            sims.endpoints.wns_channel_base + channel, headers=headers, content=b"x"
        )


async def test_fcm_quota_exceeded(sims: RunningSimulators) -> None:
    await sims.control.set_faults("fcm", throttle_rate=1.0, retry_after=60)
    info = await sims.control.new_fcm_service_account()
    token = await _fcm_token(sims, info)
    async with h2_client(sims) as client:
        response = await client.post(
            f"{sims.endpoints.fcm}/v1/projects/{info['project_id']}/messages:send",
            json={"message": {"token": secrets.token_urlsafe(64)}},
            headers={"authorization": f"Bearer {token}"},
        )
    error = response.json()["error"]
    assert (response.status_code, response.headers["retry-after"]) == (429, "60")
    assert (error["status"], error["details"][0]["errorCode"]) == (
        "RESOURCE_EXHAUSTED",
        "QUOTA_EXCEEDED",
    )


async def _fcm_token(sims: RunningSimulators, info: dict[str, str]) -> str:
    import time

    import jwt

    now = int(time.time())
    claims = {
        "iss": info["client_email"],
        "scope": "https://www.googleapis.com/auth/firebase.messaging",
        "aud": info["token_uri"],
        "iat": now,
        "exp": now + 3600,
    }
    assertion = jwt.encode(claims, info["private_key"], "RS256")
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    async with h1_client(sims) as client:
        response = await client.post(info["token_uri"], data=form)
    token: str = response.json()["access_token"]
    return token


async def test_apns_goaway_carries_reason(sims: RunningSimulators) -> None:
    await sims.control.set_faults("apns", goaway_rate=1.0)
    url = f"{sims.endpoints.apns}/3/device/{device_token()}"
    events = await h2_exchange(sims, url, apns_headers(sims.credentials), PAYLOAD)
    [goaway] = [e for e in events if isinstance(e, ConnectionTerminated)]
    assert goaway.additional_data == b'{"reason":"Shutdown"}'
    assert not any(isinstance(e, ResponseReceived) for e in events)
    assert await sims.control.counts("apns") == {}


async def test_dropped_connections(sims: RunningSimulators) -> None:
    await sims.control.set_faults("apns", drop_rate=1.0)
    await sims.control.set_faults("wns", first_n=1, first_n_kind="drop")
    url = f"{sims.endpoints.apns}/3/device/{device_token()}"
    events = await h2_exchange(sims, url, apns_headers(sims.credentials), PAYLOAD)
    assert not any(isinstance(e, ResponseReceived | ConnectionTerminated) for e in events)
    token, channel = await live_token(sims), secrets.token_urlsafe(24)
    with pytest.raises(httpx.TransportError):
        await _wns_send(sims, token, channel)
    assert (await _wns_send(sims, token, channel)).status_code == 200


async def test_latency_still_answers(sims: RunningSimulators) -> None:
    await sims.control.set_faults("apns", latency_ms=20)
    assert await _apns_statuses(sims, [device_token(), device_token()]) == [200, 200]


async def test_control_api_rejects_bad_fault_specs(sims: RunningSimulators) -> None:
    with pytest.raises(ControlError, match="unknown fault fields"):
        await sims.control.set_faults("apns", explode=True)
    with pytest.raises(ControlError, match="rates"):
        await sims.control.set_faults("apns", error_rate=2.0)
    with pytest.raises(ControlError):
        await sims.control.set_faults("pigeon", error_rate=0.1)


async def test_fcm_goaway_over_http2(sims: RunningSimulators) -> None:
    await sims.control.set_faults("fcm", goaway_rate=1.0)
    info = await sims.control.new_fcm_service_account()
    token = await _fcm_token(sims, info)
    url = f"{sims.endpoints.fcm}/v1/projects/{info['project_id']}/messages:send"
    body = json.dumps({"message": {"token": secrets.token_urlsafe(64)}}).encode()
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    events = await h2_exchange(sims, url, headers, body)
    assert any(isinstance(e, ConnectionTerminated) for e in events)
    assert not any(isinstance(e, ResponseReceived) for e in events)
