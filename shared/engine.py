"""The one lazily built engine per process: settings and the clients every request reuses.

Nothing connects at import time. The engine is bound to the event loop that first asked for
it, since the Storage clients' sessions are; a new loop (as in tests) gets a new engine.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import weakref
from dataclasses import dataclass

from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient

from shared.auth.issuers import BearerVerifier
from shared.config import Settings, get_settings
from shared.delivery import SenderPool
from shared.hubs.secrets import SecretBox
from shared.log_format import install as install_log_format
from shared.metrics import otel
from shared.metrics.recorder import MetricsRecorder
from shared.pns.options import PnsOptions
from shared.store.clients import StorageClients
from shared.store.events import EventStore
from shared.store.feedback import FeedbackStore
from shared.store.hubs import HubStore
from shared.store.index import IndexReader
from shared.store.installations import InstallationStore
from shared.store.jobs import JobStore
from shared.store.notifications import NotificationStore, ScheduleStore
from shared.store.tables import Tables


@dataclass
class Engine:
    settings: Settings
    storage: StorageClients
    tables: Tables
    hubs: HubStore
    installations: InstallationStore
    notifications: NotificationStore
    schedules: ScheduleStore
    events: EventStore
    feedback: FeedbackStore
    jobs: JobStore
    index: IndexReader
    senders: SenderPool
    page_slots: asyncio.Semaphore  # pages being read or delivered (settings.pages_in_flight)
    bearer: BearerVerifier | None  # None: the deployment trusts no token issuer
    metrics: MetricsRecorder

    @classmethod
    def build(cls, settings: Settings, storage: StorageClients | None = None) -> Engine:
        storage = storage or StorageClients.build(settings.storage)
        tables = Tables(storage.tables)
        box = None
        if settings.secret_key is not None:
            box = SecretBox(settings.secret_key, settings.previous_secret_key)
        return cls(
            settings=settings,
            storage=storage,
            tables=tables,
            hubs=HubStore(tables, box),
            installations=InstallationStore(tables),
            notifications=NotificationStore(tables),
            schedules=ScheduleStore(tables),
            events=EventStore(tables),
            feedback=FeedbackStore(tables),
            jobs=JobStore(tables, box),
            index=IndexReader(tables),
            senders=SenderPool(PnsOptions.from_settings(settings)),
            page_slots=asyncio.Semaphore(settings.pages_in_flight),
            bearer=None if settings.bearer is None else BearerVerifier.build(settings.bearer),
            metrics=MetricsRecorder(
                tables,
                enabled=settings.metrics_enabled,
                flush_seconds=settings.metrics_flush_seconds,
                otel=otel.configure(settings),
            ),
        )

    def queue(self, name: str) -> QueueClient:
        """A queue the Functions host reads: messages base64-encoded, as its trigger expects.
        (``get_queue_client`` does not pass on the service client's encode policy.)"""
        return self.storage.queues.get_queue_client(
            name,
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )

    async def aclose(self) -> None:
        await self.metrics.aclose()
        if self.bearer is not None:
            await self.bearer.aclose()
        await self.senders.aclose()
        await self.storage.aclose()


_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Engine] = weakref.WeakKeyDictionary()


def get_engine() -> Engine:
    loop = asyncio.get_running_loop()
    engine = _engines.get(loop)
    if engine is None:
        settings = get_settings()
        install_log_format(settings.log_format)
        engine = _engines[loop] = Engine.build(settings)
        settle_gc()
    return engine


def current_engine() -> Engine | None:
    """The running loop's engine if one was built; never builds one."""
    return _engines.get(asyncio.get_running_loop())


@functools.cache
def settle_gc() -> None:
    """Once per process, when the first engine exists: everything imported by now lives as long
    as the process, so the collector stops scanning it (``gc.freeze``), and it runs after
    10,000 new objects instead of 700. A send allocates millions of short-lived objects; with
    the defaults the collector took a sixth of the host's CPU (docs/performance.md)."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
