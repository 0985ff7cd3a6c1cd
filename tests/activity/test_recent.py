"""``GET /{hub}/messages`` (Manage): the hub's notifications, newest first, page by page, each
with its state and counts."""

from __future__ import annotations

from sending.conftest import Stack

from .conftest import finished_json


async def test_recent_notifications_come_newest_first_a_page_at_a_time(stack: Stack) -> None:
    async with stack.nh.client() as http:
        phone = await stack.device("apns")
        await stack.register(http, phone, tags=["news"])
        sent = []
        for n in range(3):
            sent.append(await stack.send(http, f'{{"aps":{{"alert":"{n}"}}}}', "apple", "news"))
            await finished_json(stack, http, sent[-1])
        pages = []
        token = None
        while True:
            params = {"top": "2"} | ({"continuationToken": token} if token else {})
            answer = await http.get("/messages", params=params, headers=stack.nh.headers())
            assert answer.status_code == 200, answer.text
            pages.append(answer.json()["notifications"])
            token = answer.json()["continuationToken"]
            if token is None:
                break
    assert [[n["notificationId"] for n in page] for page in pages] == [
        [sent[2], sent[1]],
        [sent[0]],
    ]
    newest = pages[0][0]
    assert newest["state"] == "Completed"
    assert newest["format"] == "apple"
    assert newest["tags"] == "news"
    assert newest["apnsOutcomeCounts"] == [{"state": "Success", "count": 1}]
    assert newest["failureCount"] == 0
    assert "notificationBody" not in newest


async def test_the_list_needs_manage_and_a_sane_page(stack: Stack) -> None:
    async with stack.nh.client() as http:
        as_sender = await http.get("/messages", headers=stack.nh.as_listen().headers())
        too_many = await http.get("/messages", params={"top": "101"}, headers=stack.nh.headers())
        bad_token = await http.get(
            "/messages", params={"continuationToken": "a#b"}, headers=stack.nh.headers()
        )
        empty = await http.get("/messages", headers=stack.nh.headers())
    assert as_sender.status_code == 403
    assert too_many.status_code == 400
    assert too_many.text.startswith("<Error>")
    assert bad_token.status_code == 404
    assert empty.json() == {"notifications": [], "continuationToken": None}
