"""Long loops on the event loop give other tasks a turn every few milliseconds.

A host serves HTTP requests on the same event loop that renders a send's pages. Rendering a
page is synchronous work (up to a thousand targets, each up to a payload limit's worth), so a
loop over targets goes through :func:`paced`, which yields to the event loop whenever
:data:`PACE_SECONDS` of wall time have passed since its last turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from typing import TypeVar

PACE_SECONDS = 0.005

_Item = TypeVar("_Item")


async def paced(items: Iterable[_Item], *, seconds: float = PACE_SECONDS) -> AsyncIterator[_Item]:
    """The items, with a turn for the event loop's other tasks every ``seconds`` of work."""
    deadline = time.perf_counter() + seconds
    for item in items:
        yield item
        if time.perf_counter() >= deadline:
            await asyncio.sleep(0)
            deadline = time.perf_counter() + seconds
