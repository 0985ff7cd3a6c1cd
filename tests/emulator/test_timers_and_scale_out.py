"""Timer triggers, and several host processes sharing one storage account."""

from __future__ import annotations

from pathlib import Path

from support.processes import running_host
from support.queues import drain_json, send_json

from .conftest import TEST_APP

EVERY_SECOND = "* * * * * *"


async def test_a_timer_fires_on_its_schedule_once_per_occurrence_across_hosts(
    tmp_path: Path, azurite: str
) -> None:
    env = {
        "AzureWebJobsStorage": azurite,
        "WORK_QUEUE": "work-timer",
        "TICK_SCHEDULE": EVERY_SECOND,
    }
    with running_host(TEST_APP, env), running_host(TEST_APP, env):
        ticks = await drain_json(azurite, "ticks", 4)
    assert len(ticks) == 4
    assert all(t["past_due"] is False for t in ticks)
    # Both hosts run the schedule, yet each occurrence is claimed by one of them only.
    assert len({t["next"] for t in ticks}) == len(ticks)


async def test_two_hosts_drain_one_queue_and_process_each_message_exactly_once(
    azurite: str,
) -> None:
    env = {
        "AzureWebJobsStorage": azurite,
        "WORK_QUEUE": "shared-work",
        "TICK_SCHEDULE": "0 0 0 1 1 *",
    }
    with running_host(TEST_APP, env) as first, running_host(TEST_APP, env) as second:
        await send_json(azurite, "shared-work", [{"n": n} for n in range(500)])
        done = await drain_json(azurite, "done", 500, timeout=180)
        extra = await drain_json(azurite, "done", 1, timeout=3)
    assert sorted(d["n"] for d in done) == list(range(500))
    assert extra == []
    assert {d["pid"] for d in done} == {first.pid, second.pid}
    assert {d["dequeue_count"] for d in done} == {1}
