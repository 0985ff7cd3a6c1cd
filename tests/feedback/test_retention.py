"""History past its retention is deleted, a bounded amount per run, and newer history stays.

These call the retention step in-process against Azurite. Each test passes its own ``now``:
the step makes one pass a day (a day per cutoff), so distinct days keep the tests apart."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.config import Settings
from shared.engine import Engine
from shared.feedback.registry import Tally
from shared.feedback.retention import HISTORY_DELETED, delete_old_history, history_cutoff
from shared.hubs.model import Hub
from shared.store.feedback import FeedbackEntry
from support.stack import app_env, create_hub

from .conftest import history_entry

BOUND = 40
# Far apart, so that no two tests share a day's pass (nor their rows a day).
BASE = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def small_engine(azurite: str) -> AsyncIterator[Engine]:
    settings = Settings.from_env(app_env(azurite))
    built = Engine.build(dataclasses.replace(settings, feedback_reports_per_run=BOUND))
    yield built
    await built.aclose()


@given(
    now=st.datetimes(
        min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=1, max_value=3650),
)
def test_the_cutoff_is_the_midnight_that_keeps_every_newer_row(now: datetime, days: int) -> None:
    cutoff = history_cutoff(now, days)
    assert cutoff.tzinfo is UTC
    assert (cutoff.hour, cutoff.minute, cutoff.second, cutoff.microsecond) == (0, 0, 0, 0)
    assert now - timedelta(days=days + 1) < cutoff <= now - timedelta(days=days)


async def _hub(azurite: str, prefix: str) -> Hub:
    return await create_hub(azurite, f"{prefix}{uuid.uuid4().hex[:8]}")


async def _handles(engine: Engine, hub: str) -> set[str]:
    """The handles in the hub's history, as GET /{hub}/feedback pages through them."""
    handles: set[str] = set()
    token = None
    while True:
        entries, token = await engine.feedback.list_page(
            hub, platform=None, since=None, top=1000, continuation=token
        )
        handles |= {entry.handle for entry in entries}
        if token is None:
            return handles


async def _write(engine: Engine, hub: str, entries: list[FeedbackEntry]) -> None:
    await asyncio.gather(*(engine.feedback.add(hub, entry) for entry in entries))


async def _run(engine: Engine, now: datetime) -> Tally:
    tally = Tally()
    await delete_old_history(engine, tally, now)
    return tally


async def test_older_rows_go_and_newer_ones_stay_in_every_hub_and_platform(
    small_engine: Engine, azurite: str
) -> None:
    now = BASE
    ages = {"old40d": 40, "old31d": 31, "new29d": 29, "new1h": 1 / 24}
    hubs = [await _hub(azurite, "keep"), await _hub(azurite, "keep")]
    for hub in hubs:
        await _write(
            small_engine,
            hub.name,
            [
                history_entry(platform, f"{platform}-{name}", now - timedelta(days=age))
                for platform in ("apns", "fcmv1", "wns", "browser")
                for name, age in ages.items()
            ],
        )

    tally = await _run(small_engine, now)

    for hub in hubs:
        kept = await _handles(small_engine, hub.name)
        assert kept == {
            f"{p}-new{n}" for p in ("apns", "fcmv1", "wns", "browser") for n in ("29d", "1h")
        }
        assert tally.by_hub()[hub.name] == {HISTORY_DELETED: 8}


async def test_a_backlog_bigger_than_a_run_goes_over_several_runs(
    small_engine: Engine, azurite: str
) -> None:
    now = BASE + timedelta(days=100)
    old = now - timedelta(days=45)
    hubs = [await _hub(azurite, "backlog"), await _hub(azurite, "backlog")]
    # 150 rows in one partition take two transactions; 210 in all take six runs of 40.
    await _write(
        small_engine,
        hubs[0].name,
        [history_entry("apns", f"a{i}", old + timedelta(seconds=i)) for i in range(150)],
    )
    await _write(
        small_engine, hubs[1].name, [history_entry("adm", f"b{i}", old) for i in range(30)]
    )
    await _write(
        small_engine, hubs[1].name, [history_entry("gcm", f"c{i}", old) for i in range(30)]
    )
    await _write(small_engine, hubs[1].name, [history_entry("gcm", "fresh", now)])

    runs: list[int] = []
    mine = 0
    while not runs or runs[-1]:
        tally = await _run(small_engine, now)
        runs.append(tally.total(HISTORY_DELETED))
        mine += sum(tally.by_hub().get(hub.name, {}).get(HISTORY_DELETED, 0) for hub in hubs)
        assert len(runs) < 20

    assert all(deleted <= BOUND for deleted in runs)
    assert mine == 210
    assert len(runs) >= 6
    assert await _handles(small_engine, hubs[0].name) == set()
    assert await _handles(small_engine, hubs[1].name) == {"fresh"}


async def test_two_runs_at_once_delete_the_same_rows_without_error(
    small_engine: Engine, azurite: str
) -> None:
    now = BASE + timedelta(days=200)
    hub = await _hub(azurite, "twice")
    old = now - timedelta(days=60)
    await _write(small_engine, hub.name, [history_entry("wns", f"w{i}", old) for i in range(30)])
    await _write(small_engine, hub.name, [history_entry("wns", "fresh", now)])

    await asyncio.gather(_run(small_engine, now), _run(small_engine, now))

    assert await _handles(small_engine, hub.name) == {"fresh"}


async def test_one_pass_a_day_leaves_rows_written_after_it_for_the_next_day(
    small_engine: Engine, azurite: str
) -> None:
    now = BASE + timedelta(days=300)
    hub = await _hub(azurite, "daily")
    old = now - timedelta(days=50)
    while (await _run(small_engine, now)).by_hub():  # the day's pass, before the late row
        pass
    await _write(small_engine, hub.name, [history_entry("apns", "late", old)])

    later_that_day = await _run(small_engine, now)
    next_day = await _run(small_engine, now + timedelta(days=1))

    assert later_that_day.by_hub() == {}
    assert next_day.by_hub()[hub.name] == {HISTORY_DELETED: 1}
    assert await _handles(small_engine, hub.name) == set()
