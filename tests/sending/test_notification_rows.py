"""A notification's rows read back whole: its meta, and every step however many there are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.store.notifications import NotificationMeta, NotificationState, StepResult
from support.stack import engine_for

STEPS = 1_005  # more than one page of the partition (1,000 rows)


async def test_a_send_of_more_steps_than_a_page_reads_back_every_step(azurite: str) -> None:
    engine = engine_for(azurite)
    store = engine.notifications
    now = datetime.now(UTC).replace(microsecond=0)
    meta = NotificationMeta(
        hub="rows",
        notification_id=f"n{now:%H%M%S}{id(store):x}",
        request=b'{"v":1}' * 20_000,  # over one binary property: stored in parts
        state=NotificationState.ENQUEUED,
        enqueued_at=now,
        expires_at=now + timedelta(minutes=30),
        chains=16,
    )
    try:
        await store.create(meta)
        for n in range(STEPS):
            result = StepResult(counts={"apns": {"Success": n}}, last=n % 2 == 0)
            await store.finish_step("rows", meta.notification_id, f"s{n:05d}", f"m{n}", result)
        rows = await store.read_all("rows", meta.notification_id)
    finally:
        await engine.aclose()
    assert (rows.meta.request, rows.meta.enqueued_at, rows.meta.chains) == (
        meta.request,
        now,
        16,
    )
    assert [step.key for step in rows.steps] == [f"s{n:05d}" for n in range(STEPS)]
    assert sum(step.result.counts["apns"]["Success"] for step in rows.steps) == sum(range(STEPS))
    assert all(step.done for step in rows.steps)
    ended = [step.finished_at for step in rows.steps]  # storage's clock: near this one's
    assert all(t is not None and abs(t - now) < timedelta(minutes=5) for t in ended)
    assert [step.result.last for step in rows.steps[:2]] == [True, False]
