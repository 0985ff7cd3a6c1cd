"""NH's registrations API through the emulator host, against real Azurite: the wire, ETags,
what storage holds, refusals, and the registrations installations imply."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from registry.storage_view import index_rows, installation_rows

from shared.auth.user_token import USER_TOKEN_HEADER
from shared.engine import Engine
from shared.model.registration import implied_registration_id
from support.guarded import guard, user_token
from support.stack import NhCaller, installation

from .wire import NS, apple, description, entry, fcm

TOKEN = "62bcd3484834b7e2dc56733ac5509259230cc1ba82ba1ae7d06e91908a05a8fa"
ATOM_ENTRY = "application/atom+xml;type=entry;charset=utf-8"


def nh_error(body: bytes) -> tuple[str, str]:
    root = ET.fromstring(body)
    return root.findtext("Code") or "", root.findtext("Detail") or ""


async def test_registration_ids_come_in_an_https_location(nh: NhCaller) -> None:
    async with nh.client() as http:
        answers = [
            await http.post(path, headers=nh.headers())
            for path in ("/registrationIDs", "/registrationids", "/registrationids/")
        ]
    for answer in answers:
        assert answer.status_code == 201
        location = urlsplit(answer.headers["Location"])
        assert location.scheme == "https"
        segments = location.path.split("/")
        assert segments[1:3] == [nh.hub.name, "registrationids"]  # .NET checks these
        assert segments[3]  # the JS SDK takes index 3
    ids = {urlsplit(a.headers["Location"]).path.rsplit("/", 1)[1] for a in answers}
    assert len(ids) == 3


async def test_put_creates_get_reads_and_storage_holds_one_document(
    nh: NhCaller, engine: Engine
) -> None:
    async with nh.client() as http:
        put = await http.put(
            "/registrations/r-1",
            content=apple(TOKEN, "sports,news"),
            headers=nh.headers(**{"Content-Type": ATOM_ENTRY}),
        )
        got = await http.get("/registrations/r-1", headers=nh.headers())
    assert put.status_code == 200
    assert put.headers["ETag"] == 'W/"1"'
    assert put.headers["Content-Type"].startswith("application/atom+xml")
    kind, members = description(got.content)
    assert kind == "AppleRegistrationDescription"
    assert members == {
        "ETag": "1",
        "ExpirationTime": "9999-12-31T23:59:59.999Z",
        "RegistrationId": "r-1",
        "Tags": "news,sports",
        "DeviceToken": TOKEN.upper(),
    }
    rows = await installation_rows(engine, nh.hub.name)
    assert list(rows) == ["reg:r-1"]
    assert rows["reg:r-1"]["Handle"] == TOKEN.upper()
    assert await index_rows(engine, nh.hub.name) == {("news", "reg:r-1"), ("sports", "reg:r-1")}


async def test_an_unchanged_registration_writes_nothing_and_keeps_its_etag(
    nh: NhCaller, engine: Engine
) -> None:
    body = fcm("tok-1", "a")
    async with nh.client() as http:
        await http.put("/registrations/same", content=body, headers=nh.headers())
        before = (await installation_rows(engine, nh.hub.name))["reg:same"]
        again = await http.put("/registrations/same", content=body, headers=nh.headers())
        after = (await installation_rows(engine, nh.hub.name))["reg:same"]
    assert again.status_code == 200
    assert again.headers["ETag"] == 'W/"1"'
    assert after["Version"] == before["Version"] == 1
    assert after["LastUpdate"] == before["LastUpdate"]


async def test_if_match_guards_updates_and_deletes(nh: NhCaller, engine: Engine) -> None:
    async with nh.client() as http:
        created = await http.put("/registrations/g", content=fcm("t1"), headers=nh.headers())
        updated = await http.put(
            "/registrations/g", content=fcm("t2", "x"), headers=nh.headers(**{"If-Match": '"1"'})
        )
        stale = await http.put(
            "/registrations/g", content=fcm("t3"), headers=nh.headers(**{"If-Match": '"1"'})
        )
        dotnet_style = await http.put(
            "/registrations/g", content=fcm("t4"), headers=nh.headers(**{"If-Match": 'W/"2"'})
        )
        missing = await http.put(
            "/registrations/nope", content=fcm("t5"), headers=nh.headers(**{"If-Match": "*"})
        )
        stale_delete = await http.delete(
            "/registrations/g", headers=nh.headers(**{"If-Match": '"1"'})
        )
        deleted = await http.delete("/registrations/g", headers=nh.headers(**{"If-Match": "3"}))
        again = await http.delete("/registrations/g", headers=nh.headers(**{"If-Match": "*"}))
        gone = await http.get("/registrations/g", headers=nh.headers())
    assert (created.status_code, updated.status_code) == (200, 200)
    assert updated.headers["ETag"] == 'W/"2"'
    assert (stale.status_code, dotnet_style.status_code, missing.status_code) == (412, 200, 404)
    assert nh_error(stale.content)[0] == "412"
    assert (stale_delete.status_code, deleted.status_code, again.status_code) == (412, 200, 404)
    assert gone.status_code == 404
    assert nh_error(gone.content)[0] == "404"
    assert await installation_rows(engine, nh.hub.name) == {}
    assert await index_rows(engine, nh.hub.name) == set()


async def test_post_creates_under_a_new_id(nh: NhCaller) -> None:
    template = '<BodyTemplate><![CDATA[{"aps":{"alert":"$(msg)"}}]]></BodyTemplate>'
    async with nh.client() as http:
        created = await http.post(
            "/registrations", content=apple(TOKEN, "t", template), headers=nh.headers()
        )
        kind, members = description(created.content)
        read = await http.get(f"/registrations/{members['RegistrationId']}", headers=nh.headers())
    assert created.status_code == 200
    assert kind == "AppleTemplateRegistrationDescription"
    assert members["RegistrationId"].count("-") == 2  # NH's shape
    assert members["BodyTemplate"] == '{"aps":{"alert":"$(msg)"}}'
    assert read.status_code == 200


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<entry><content>", "not well-formed XML"),
        (b'<!DOCTYPE e [<!ENTITY x "y">]><entry/>', "document type declaration"),
        (entry(f"<MpnsRegistrationDescription {NS}><ChannelUri>https://x/</ChannelUri>"
               "</MpnsRegistrationDescription>"), "MPNS (Windows Phone) was retired"),
        (entry(f"<PalmRegistrationDescription {NS}/>"), "not a registration kind NH knows"),
        (apple(""), "DeviceToken is required"),
        (apple("zz-not-hex"), "not an APNs device token"),
        (apple(TOKEN, "bad tag!"), "An invalid tag(s)"),
        (b"x" * (64 * 1024 + 1), "larger than 64 KB"),
    ],
)  # fmt: skip
async def test_bad_bodies_are_a_400_in_nh_format_and_store_nothing(
    nh: NhCaller, engine: Engine, body: bytes, says: str
) -> None:
    async with nh.client() as http:
        answer = await http.put("/registrations/bad", content=body, headers=nh.headers())
    assert answer.status_code in (400, 413)
    assert answer.headers["Content-Type"].startswith("application/xml")
    code, detail = nh_error(answer.content)
    assert code == str(answer.status_code)
    assert says in detail
    assert await installation_rows(engine, nh.hub.name) == {}


async def test_ids_that_are_not_path_segments_are_a_400(nh: NhCaller) -> None:
    async with nh.client() as http:
        answer = await http.put("/registrations/a%3Ab", content=fcm("t"), headers=nh.headers())
    assert answer.status_code == 400
    assert "registration id" in nh_error(answer.content)[1]


async def test_an_installation_implies_read_only_registrations(nh: NhCaller) -> None:
    body = installation(
        "inst-1",
        tags=["a"],
        userId="u1",
        templates={"greet": {"body": '{"aps":{"alert":"$(m)"}}', "tags": ["t"]}},
    )
    native_id = implied_registration_id("inst-1")
    template_id = implied_registration_id("inst-1", "greet")
    async with nh.client() as http:
        await http.put("/installations/inst-1", json=body, headers=nh.headers())
        native = await http.get(f"/registrations/{native_id}", headers=nh.headers())
        template = await http.get(f"/registrations/{template_id}", headers=nh.headers())
        put = await http.put(f"/registrations/{native_id}", content=fcm("x"), headers=nh.headers())
        delete = await http.delete(f"/registrations/{template_id}", headers=nh.headers())
        unknown = await http.get(
            f"/registrations/{implied_registration_id('inst-1', 'nope')}", headers=nh.headers()
        )
    assert (native.status_code, template.status_code) == (200, 200)
    kind, members = description(native.content)
    assert kind == "AppleRegistrationDescription"
    assert members["Tags"] == "$InstallationId:{inst-1},$UserId:{u1},a"
    assert members["RegistrationId"] == native_id
    kind, members = description(template.content)
    assert kind == "AppleTemplateRegistrationDescription"
    assert members["Tags"] == "$InstallationId:{inst-1},$UserId:{u1},a,greet,t"
    assert members["TemplateName"] == "greet"
    assert (put.status_code, delete.status_code, unknown.status_code) == (409, 409, 404)
    assert "installations API" in nh_error(put.content)[1]


@pytest.fixture
async def guarded(nh: NhCaller, azurite: str) -> NhCaller:
    return await guard(nh, azurite)


async def test_a_listen_key_manages_its_registrations_under_the_tag_policy(
    guarded: NhCaller,
) -> None:
    device = guarded.as_listen()
    async with guarded.client() as http:
        ids = await http.post("/registrationids", headers=device.headers())
        own = await http.put(
            "/registrations/d1", content=fcm("t", "news"), headers=device.headers()
        )
        reserved = await http.put(
            "/registrations/d2", content=fcm("t", "user:bob"), headers=device.headers()
        )
        anonymous_user = await http.put(
            "/registrations/d3", content=fcm("t", "$UserId:{bob}"), headers=device.headers()
        )
        bob = await http.put(
            "/registrations/d3",
            content=fcm("t", "$UserId:{bob}"),
            headers=device.headers(**{USER_TOKEN_HEADER: user_token("bob")}),
        )
        backend = await http.put(
            "/registrations/d4", content=fcm("t", "user:bob"), headers=guarded.headers()
        )
        read_backend = await http.get("/registrations/d4", headers=device.headers())
        take_over = await http.put(
            "/registrations/d4", content=fcm("mine"), headers=device.headers()
        )
        delete_backend = await http.delete("/registrations/d4", headers=device.headers())
        delete_own = await http.delete("/registrations/d1", headers=device.headers())
        list_all = await http.get("/registrations", headers=device.headers())
    assert (ids.status_code, own.status_code, delete_own.status_code) == (201, 200, 200)
    assert (reserved.status_code, anonymous_user.status_code, bob.status_code) == (403, 401, 200)
    assert backend.status_code == 200
    assert (read_backend.status_code, take_over.status_code) == (403, 403)
    assert delete_backend.status_code == 403
    assert list_all.status_code == 403  # listing everything needs Manage
