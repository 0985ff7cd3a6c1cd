"""Registration feeds through the host: paging, tags, handle filters and who sees what."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from shared.hubs.model import TagPolicy
from shared.model.registration import implied_registration_id
from support.stack import NhCaller, installation, replace_hub

from .wire import apple, fcm, feed

TEMPLATES = {
    "news": {"body": '{"aps":{"alert":"$(m)"}}', "tags": ["topic:news"]},
    "sport": {"body": '{"aps":{"alert":"$(m)"}}'},
}


async def _seed(nh: NhCaller) -> dict[str, str]:
    """Two registrations and an installation implying three; answers their ids by name."""
    body = installation("inst", tags=["all"], userId="u1", templates=TEMPLATES)
    async with nh.client() as http:
        await http.put("/installations/inst", json=body, headers=nh.headers())
        await http.put("/registrations/reg-a", content=fcm("tok-a", "all"), headers=nh.headers())
        await http.put(
            "/registrations/reg-b",
            content=apple(body["pushChannel"], "other"),
            headers=nh.headers(),
        )
    return {
        "native": implied_registration_id("inst"),
        "news": implied_registration_id("inst", "news"),
        "sport": implied_registration_id("inst", "sport"),
        "a": "reg-a",
        "b": "reg-b",
    }


async def _all_pages(nh: NhCaller, path: str, **params: str) -> list[list[str]]:
    pages: list[list[str]] = []
    token: str | None = None
    async with nh.client() as http:
        while True:
            query = dict(params) | ({"ContinuationToken": token} if token else {})
            answer = await http.get(path, params=query, headers=nh.headers())
            assert answer.status_code == 200, answer.text
            assert answer.headers["Content-Type"].startswith("application/atom+xml;type=feed")
            pages.append([members["RegistrationId"] for _, members in feed(answer.content)])
            token = answer.headers.get("X-MS-ContinuationToken")
            if token is None:
                return pages


async def test_every_registration_once_in_pages_of_top(nh: NhCaller) -> None:
    ids = await _seed(nh)
    for top in ("1", "2", "100"):
        pages = await _all_pages(nh, "/registrations", **{"$top": top})
        assert all(len(page) <= int(top) for page in pages)
        listed = [i for page in pages for i in page]
        assert sorted(listed) == sorted(ids.values()), top


async def test_a_tag_lists_the_registrations_it_selects(nh: NhCaller) -> None:
    ids = await _seed(nh)

    async def tagged(tag: str) -> list[str]:
        pages = await _all_pages(nh, f"/tags/{quote(tag, safe='')}/registrations")
        return sorted(i for page in pages for i in page)

    # An installation's own tag is on its native registration and every template's.
    assert await tagged("all") == sorted([ids["native"], ids["news"], ids["sport"], ids["a"]])
    assert await tagged("topic:news") == [ids["news"]]
    assert await tagged("sport") == [ids["sport"]]  # a template's name is one of its tags
    assert await tagged("$UserId:{u1}") == sorted([ids["native"], ids["news"], ids["sport"]])
    assert await tagged("$InstallationId:{inst}") == sorted(
        [ids["native"], ids["news"], ids["sport"]]
    )
    assert await tagged("other") == [ids["b"]]
    assert await tagged("nobody") == []


async def test_a_handle_filter_finds_registrations_and_installations_of_that_handle(
    nh: NhCaller,
) -> None:
    ids = await _seed(nh)
    token = installation("inst")["pushChannel"]
    pages = await _all_pages(nh, "/registrations", **{"$filter": f"DeviceToken eq '{token}'"})
    found = sorted(i for page in pages for i in page)
    assert found == sorted([ids["native"], ids["news"], ids["sport"], ids["b"]])
    pages = await _all_pages(nh, "/registrations", **{"$filter": "ChannelUri eq 'tok-a'"})
    assert pages == [[ids["a"]]]


async def test_a_listen_key_lists_only_what_it_could_read(nh: NhCaller, azurite: str) -> None:
    hub = replace(nh.hub, tag_policy=TagPolicy(allow=("*",), reserved=("user:",)))
    await replace_hub(azurite, hub)
    backend = NhCaller(nh.base_url, hub)
    device = backend.as_listen()
    async with backend.client() as http:
        await http.put("/registrations/mine", content=fcm("shared", "a"), headers=device.headers())
        await http.put(
            "/registrations/owned", content=fcm("shared", "user:bob"), headers=backend.headers()
        )
        everything = await http.get("/registrations", headers=device.headers())
        by_tag = await http.get("/tags/a/registrations", headers=device.headers())
    assert (everything.status_code, by_tag.status_code) == (403, 403)
    pages = await _all_pages(
        device, "/registrations", **{"$filter": "FcmV1RegistrationId eq 'shared'"}
    )
    assert pages == [["mine"]]
    pages = await _all_pages(backend, "/registrations", **{"$filter": "ChannelUri eq 'shared'"})
    assert sorted(pages[0]) == ["mine", "owned"]


async def test_bad_queries_are_a_400(nh: NhCaller) -> None:
    async with nh.client() as http:
        for params in (
            {"$filter": "Tags eq 'a'"},
            {"$top": "0"},
            {"$top": "many"},
            {"ContinuationToken": "not-ours"},
        ):
            answer = await http.get("/registrations", params=params, headers=nh.headers())
            assert answer.status_code == 400, params
        bad_tag = await http.get("/tags/a%20b/registrations", headers=nh.headers())
    assert bad_tag.status_code == 400
