"""The NH installations API through the emulator, against real Azurite."""

from __future__ import annotations

import asyncio
import json
import time
import xml.etree.ElementTree as ET

import pytest

from shared.engine import Engine
from support.stack import NhCaller, installation, without_timestamps

from .storage_view import index_rows, installation_rows


def nh_error(body: bytes) -> tuple[str, str]:
    root = ET.fromstring(body)
    return root.findtext("Code") or "", root.findtext("Detail") or ""


async def test_put_then_get_answers_nh_shaped_json(nh: NhCaller) -> None:
    body = installation(
        "dev-1",
        platform="APNS",
        tags=["sports", "b#c"],
        userId="alice",
        pushVariables={"name": "Alice"},
        templates={"greeting": {"body": '{"aps":{"alert":"$(msg)"}}', "tags": ["promo"]}},
    )
    async with nh.client() as http:
        put = await http.put("/installations/dev-1", json=body, headers=nh.headers())
        got = await http.get("/installations/dev-1", headers=nh.headers())
    assert put.status_code == 200
    assert got.status_code == 200
    assert without_timestamps(got.json()) == {
        "installationId": "dev-1",
        "pushChannel": body["pushChannel"],
        "pushChannelExpired": False,
        "platform": "apns",
        "expirationTime": "9999-12-31T23:59:59.9999999Z",
        "tags": ["b#c", "sports"],
        "pushVariables": {"name": "Alice"},
        "templates": {
            "greeting": {"body": '{"aps":{"alert":"$(msg)"}}', "tags": ["greeting", "promo"]}
        },
        "userId": "alice",
    }


async def test_index_rows_follow_the_installation(nh: NhCaller, engine: Engine) -> None:
    hub = nh.hub.name
    async with nh.client() as http:
        await http.put(
            "/installations/d1",
            json=installation("d1", tags=["a", "b"], userId="u1"),
            headers=nh.headers(),
        )
        assert await index_rows(engine, hub) == {("a", "d1"), ("b", "d1"), ("$UserId:{u1}", "d1")}
        patch = [
            {"op": "add", "path": "/tags", "value": "c"},
            {"op": "remove", "path": "/tags/a"},
        ]
        response = await http.patch("/installations/d1", json=patch, headers=nh.headers())
        assert response.status_code == 200
        assert await index_rows(engine, hub) == {("b", "d1"), ("c", "d1"), ("$UserId:{u1}", "d1")}
        deleted = await http.delete("/installations/d1", headers=nh.headers())
        again = await http.delete("/installations/d1", headers=nh.headers())
        missing = await http.get("/installations/d1", headers=nh.headers())
    assert (deleted.status_code, again.status_code) == (204, 204)
    assert missing.status_code == 404
    assert nh_error(missing.content)[0] == "404"
    assert await index_rows(engine, hub) == set()
    assert await installation_rows(engine, hub) == {}


async def test_an_unchanged_registration_writes_nothing(nh: NhCaller, engine: Engine) -> None:
    body = installation("same", tags=["x"])
    async with nh.client() as http:
        await http.put("/installations/same", json=body, headers=nh.headers())
        before = (await installation_rows(engine, nh.hub.name))["same"]
        again = await http.put("/installations/same", json=body, headers=nh.headers())
        after = (await installation_rows(engine, nh.hub.name))["same"]
    assert again.status_code == 200
    assert after["Version"] == before["Version"] == 1
    assert after["LastUpdate"] == before["LastUpdate"]


async def test_concurrent_patches_all_land(nh: NhCaller, engine: Engine) -> None:
    async with nh.client() as http:
        await http.put("/installations/busy", json=installation("busy"), headers=nh.headers())
        answers = await asyncio.gather(
            *(
                http.patch(
                    "/installations/busy",
                    json=[{"op": "add", "path": "/tags", "value": f"t{i}"}],
                    headers=nh.headers(),
                )
                for i in range(8)
            )
        )
        got = await http.get("/installations/busy", headers=nh.headers())
    assert [a.status_code for a in answers] == [200] * 8
    assert sorted(got.json()["tags"]) == sorted(f"t{i}" for i in range(8))
    assert await index_rows(engine, nh.hub.name) == {(f"t{i}", "busy") for i in range(8)}
    assert (await installation_rows(engine, nh.hub.name))["busy"]["Pending"] is False


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not valid JSON"),
        (json.dumps(installation("bad", platform="nokia")).encode(), 400, "platform"),
        (json.dumps(installation("bad", tags=["has space"])).encode(), 400, "tag"),
        (json.dumps({"installationId": "bad"}).encode(), 400, "platform"),
        (
            json.dumps(
                installation("bad", platform="wns", pushChannel="http://169.254.169.254/x")
            ).encode(),
            400,
            "https",
        ),
        (b"[" + b'"x",' * 30000 + b'"x"]', 413, "64 KB"),
    ],
)
async def test_bad_input_gets_a_clear_4xx_and_writes_nothing(
    nh: NhCaller, engine: Engine, body: bytes, status: int, words: str
) -> None:
    async with nh.client() as http:
        response = await http.put("/installations/bad", content=body, headers=nh.headers())
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/xml")
    code, detail = nh_error(response.content)
    assert code == str(status)
    assert words.lower() in detail.lower()
    assert await installation_rows(engine, nh.hub.name) == {}


