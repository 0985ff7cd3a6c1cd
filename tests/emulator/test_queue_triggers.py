"""Queue triggers through the emulator against real Azurite."""

from __future__ import annotations

import json

import httpx

from support.processes import HostProcess
from support.queues import depth, drain_json, queue_client, send_json


async def test_a_message_that_fails_twice_succeeds_on_its_third_dequeue(
    host: HostProcess, azurite: str
) -> None:
    await send_json(azurite, "flaky", [{"id": "f1"}])
    done = await drain_json(azurite, "done", 1)
    assert done == [{"id": "f1", "dequeue_count": 3}]
    assert host.log().count("failing on purpose") == 2


async def test_a_message_that_always_fails_goes_to_poison_and_others_keep_flowing(
    host: HostProcess, azurite: str
) -> None:
    await send_json(azurite, "doomed", [{"id": "bad", "fail": True}])
    await send_json(azurite, "doomed", [{"id": f"ok{i}"} for i in range(5)])
    done = await drain_json(azurite, "done", 5)
    assert sorted(d["id"] for d in done) == [f"ok{i}" for i in range(5)]
    poisoned = await drain_json(azurite, "doomed-poison", 1)
    assert poisoned == [{"id": "bad", "fail": True}]
    assert host.log().count("this message always fails") == 3  # maxDequeueCount in host.json
    assert await depth(azurite, "doomed") == 0


async def test_a_message_that_is_not_base64_goes_straight_to_poison(
    host: HostProcess, azurite: str
) -> None:
    async with queue_client(azurite, "doomed", base64=False) as queue:
        await queue.send_message("{not base64}")
    poisoned = await drain_json(azurite, "doomed-poison", 1, base64=False)
    assert poisoned == ["{not base64}"]
    assert "this message always fails" not in host.log().split("not valid base64")[-1]


async def test_output_binding_list_writes_messages_and_wakes_the_listener(
    host: HostProcess, azurite: str
) -> None:
    items = list(range(1, 41))  # more than one window of concurrent writes (OUTPUT_WINDOW)
    async with httpx.AsyncClient(base_url=host.url) as client:
        response = await client.post("/api/enqueue", json=items)
    assert response.status_code == 202
    done = await drain_json(azurite, "done", len(items))
    assert sorted(d["n"] for d in done) == items
    assert {d["dequeue_count"] for d in done} == {1}
    assert await depth(azurite, "work") == 0
    assert await depth(azurite, "done") == 0  # none written twice


async def test_admin_endpoint_runs_a_queue_function_on_its_input(
    host: HostProcess, azurite: str
) -> None:
    async with httpx.AsyncClient(base_url=host.url) as client:
        response = await client.post(
            "/admin/functions/counter",
            json={"input": json.dumps({"n": 99})},
            headers={"x-functions-key": host.master_key},
        )
    assert response.status_code == 202
    assert [d["n"] for d in await drain_json(azurite, "done", 1)] == [99]
