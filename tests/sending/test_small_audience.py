"""A send to a user, a device or a small tag is delivered by its plan step, as one step: storage
then holds one step row, not one per shard; a larger audience is still walked shard by shard."""

from __future__ import annotations

import json

import pytest
from sending.conftest import NS, Stack, outcome_counts, seed_tagged

from shared.fanout.audience import SMALL_AUDIENCE
from support.stack import engine_for


async def _step_keys(azurite: str, stack: Stack, notification: str) -> list[str]:
    engine = engine_for(azurite)
    try:
        rows = await engine.notifications.read_all(stack.nh.hub.name, notification)
    finally:
        await engine.aclose()
    return sorted(step.key for step in rows.steps)


async def test_a_send_to_a_user_is_one_step(stack: Stack, azurite: str) -> None:
    async with stack.nh.client() as http:
        phone, tablet, other = [await stack.device("apns") for _ in range(3)]
        await stack.register(http, phone, userId="alice")
        await stack.register(http, tablet, userId="alice")
        await stack.register(http, other, userId="bob")
        notification = await stack.send(http, '{"aps":{"alert":"hi"}}', "apple", "$UserId:{alice}")
        details = await stack.finished(http, notification)
    assert await stack.counts("apns") == {phone.sim_key: 1, tablet.sim_key: 1}
    assert outcome_counts(details) == {"Apns": {"Success": 2}}
    assert await _step_keys(azurite, stack, notification) == ["a~0000"]


@pytest.mark.parametrize(
    ("members", "walked"), [(50, False), (SMALL_AUDIENCE, False), (SMALL_AUDIENCE + 1, True)]
)
async def test_a_tag_is_delivered_at_once_up_to_the_small_audience(
    stack: Stack, azurite: str, members: int, walked: bool
) -> None:
    handles = await seed_tagged(azurite, stack, members, "team")
    async with stack.nh.client() as http:
        body = json.dumps({"aps": {"alert": "standup"}})
        notification = await stack.send(http, body, "apple", "team && !muted")
        details = await stack.finished(http, notification)
    assert await stack.counts("apns") == dict.fromkeys(handles, 1)
    assert details.findtext(f"{NS}State") == "Completed"
    keys = await _step_keys(azurite, stack, notification)
    if walked:
        assert len({key.split("~")[1] for key in keys}) == stack.nh.hub.shard_count
    else:
        assert keys == ["a~0000"]
