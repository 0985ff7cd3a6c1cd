"""Push to user without NH's hole: what a Listen-key device may and may not do."""

from __future__ import annotations

import pytest

from shared.auth.user_token import USER_TOKEN_HEADER
from support.guarded import guard, user_token
from support.stack import NhCaller, installation


@pytest.fixture
async def guarded(nh: NhCaller, azurite: str) -> NhCaller:
    return await guard(nh, azurite)


async def test_listen_key_cannot_claim_a_user_without_that_users_token(guarded: NhCaller) -> None:
    device = guarded.as_listen()
    body = installation("phone", userId="bob")
    async with device.client() as http:
        anonymous = await http.put("/installations/phone", json=body, headers=device.headers())
        impostor = await http.put(
            "/installations/phone",
            json=body,
            headers=device.headers(**{USER_TOKEN_HEADER: user_token("mallory")}),
        )
        forged = await http.put(
            "/installations/phone",
            json=body,
            headers=device.headers(**{USER_TOKEN_HEADER: user_token("bob", secret="guess" * 8)}),
        )
        bob = await http.put(
            "/installations/phone",
            json=body,
            headers=device.headers(**{USER_TOKEN_HEADER: user_token("bob")}),
        )
    assert (anonymous.status_code, impostor.status_code, forged.status_code) == (401, 403, 401)
    assert bob.status_code == 200


async def test_a_users_installation_cannot_be_taken_over_with_the_listen_key(
    guarded: NhCaller,
) -> None:
    device = guarded.as_listen()
    async with guarded.client() as http:
        await http.put(
            "/installations/phone",
            json=installation("phone", userId="bob"),
            headers=guarded.headers(),
        )
        hijack = await http.put(
            "/installations/phone",
            json=installation("phone", pushChannel="00ff"),
            headers=device.headers(),
        )
        peek = await http.get("/installations/phone", headers=device.headers())
        wipe = await http.delete("/installations/phone", headers=device.headers())
        own = await http.get(
            "/installations/phone",
            headers=device.headers(**{USER_TOKEN_HEADER: user_token("bob")}),
        )
    assert (hijack.status_code, peek.status_code, wipe.status_code) == (401, 401, 401)
    assert own.status_code == 200
    assert own.json()["pushChannel"] != "00ff"


async def test_tag_policy_binds_listen_keys_but_not_the_backend(guarded: NhCaller) -> None:
    device = guarded.as_listen()
    async with guarded.client() as http:
        claimed = await http.put(
            "/installations/tv",
            json=installation("tv", tags=["user:bob"]),
            headers=device.headers(),
        )
        allowed = await http.put(
            "/installations/tv", json=installation("tv", tags=["news"]), headers=device.headers()
        )
        backend = await http.patch(
            "/installations/tv",
            json=[{"op": "add", "path": "/tags", "value": "user:carol"}],
            headers=guarded.headers(),
        )
    assert claimed.status_code == 403
    assert "user:bob" in claimed.text
    assert (allowed.status_code, backend.status_code) == (200, 200)


async def test_template_names_are_selectors_and_pass_the_policy(guarded: NhCaller) -> None:
    device = guarded.as_listen()
    template = {"body": '{"aps":{"alert":"$(msg)"}}'}
    async with guarded.client() as http:
        as_user = await http.put(
            "/installations/tv",
            json=installation("tv", templates={"$UserId:{alice}": template}),
            headers=device.headers(),
        )
        as_reserved = await http.put(
            "/installations/tv",
            json=installation("tv", templates={"user:alice": template}),
            headers=device.headers(),
        )
        created = await http.put(
            "/installations/tv", json=installation("tv"), headers=device.headers()
        )
        patched = await http.patch(
            "/installations/tv",
            json=[{"op": "add", "path": "/templates/user:alice", "value": template}],
            headers=device.headers(),
        )
        stored = await http.get("/installations/tv", headers=guarded.headers())
    assert (as_user.status_code, as_reserved.status_code) == (400, 403)
    assert (created.status_code, patched.status_code) == (200, 403)
    assert "templates" not in stored.json()


async def test_an_installation_the_backend_tagged_cannot_be_taken_over(guarded: NhCaller) -> None:
    device = guarded.as_listen()
    async with guarded.client() as http:
        await http.put(
            "/installations/tv",
            json=installation("tv", tags=["news", "user:carol"]),
            headers=guarded.headers(),
        )
        takeover = await http.put(
            "/installations/tv",
            json=installation("tv", pushChannel="00ff", tags=["news", "user:carol"]),
            headers=device.headers(),
        )
        peek = await http.get("/installations/tv", headers=device.headers())
        wipe = await http.delete("/installations/tv", headers=device.headers())
        stored = await http.get("/installations/tv", headers=guarded.headers())
    assert (takeover.status_code, peek.status_code, wipe.status_code) == (403, 403, 403)
    assert "Send or Manage key" in peek.text
    assert stored.status_code == 200
    assert stored.json()["pushChannel"] != "00ff"
