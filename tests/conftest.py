"""Fixtures every suite may use: a real Azurite, started per module on free ports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from emulator.azurite import Azurite
from support.processes import REPO


@pytest.fixture(scope="module")
async def azurite() -> AsyncIterator[str]:
    """An in-memory Azurite of this module's own; yields its connection string."""
    server = await Azurite.start(REPO)
    try:
        yield server.connection_string
    finally:
        server.stop()
