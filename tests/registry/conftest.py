from __future__ import annotations

import uuid

import pytest

from support.processes import HostProcess
from support.stack import NhCaller, create_hub


@pytest.fixture
async def nh(app: HostProcess, azurite: str) -> NhCaller:
    """A fresh hub per test, and a Full-policy caller for it."""
    hub = await create_hub(azurite, f"hub{uuid.uuid4().hex[:12]}")
    return NhCaller(app.url, hub)
