"""One set of simulators for the whole suite, reset before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from emulator.pns import RunningSimulators, running_simulators


@pytest.fixture(scope="session")
async def sims() -> AsyncIterator[RunningSimulators]:
    async with running_simulators() as running:
        yield running


@pytest.fixture(autouse=True)
async def _fresh(sims: RunningSimulators) -> None:
    await sims.control.reset()
