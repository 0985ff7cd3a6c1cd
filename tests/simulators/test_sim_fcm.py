"""The FCM v1 simulator: google-auth gets a token, which the send endpoint then accepts."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import google.auth.transport.requests
import httpx
import jwt
import pytest
import requests
from google.oauth2 import service_account
from simulators.simkit import h1_client, h2_client

from emulator.pns import RunningSimulators

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


def fcm_token() -> str:
    return secrets.token_urlsafe(40) + ":APA91b" + secrets.token_urlsafe(100)


def _google_auth_token(sims: RunningSimulators, info: dict[str, Any]) -> str:
    credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        info, scopes=[SCOPE]
    )
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`
    session.verify = sims.endpoints.ca_file
    credentials.refresh(google.auth.transport.requests.Request(session))
    token: str = credentials.token
    return token


@pytest.fixture
async def access_token(sims: RunningSimulators) -> str:
    info = await sims.control.new_fcm_service_account()
    return await asyncio.to_thread(_google_auth_token, sims, info)


def send_url(sims: RunningSimulators, project: str | None = None) -> str:
    project = project or sims.credentials.fcm_project_id
    return f"{sims.endpoints.fcm}/v1/projects/{project}/messages:send"


async def _send(
    sims: RunningSimulators, token: str | None, body: object, project: str | None = None
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with h2_client(sims) as client:
        response = await client.post(send_url(sims, project), json=body, headers=headers)
    assert response.http_version == "HTTP/2"
    return response


async def test_google_auth_token_is_accepted_over_http2(
    sims: RunningSimulators, access_token: str
) -> None:
    handle = fcm_token()
    message = {"token": handle, "data": {"k": "v"}, "notification": {"title": "t"}}
    response = await _send(sims, access_token, {"message": message})
    assert response.status_code == 200
    assert response.json()["name"].startswith(f"projects/{sims.credentials.fcm_project_id}/")
    [record] = await sims.control.records("fcm", handle)
    assert record["handle"] == handle


async def test_generated_service_account_file_works_over_http1(sims: RunningSimulators) -> None:
    info = await asyncio.to_thread(
        service_account.Credentials.from_service_account_file, str(sims.service_account_file)
    )
    assert info.project_id == sims.credentials.fcm_project_id
    import json

    sa = json.loads(sims.service_account_file.read_text())
    token = await asyncio.to_thread(_google_auth_token, sims, sa)
    async with h1_client(sims) as client:
        response = await client.post(
            send_url(sims),
            json={"message": {"topic": "news"}},
            headers={"authorization": f"Bearer {token}"},
        )
    assert (response.http_version, response.status_code) == ("HTTP/1.1", 200)


async def test_missing_and_unknown_access_tokens(sims: RunningSimulators) -> None:
    body = {"message": {"token": fcm_token()}}
    for token in (None, "ya29.forged"):
        response = await _send(sims, token, body)
        assert response.status_code == 401
        assert response.json()["error"]["status"] == "UNAUTHENTICATED"


async def test_token_for_another_project_is_denied(
    sims: RunningSimulators, access_token: str
) -> None:
    response = await _send(sims, access_token, {"message": {"topic": "x"}}, project="other")
    assert response.json()["error"]["status"] == "PERMISSION_DENIED"


async def test_assertion_signed_by_unknown_key_is_refused(sims: RunningSimulators) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {
        "iss": sims.credentials.fcm_client_email,
        "scope": SCOPE,
        "aud": "https://oauth2.googleapis.com/token",
        "iat": now,
        "exp": now + 3600,
    }
    assertion = jwt.encode(claims, key, "RS256")
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    async with h1_client(sims) as client:
        response = await client.post(sims.endpoints.fcm_token_uri, data=form)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("message", "needle"),
    [
        ({"token": "a" * 30, "topic": "news"}, "Exactly one"),
        ({}, "Exactly one"),
        ({"topic": "news", "data": {"n": 1}}, "TYPE_STRING"),
        ({"topic": "news", "colour": "red"}, 'Unknown name "colour"'),
        ({"topic": "news", "android": {"priority": "URGENT"}}, "priority"),
        ({"topic": "news", "android": {"ttl": "3 days"}}, "ttl"),
        ({"topic": "news", "data": {"google.x": "1"}}, "google.x"),
        ({"topic": "bad/topic"}, "topic"),
        ({"token": "short"}, "not a valid FCM registration token"),
        ({"token": "a" * 30, "data": {"k": "v" * 4100}}, "too big"),
    ],
)
async def test_schema_errors(
    sims: RunningSimulators, access_token: str, message: dict[str, Any], needle: str
) -> None:
    response = await _send(sims, access_token, {"message": message})
    error = response.json()["error"]
    assert (response.status_code, error["status"]) == (400, "INVALID_ARGUMENT")
    assert needle in error["message"]


async def test_dead_and_foreign_tokens(sims: RunningSimulators, access_token: str) -> None:
    dead, foreign = fcm_token(), fcm_token()
    await sims.control.mark_handle("fcm", dead, "dead")
    await sims.control.mark_handle("fcm", foreign, "mismatch")
    gone = (await _send(sims, access_token, {"message": {"token": dead}})).json()["error"]
    other = (await _send(sims, access_token, {"message": {"token": foreign}})).json()["error"]
    assert (gone["code"], gone["details"][0]["errorCode"]) == (404, "UNREGISTERED")
    assert (other["code"], other["details"][0]["errorCode"]) == (403, "SENDER_ID_MISMATCH")
    rejected = await sims.control.rejections("fcm")
    assert rejected[dead] == {"UNREGISTERED": 1}


async def test_validate_only_is_not_recorded(sims: RunningSimulators, access_token: str) -> None:
    body = {"validate_only": True, "message": {"token": fcm_token()}}
    response = await _send(sims, access_token, body)
    assert response.json()["name"].endswith("/messages/fake_message_id")
    assert await sims.control.records("fcm") == []


async def test_large_bodies_do_not_stall_the_stream_window(
    sims: RunningSimulators, access_token: str
) -> None:
    data = {f"k{i}": "v" * 1000 for i in range(200)}  # ~200 KB, three stream windows
    response = await _send(sims, access_token, {"message": {"topic": "news", "data": data}})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Message is too big"
