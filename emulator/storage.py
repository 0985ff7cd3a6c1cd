"""The host's own use of Azure Storage: queue clients, message encoding, output bindings."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

from azure.core.exceptions import ResourceExistsError
from azure.functions.meta import Datum
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from emulator.app import AppLoadError

# Azurite 3.35 (the newest that runs on Node 20) rejects the SDK's newer default API version.
QUEUE_API_VERSION = "2025-11-05"
# The variables aiohttp reads for a proxy (either case).
_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


def client_options(env: Mapping[str, str]) -> dict[str, Any]:
    """Options for the host's Storage clients. They look for a proxy only when a proxy
    variable is set: aiohttp looks per request, reading ~/.netrc and the proxy variables on a
    worker thread, which cost the queue listener about 40 % of its CPU per request."""
    proxy = any(env.get(name) or env.get(name.lower()) for name in _PROXY_VARIABLES)
    return {"use_env_settings": proxy}


def connection_string(setting: str | None) -> str:
    """Resolve a binding's ``connection`` the way the host does (X, then AzureWebJobsX)."""
    name = setting or "AzureWebJobsStorage"
    for candidate in (name, f"AzureWebJobs{name}"):
        value = os.environ.get(candidate, "").strip()
        if value:
            return value
    raise AppLoadError(
        f"connection {name!r}: no app setting holds a connection string "
        "(identity-based connections are not emulated)"
    )


class QueueClients:
    """One service client per connection string; queue clients created once and reused."""

    def __init__(self) -> None:
        self._services: dict[str, QueueServiceClient] = {}
        self._queues: dict[tuple[str, str], QueueClient] = {}
        self._created: set[tuple[str, str]] = set()

    def queue(self, conn: str, name: str) -> QueueClient:
        key = (conn, name)
        if key not in self._queues:
            if conn not in self._services:
                self._services[conn] = QueueServiceClient.from_connection_string(
                    conn, api_version=QUEUE_API_VERSION, **client_options(os.environ)
                )
            self._queues[key] = self._services[conn].get_queue_client(name)
        return self._queues[key]

    async def ensure(self, conn: str, name: str) -> QueueClient:
        client = self.queue(conn, name)
        if (conn, name) not in self._created:
            with contextlib.suppress(ResourceExistsError):
                await client.create_queue()
            self._created.add((conn, name))
        return client

    async def close(self) -> None:
        for client in self._queues.values():
            await client.close()
        for service in self._services.values():
            await service.close()


def encode_message(body: bytes, encoding: str) -> str:
    if encoding == "base64":
        return base64.b64encode(body).decode("ascii")
    return body.decode("utf-8")


def decode_message(text: str, encoding: str) -> bytes:
    """The raw message body; raises ValueError when base64 is expected and absent."""
    if encoding == "none":
        return text.encode("utf-8")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise ValueError("the message is not valid base64") from error


def queue_output_bodies(datum: Datum) -> list[bytes]:
    """The messages a queue output binding's datum stands for (a JSON list means several)."""
    if datum.type == "string":
        return [str(datum.value).encode("utf-8")]
    if datum.type == "bytes":
        return [bytes(datum.value)]
    if datum.type == "json":
        items = json.loads(datum.value)
        if not isinstance(items, list):
            return [str(datum.value).encode("utf-8")]
        return [
            (item["body"] if isinstance(item, dict) else str(item)).encode("utf-8")
            for item in items
        ]
    raise ValueError(f"queue output of type {datum.type!r} is not supported")


_T = TypeVar("_T")


async def until_stopped(work: Awaitable[_T], stopping: asyncio.Event) -> _T | None:
    """Run ``work`` unless the host stops first (then cancel it and answer None).

    Start-up calls retry for minutes when storage is down; shutdown must not wait for them.
    """
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not task.done():
        task.cancel()
        return None
    return task.result()
