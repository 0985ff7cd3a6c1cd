"""Fixtures every suite may use: a real Azurite, started per module on free ports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from emulator.azurite import Azurite
from emulator.pns import RunningSimulators, running_simulators
from shared.engine import Engine
from support.processes import REPO, HostProcess, running_host
from support.stack import app_env, engine_for


@pytest.fixture(scope="module")
async def azurite() -> AsyncIterator[str]:
    """An in-memory Azurite of this module's own; yields its connection string."""
    server = await Azurite.start(REPO)
    try:
        yield server.connection_string
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def sims() -> AsyncIterator[RunningSimulators]:
    """The five PNS simulators on free ports, one set per test module."""
    async with running_simulators() as running:
        yield running


@pytest.fixture
async def engine(azurite: str) -> AsyncIterator[Engine]:
    """Herald's own storage layer on this module's Azurite, to set up and look at storage."""
    built = engine_for(azurite)
    yield built
    await built.aclose()


@pytest.fixture(scope="module")
def app(azurite: str) -> Iterator[HostProcess]:
    """The Herald app in an emulator process against this module's Azurite."""
    with running_host(REPO, app_env(azurite)) as host:
        yield host
