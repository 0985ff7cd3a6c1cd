"""Paced loops: every item in order, with turns for the event loop's other tasks."""

from __future__ import annotations

import asyncio

from shared.sending.pacing import paced


async def test_a_paced_loop_lets_other_tasks_run_between_its_items() -> None:
    seen: list[str] = []

    async def other() -> None:
        for n in range(3):
            seen.append(f"other {n}")
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    async for item in paced(range(3), seconds=0):
        seen.append(f"item {item}")
    await task

    assert [s for s in seen if s.startswith("item")] == ["item 0", "item 1", "item 2"]
    assert seen.index("other 1") < seen.index("item 2")


async def test_a_paced_loop_within_its_time_takes_no_turn() -> None:
    seen: list[str] = []

    async def other() -> None:
        seen.append("other")

    task = asyncio.create_task(other())
    async for item in paced(range(3), seconds=3600):
        seen.append(f"item {item}")
    await task

    assert seen == ["item 0", "item 1", "item 2", "other"]
