from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from shared.engine import Engine
from support.processes import HostProcess
from support.stack import NhCaller, create_hub, engine_for


@pytest.fixture
async def nh(app: HostProcess, azurite: str) -> NhCaller:
    """A fresh hub per test, and a Full-policy caller for it."""
    hub = await create_hub(azurite, f"hub{uuid.uuid4().hex[:12]}")
    return NhCaller(app.url, hub)


@pytest.fixture
async def engine(azurite: str) -> AsyncIterator[Engine]:
    """Herald's own storage layer, to look at what storage holds."""
    built = engine_for(azurite)
    yield built
    await built.aclose()
