"""A timer run is bounded, the next one resumes, and applying a report twice changes nothing.

These call the run's steps in-process against Azurite, with small bounds."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from shared.config import Settings
from shared.engine import Engine
from shared.feedback.registry import Tally
from shared.feedback.reports import apply_reports
from shared.model.installation import parse_installation
from shared.store.feedback import DeadHandle
from shared.store.installations import InstallationKey
from support.stack import app_env, create_hub


@pytest.fixture
async def small_engine(azurite: str) -> AsyncIterator[Engine]:
    settings = dataclasses.replace(Settings.from_env(app_env(azurite)), feedback_reports_per_run=16)
    built = Engine.build(settings)
    yield built
    await built.aclose()


def _dead(installation_id: str, handle: str, now: datetime) -> DeadHandle:
    return DeadHandle("apns", handle, installation_id, "expired_handle", "Unregistered", "n", now)


async def _history(engine: Engine, hub: str) -> list[str]:
    entries, token = await engine.feedback.list_page(
        hub, platform=None, since=None, top=1000, continuation=None
    )
    assert token is None
    return sorted(e.installation_id for e in entries)


async def test_a_run_is_bounded_and_the_next_runs_finish_the_rest(
    small_engine: Engine, azurite: str
) -> None:
    hub = (await create_hub(azurite, f"empty{uuid.uuid4().hex[:8]}")).name
    now = datetime.now(UTC)  # the hub has no installations: every report is unmatched
    await small_engine.feedback.record(hub, [_dead(f"d{i}", f"h{i}", now) for i in range(60)])
    runs: list[int] = []
    while not runs or runs[-1]:
        tally = Tally()
        await apply_reports(small_engine, tally, datetime.now(UTC))
        runs.append(tally.total("unmatched"))
        assert len(runs) < 60
    assert all(applied <= 16 for applied in runs)
    assert sum(runs) == 60
    assert await _history(small_engine, hub) == sorted(f"d{i}" for i in range(60))


async def test_applying_a_report_twice_expires_the_installation_once(
    small_engine: Engine, azurite: str
) -> None:
    hub = await create_hub(azurite, f"twice{uuid.uuid4().hex[:8]}")
    key = InstallationKey.of(hub.name, "dev", hub.shard_count)
    body = {"installationId": "dev", "platform": "apns", "pushChannel": "00aa", "tags": ["t"]}
    store = small_engine.installations
    await store.save(key, None, parse_installation(body, max_tags=60))
    report = _dead("dev", "00aa", datetime.now(UTC))
    for _ in range(2):
        await small_engine.feedback.record(hub.name, [report])
        await apply_reports(small_engine, Tally(), datetime.now(UTC))
    stored = await store.read(key, max_tags=60)
    assert stored is not None
    assert stored.installation is not None
    assert stored.installation.push_channel_expired
    assert stored.version == 2  # written once by the report, however often it is applied
    assert await _history(small_engine, hub.name) == ["dev"]
