"""The one lazily built engine per process: settings and the clients every request reuses.

Nothing connects at import time. The engine is bound to the event loop that first asked for
it, since the Storage clients' sessions are; a new loop (as in tests) gets a new engine.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

from shared.config import Settings, get_settings
from shared.store.clients import StorageClients


@dataclass
class Engine:
    settings: Settings
    storage: StorageClients

    async def aclose(self) -> None:
        await self.storage.aclose()


_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Engine] = weakref.WeakKeyDictionary()


def get_engine() -> Engine:
    loop = asyncio.get_running_loop()
    engine = _engines.get(loop)
    if engine is None:
        settings = get_settings()
        engine = Engine(settings=settings, storage=StorageClients.build(settings.storage))
        _engines[loop] = engine
    return engine
