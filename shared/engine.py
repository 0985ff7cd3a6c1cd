"""The one lazily built engine per process: settings and the clients every request reuses.

Nothing connects at import time. The engine is bound to the event loop that first asked for
it, since the Storage clients' sessions are; a new loop (as in tests) gets a new engine.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

from shared.config import Settings, get_settings
from shared.hubs.secrets import SecretBox
from shared.store.clients import StorageClients
from shared.store.hubs import HubStore
from shared.store.installations import InstallationStore
from shared.store.tables import Tables


@dataclass
class Engine:
    settings: Settings
    storage: StorageClients
    tables: Tables
    hubs: HubStore
    installations: InstallationStore

    @classmethod
    def build(cls, settings: Settings) -> Engine:
        storage = StorageClients.build(settings.storage)
        tables = Tables(storage.tables)
        box = None
        if settings.secret_key is not None:
            box = SecretBox(settings.secret_key, settings.previous_secret_key)
        return cls(settings, storage, tables, HubStore(tables, box), InstallationStore(tables))

    async def aclose(self) -> None:
        await self.storage.aclose()


_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Engine] = weakref.WeakKeyDictionary()


def get_engine() -> Engine:
    loop = asyncio.get_running_loop()
    engine = _engines.get(loop)
    if engine is None:
        engine = _engines[loop] = Engine.build(get_settings())
    return engine
