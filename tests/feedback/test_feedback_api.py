"""GET /{hub}/feedback: Manage only, paged with continuation tokens like the listing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sending.conftest import Stack

from shared.auth.sas import AccessRight, SasPolicy
from shared.engine import Engine
from shared.hubs.model import FULL_POLICY
from shared.store.feedback import DeadHandle
from support.processes import HostProcess
from support.stack import NhCaller, replace_hub

from .conftest import feedback_page, run_timer


def _reports(count: int) -> list[DeadHandle]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)  # within retention
    return [
        DeadHandle(
            platform="apns" if i % 2 else "fcmv1",
            handle=f"handle-{i:03d}",
            installation_id="",  # a direct send's report names no installation
            outcome="expired_handle",
            reason="Unregistered",
            notification_id=f"n{i}",
            reported_at=start + timedelta(seconds=i),
        )
        for i in range(count)
    ]


async def test_the_feedback_pages_through_everything_once(
    stack: Stack, app: HostProcess, engine: Engine
) -> None:
    await engine.feedback.record(stack.nh.hub.name, _reports(25))
    await run_timer(app)
    seen: list[str] = []
    tokens = 0
    params = {"top": "10"}
    async with stack.nh.client() as http:
        while True:
            response = await feedback_page(stack, http, **params)
            assert response.status_code == 200, response.text
            body = response.json()
            seen += [entry["handle"] for entry in body["feedback"]]
            token = body["continuationToken"]
            assert response.headers.get("x-ms-continuationtoken") == token
            if token is None:
                break
            tokens += 1
            params = {"top": "10", "continuationToken": token}
        only_apns = await feedback_page(stack, http, platform="apns", top="100")
    assert sorted(seen) == [f"handle-{i:03d}" for i in range(25)]
    assert tokens >= 2
    apns = only_apns.json()["feedback"]
    assert {e["handle"] for e in apns} == {f"handle-{i:03d}" for i in range(1, 25, 2)}
    assert all(e["action"] == "unmatched" and e["reason"] == "Unregistered" for e in apns)


async def test_the_feedback_needs_the_manage_right(
    stack: Stack, app: HostProcess, azurite: str
) -> None:
    full = stack.nh.hub.policies[FULL_POLICY]
    sender = SasPolicy("SendOnly", frozenset({AccessRight.SEND}), "a" * 44, "b" * 44)
    hub = await replace_hub(
        azurite,
        dataclasses.replace(stack.nh.hub, policies={**stack.nh.hub.policies, "SendOnly": sender}),
    )
    assert hub.policies[FULL_POLICY] == full
    async with stack.nh.client() as http:
        anonymous = await http.get("/feedback")
        listen = await http.get("/feedback", headers=stack.nh.as_listen().headers())
        send_only = NhCaller(stack.nh.base_url, hub, "SendOnly")
        send = await http.get("/feedback", headers=send_only.headers())
        manage = await http.get("/feedback", headers=stack.nh.headers())
        bad_token = await feedback_page(stack, http, continuationToken="not-a-token!")
        bad_top = await feedback_page(stack, http, top="0")
    assert anonymous.status_code == 401
    assert listen.status_code == 403
    assert send.status_code == 403
    assert manage.status_code == 200
    assert manage.json() == {
        "feedback": [],
        "continuationToken": None,
        "hygiene": {"totals": {}, "lastRun": {}, "lastRunAt": None},
    }
    assert bad_token.status_code == 400
    assert bad_top.status_code == 400
