"""The host: load the app, start what it needs, and run every trigger until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from azure.functions.meta import Datum

from emulator.app import FunctionDef, HostConfig, discover, import_entry_point, load_local_settings
from emulator.azurite import Azurite
from emulator.dispatch import Dispatcher
from emulator.http_host import HostKeys, HttpHost
from emulator.invoke import FunctionInvoker, InvocationError
from emulator.queues import DEFAULT_LEASE_SECONDS, QueueListener
from emulator.storage import QueueClients
from emulator.timers import TimerScheduler

log = logging.getLogger("emulator.host")

REPO = Path(__file__).resolve().parent.parent


@dataclass
class HostOptions:
    app_dir: Path
    host: str = "127.0.0.1"
    port: int = 7071
    azurite_location: Path | None = None  # None: in memory
    keys: HostKeys = field(default_factory=lambda: HostKeys(master=secrets.token_urlsafe(32)))
    ready_file: Path | None = None
    https_port: int | None = None  # also serve HTTPS here (the NH SDKs speak only https)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    queue_lease_seconds: int = DEFAULT_LEASE_SECONDS  # how long a running message stays hidden


class Host:
    def __init__(self, options: HostOptions) -> None:
        self.options = options
        self.azurite: Azurite | None = None
        self._stopping = asyncio.Event()
        self._queues = QueueClients()
        self._listeners: dict[str, list[QueueListener]] = {}

    def stop(self) -> None:
        self._stopping.set()

    def _notify(self, queue_name: str) -> None:
        for listener in self._listeners.get(queue_name, []):
            listener.notify()

    async def run(self) -> None:
        options = self.options
        app_dir = options.app_dir.resolve()
        load_local_settings(app_dir)
        if not os.environ.get("AzureWebJobsStorage", "").strip():
            self.azurite = await Azurite.start(REPO, options.azurite_location)
            os.environ["AzureWebJobsStorage"] = self.azurite.connection_string
        try:
            await self._serve(app_dir)
        finally:
            await self._queues.close()
            if self.azurite is not None:
                self.azurite.stop()

    async def _serve(self, app_dir: Path) -> None:
        config = HostConfig.load(app_dir)
        functions = discover(app_dir, config.route_prefix)
        invokers = {f.name: FunctionInvoker(f, import_entry_point(app_dir, f)) for f in functions}
        dispatcher = Dispatcher(invokers, self._queues, config, self._notify)
        listeners = [
            QueueListener(
                f, dispatcher, self._queues, config.queues, self.options.queue_lease_seconds
            )
            for f in functions
            if f.trigger.type == "queueTrigger"
        ]
        for listener in listeners:
            self._listeners.setdefault(listener.queue_name, []).append(listener)
        timers = [
            TimerScheduler(f, dispatcher) for f in functions if f.trigger.type == "timerTrigger"
        ]
        admin: dict[str, Callable[[str], Awaitable[None]]] = {
            t.function.name: _ignoring_input(t.fire_now) for t in timers
        }
        admin.update(
            {listener.function.name: _queue_admin(dispatcher, listener) for listener in listeners}
        )
        http = HttpHost(functions, dispatcher, self.options.keys, admin)
        runner = web.ServerRunner(http.server())
        await runner.setup()
        await web.TCPSite(runner, self.options.host, self.options.port).start()
        if self.options.https_port is not None:
            await web.TCPSite(
                runner, self.options.host, self.options.https_port, ssl_context=self._tls()
            ).start()
        self._announce([address[1] for address in runner.addresses], functions)
        runners: list[QueueListener | TimerScheduler] = [*listeners, *timers]
        tasks = [asyncio.create_task(runner.run(self._stopping)) for runner in runners]
        try:
            await self._stopping.wait()
        finally:
            await asyncio.gather(*tasks, return_exceptions=True)
            await runner.cleanup()
            for invoker in invokers.values():
                invoker.close()

    def _tls(self) -> ssl.SSLContext:
        if self.options.tls_cert is None or self.options.tls_key is None:
            raise ValueError("HTTPS needs a certificate and its key")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.options.tls_cert, self.options.tls_key)
        return context

    def _announce(self, ports: list[int], functions: list[FunctionDef]) -> None:
        url = f"http://{self.options.host}:{ports[0]}"
        https_url = f"https://{self.options.host}:{ports[1]}" if len(ports) > 1 else None
        log.info("Host started on %s%s", url, f" and {https_url}" if https_url else "")
        for function in functions:
            if function.route is None:
                log.info("  %s: %s", function.name, function.trigger.type)
                continue
            methods = ",".join(sorted(function.methods or {"*"}))
            log.info("  %s: [%s] %s/%s", function.name, methods, url, function.route.text)
        if self.options.ready_file is not None:
            ready = {
                "url": url,
                "https_url": https_url,
                "pid": os.getpid(),
                "storage": os.environ["AzureWebJobsStorage"],
                "master_key": self.options.keys.master,
                "functions": [f.name for f in functions],
            }
            temporary = self.options.ready_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(ready))
            temporary.replace(self.options.ready_file)


def _ignoring_input(fire: Callable[[], Awaitable[None]]) -> Callable[[str], Awaitable[None]]:
    async def run(_: str) -> None:
        await fire()

    return run


def _queue_admin(
    dispatcher: Dispatcher, listener: QueueListener
) -> Callable[[str], Awaitable[None]]:
    """The admin endpoint runs a queue function once on the given input, off the queue."""

    async def run(text: str) -> None:
        metadata = {
            "Id": Datum("admin-invocation", "string"),
            "DequeueCount": Datum("1", "json"),
            "InsertionTime": Datum(datetime.now(UTC).isoformat(), "string"),
        }
        with contextlib.suppress(InvocationError):  # logged by the dispatcher
            await dispatcher.run(listener.function.name, Datum(text, "string"), metadata, "admin")

    return run
