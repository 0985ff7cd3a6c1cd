"""Read and write Azurite queues the way the Functions host encodes them (base64)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient

API_VERSION = "2025-11-05"


def queue_client(conn: str, name: str, *, base64: bool = True) -> QueueClient:
    policies: dict[str, Any] = (
        {
            "message_encode_policy": TextBase64EncodePolicy(),
            "message_decode_policy": TextBase64DecodePolicy(),
        }
        if base64
        else {}
    )
    return QueueClient.from_connection_string(conn, name, api_version=API_VERSION, **policies)


async def send_json(conn: str, name: str, bodies: list[Any]) -> None:
    async with queue_client(conn, name) as queue:
        with contextlib.suppress(ResourceExistsError):
            await queue.create_queue()
        await asyncio.gather(*(queue.send_message(json.dumps(b)) for b in bodies))


async def drain_json(
    conn: str, name: str, expected: int, *, timeout: float = 60.0, base64: bool = True
) -> list[Any]:
    """Receive and delete messages until ``expected`` arrived or the deadline passed."""
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    async with queue_client(conn, name, base64=base64) as queue:
        with contextlib.suppress(ResourceExistsError):
            await queue.create_queue()
        while len(found) < expected and time.monotonic() < deadline:
            batch = [m async for m in queue.receive_messages(messages_per_page=32, max_messages=32)]
            for message in batch:
                found.append(message.content if not base64 else json.loads(message.content))
                await queue.delete_message(message)
            if not batch:
                await asyncio.sleep(0.1)
    return found


async def depth(conn: str, name: str) -> int:
    async with queue_client(conn, name) as queue:
        properties = await queue.get_queue_properties()
        count: int = properties.approximate_message_count
        return count