async def test_an_invalid_installation_id_in_the_url_is_400(nh: NhCaller) -> None:
    async with nh.client() as http:
        response = await http.get("/installations/a:b", headers=nh.headers())
    assert response.status_code == 400


async def test_unknown_hub_is_404(nh: NhCaller) -> None:
    async with nh.client() as http:
        response = await http.get(f"{nh.base_url}/nosuchhub/installations/x", headers=nh.headers())
    assert response.status_code == 404


async def test_listing_pages_through_every_installation_once_in_full_pages(nh: NhCaller) -> None:
    platforms = ["apns", "fcmv1", "adm"]
    async with nh.client() as http:
        for i in range(23):
            body = installation(
                f"i{i:02d}",
                platform=platforms[i % 3],
                pushChannel=f"00aa{i:02d}",
                tags=["even"] if i % 2 == 0 else [],
                userId=f"user{i % 5}",
            )
            assert (
                await http.put(f"/installations/i{i:02d}", json=body, headers=nh.headers())
            ).status_code == 200

        async def collect(top: str = "4", **params: str) -> list[str]:
            seen: list[str] = []
            sizes: list[int] = []
            token = None
            while True:
                query = dict(params, top=top) | ({"continuationToken": token} if token else {})
                page = await http.get("/installations", params=query, headers=nh.headers())
                assert page.status_code == 200
                found = [i["installationId"] for i in page.json()["installations"]]
                seen, sizes = seen + found, [*sizes, len(found)]
                token = page.json()["continuationToken"]
                assert page.headers.get("x-ms-continuationtoken") == token
                if token is None:
                    # The 23 devices lie across the hub's 16 shards; every page but the last
                    # is filled up to top, and the last is empty only after a full one.
                    assert all(size == int(top) for size in sizes[:-1]), sizes
                    assert sizes[-1] > 0 or len(sizes) == 1 or sizes[-2] == int(top), sizes
                    return seen

        everything = await collect()
        apns = await collect(platform="apns")
        even = await collect(tag="even")
        user = await collect(userId="user1")
        one_page = await http.get("/installations", headers=nh.headers())  # top: 100
        lines = await http.get("/installations", headers=nh.headers(accept="application/x-ndjson"))
    assert sorted(everything) == [f"i{i:02d}" for i in range(23)]
    assert len(everything) == len(set(everything))
    assert sorted(apns) == [f"i{i:02d}" for i in range(0, 23, 3)]
    assert sorted(even) == [f"i{i:02d}" for i in range(0, 23, 2)]
    assert sorted(user) == [f"i{i:02d}" for i in range(1, 23, 5)]
    assert len(one_page.json()["installations"]) == 23
    assert one_page.json()["continuationToken"] is None
    assert lines.headers["content-type"] == "application/x-ndjson"
    assert all(json.loads(line)["installationId"] for line in lines.text.splitlines())


async def test_a_forged_continuation_token_is_400(nh: NhCaller) -> None:
    async with nh.client() as http:
        response = await http.get(
            "/installations", params={"continuationToken": "!!"}, headers=nh.headers()
        )
    assert response.status_code == 400


async def test_sas_failures_get_nh_401_and_403(nh: NhCaller) -> None:
    listen = nh.as_listen()
    cases = {
        "missing": {},
        "wrong key": {"Authorization": nh.token(key="d3Jvbmc=")},
        "expired": {"Authorization": nh.token(expiry=int(time.time()) - 5)},
        "wrong audience": {"Authorization": nh.token(sr="https://elsewhere.example/")},
    }
    async with nh.client() as http:
        answers = {name: await http.get("/installations/x", headers=h) for name, h in cases.items()}
        listing = await http.get("/installations", headers=listen.headers())
        secondary = await http.get(
            "/installations/x",
            headers={"Authorization": nh.token(key=nh.hub.policies[nh.policy].secondary_key)},
        )
    for name, answer in answers.items():
        assert answer.status_code == 401, name
        assert nh_error(answer.content)[0] == "401"
    assert listing.status_code == 403
    assert "Manage" in nh_error(listing.content)[1]
    assert secondary.status_code == 404  # the secondary key verifies: rotation without downtime
