"""Queue triggers with the Storage extension's semantics.

Per function: poll with exponential backoff up to ``maxPollingInterval``; fetch ``batchSize``
messages whenever no more than ``newBatchThreshold`` are in flight; hold each message invisible
while it runs (renewed); on success delete it; on failure make it visible again after
``visibilityTimeout``, or move it to ``<queue>-poison`` once ``maxDequeueCount`` is reached.
A message that is not valid base64 (when base64 is configured) goes straight to poison.
Several host processes may poll one queue: visibility keeps each message with one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from datetime import datetime

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.functions.meta import Datum

from emulator.app import FunctionDef, QueueOptions
from emulator.dispatch import Dispatcher
from emulator.invoke import InvocationError
from emulator.queue_rest import Queue, ReceivedMessage
from emulator.storage import QueueClients, connection_string, decode_message, until_stopped

log = logging.getLogger("emulator.queues")

MIN_POLLING_INTERVAL = 0.1
# The host holds a running message invisible this long, renewing it at half; a host that dies
# lets its messages come back after at most this.
DEFAULT_LEASE_SECONDS = 600


def _iso(value: datetime | None) -> Datum | None:
    return None if value is None else Datum(value.isoformat(), "string")


def _metadata(message: ReceivedMessage) -> dict[str, Datum]:
    fields = {
        "Id": Datum(message.id, "string"),
        "DequeueCount": Datum(json.dumps(message.dequeue_count), "json"),
        "PopReceipt": Datum(message.pop_receipt, "string"),
        "InsertionTime": _iso(message.inserted_on),
        "ExpirationTime": _iso(message.expires_on),
        "NextVisibleTime": _iso(message.next_visible_on),
    }
    return {k: v for k, v in fields.items() if v is not None}


def _body_datum(body: bytes) -> Datum:
    try:
        return Datum(body.decode("utf-8"), "string")
    except UnicodeDecodeError:
        return Datum(body, "bytes")


class QueueListener:
    def __init__(
        self,
        function: FunctionDef,
        dispatcher: Dispatcher,
        clients: QueueClients,
        options: QueueOptions,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.function = function
        self.queue_name = (function.trigger.setting("queueName") or "").lower()
        self._conn = connection_string(function.trigger.setting("connection"))
        self._dispatcher = dispatcher
        self._clients = clients
        self._options = options
        self._lease = lease_seconds
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slot_free = asyncio.Event()

    def notify(self) -> None:
        """A message was just enqueued by this process: poll now instead of backing off."""
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        queue = await until_stopped(self._clients.ensure(self._conn, self.queue_name), stopping)
        if queue is None:
            return
        delay = MIN_POLLING_INTERVAL
        while not stopping.is_set():
            if len(self._in_flight) > self._options.new_batch_threshold:
                self._slot_free.clear()
                await self._wait(self._slot_free, stopping, None)
                continue
            try:
                messages = await self._receive(queue)
            except AzureError as error:
                log.warning("Polling %s failed: %s", self.queue_name, error)
                messages = []
            for message in messages:
                task = asyncio.create_task(self._process(queue, message))
                self._in_flight.add(task)
                task.add_done_callback(self._finished)
            if messages:
                delay = MIN_POLLING_INTERVAL
                continue
            self._wake.clear()
            woken = await self._wait(self._wake, stopping, delay)
            jitter = random.uniform(0.8, 1.2)
            delay = (
                MIN_POLLING_INTERVAL
                if woken
                else min(self._options.max_polling_interval, delay * 2 * jitter)
            )
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=30)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_free.set()

    @staticmethod
    async def _wait(event: asyncio.Event, stopping: asyncio.Event, timeout: float | None) -> bool:
        """Wait for ``event`` or shutdown; True when ``event`` fired."""
        waiters = {asyncio.create_task(event.wait()), asyncio.create_task(stopping.wait())}
        _done, pending = await asyncio.wait(
            waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        return event.is_set()

    async def _receive(self, queue: Queue) -> list[ReceivedMessage]:
        return await queue.receive(self._options.batch_size, self._lease)

    async def _process(self, queue: Queue, message: ReceivedMessage) -> None:
        renewal = asyncio.create_task(self._keep_invisible(queue, message))
        try:
            succeeded = await self._invoke(queue, message)
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal
        try:
            await self._settle(queue, message, succeeded)
        except AzureError as error:
            # The message reappears after its lease and is processed again: at-least-once.
            log.warning("Settling message %s on %s failed: %s", message.id, self.queue_name, error)

    async def _invoke(self, queue: Queue, message: ReceivedMessage) -> bool | None:
        """True on success, False on failure, None when the message went to poison unread."""
        if message.dequeue_count > self._options.max_dequeue_count:
            # It was received before and its host died mid-run each time: don't run it again.
            await self._poison(queue, message, "it outlived maxDequeueCount")
            return None
        try:
            body = decode_message(message.content, self._options.message_encoding)
        except ValueError as error:
            await self._poison(queue, message, str(error))
            return None
        describe = f"message {message.id}, dequeue count {message.dequeue_count}"
        try:
            await self._dispatcher.run(
                self.function.name, _body_datum(body), _metadata(message), describe
            )
        except InvocationError:
            return False
        return True

    async def _settle(self, queue: Queue, message: ReceivedMessage, succeeded: bool | None) -> None:
        if succeeded is None:
            return
        if succeeded:
            await self._delete(queue, message)
        elif message.dequeue_count >= self._options.max_dequeue_count:
            await self._poison(queue, message, f"{message.dequeue_count} failed attempts")
        else:
            await queue.update(message, int(self._options.visibility_timeout))

    async def _poison(self, queue: Queue, message: ReceivedMessage, why: str) -> None:
        poison_name = f"{self.queue_name}-poison"
        poison = await self._clients.ensure(self._conn, poison_name)
        await poison.send(message.content)
        await self._delete(queue, message)
        log.warning(
            "Moved message %s from %s to %s: %s", message.id, self.queue_name, poison_name, why
        )

    @staticmethod
    async def _delete(queue: Queue, message: ReceivedMessage) -> None:
        with contextlib.suppress(ResourceNotFoundError):  # another host finished it after a lapse
            await queue.delete(message)

    async def _keep_invisible(self, queue: Queue, message: ReceivedMessage) -> None:
        while True:
            await asyncio.sleep(self._lease / 2)
            await queue.update(message, self._lease)
