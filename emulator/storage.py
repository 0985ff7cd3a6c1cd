"""The host's own use of Azure Storage: queue clients, message encoding, output bindings."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

from azure.functions.meta import Datum

from emulator.app import AppLoadError
from emulator.queue_rest import Queue, QueueAccount

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
    """One account client per connection string; each queue created once, on first use."""

    def __init__(self) -> None:
        self._accounts: dict[str, QueueAccount] = {}
        self._created: dict[tuple[str, str], Queue] = {}

    async def ensure(self, conn: str, name: str) -> Queue:
        queue = self._created.get((conn, name))
        if queue is None:
            account = self._accounts.get(conn)
            if account is None:
                account = self._accounts[conn] = QueueAccount(conn, **client_options(os.environ))
            queue = account.queue(name)
            await queue.create()
            self._created[(conn, name)] = queue
        return queue

    async def close(self) -> None:
        for account in self._accounts.values():
            await account.close()


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
