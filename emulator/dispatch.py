"""Run one invocation end to end: invoke, write its output bindings, log the outcome.

The outcome line is Azure's host's "Executed" line, with the HTTP status of an HTTP trigger's
answer added (Azure's says "Succeeded" for a 401 too). Its level follows what happened: DEBUG
for a success (each queue step and each 2xx answer: the app logs what a send did itself), INFO
for a timer run, a redelivered queue message and a 4xx answer, WARNING for a 5xx answer or a
failed invocation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from azure.functions.meta import Datum

from emulator.app import HostConfig
from emulator.invoke import FunctionInvoker, Invocation, InvocationError
from emulator.storage import QueueClients, connection_string, encode_message, queue_output_bodies

log = logging.getLogger("emulator.host")
DEBUG, WARNING = logging.DEBUG, logging.WARNING
OUTPUT_WINDOW = 16  # queue output messages written at once


def http_status(invocation: Invocation) -> int | None:
    """The status of the invocation's HTTP answer; None when it has none."""
    for kind, datum in invocation.outputs.values():
        if kind == "http":
            return 200 if datum.type == "string" else int(datum.value["status_code"].value)
    return None


class Dispatcher:
    def __init__(
        self,
        invokers: Mapping[str, FunctionInvoker],
        queues: QueueClients,
        config: HostConfig,
        notify: Callable[[str], None],
    ) -> None:
        self.invokers = invokers
        self._queues = queues
        self._config = config
        self._notify = notify

    async def run(
        self, name: str, trigger: Datum, metadata: Mapping[str, Datum], describe: str
    ) -> Invocation:
        """Invoke ``name`` and flush its queue outputs; raises InvocationError on failure."""
        invoker = self.invokers[name]
        trigger_type = invoker.function.trigger.type
        started = time.perf_counter()
        count = str(metadata["DequeueCount"].value) if "DequeueCount" in metadata else ""
        redelivered = count.isdigit() and int(count) > 1
        quiet = trigger_type != "timerTrigger" and not redelivered
        outcome, level = "Succeeded", DEBUG if quiet else logging.INFO
        try:
            invocation = await invoker.invoke(trigger, metadata)
            await self._write_queue_outputs(name, invocation)
            status = http_status(invocation)
            if status is not None:
                outcome = f"Succeeded, HTTP {status}"
                level = WARNING if status >= 500 else logging.INFO if status >= 400 else DEBUG
        except InvocationError as error:
            outcome, level = f"Failed ({error})", WARNING
            raise
        except Exception as error:  # an output binding could not be written
            outcome = f"Failed (output binding: {type(error).__name__}: {error})"
            level = WARNING
            raise InvocationError(outcome) from error
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            log.log(
                level,
                "Executed '%s' (%s, %s) in %.1f ms: %s",
                name,
                trigger_type,
                describe,
                elapsed,
                outcome,
            )
        return invocation

    async def _write_queue_outputs(self, name: str, invocation: Invocation) -> None:
        function = self.invokers[name].function
        for binding in function.outputs:
            if binding.name not in invocation.outputs or binding.type != "queue":
                continue
            _, datum = invocation.outputs[binding.name]
            queue_name = (binding.setting("queueName") or "").lower()
            conn = connection_string(binding.setting("connection"))
            client = await self._queues.ensure(conn, queue_name)
            encoding = self._config.queues.message_encoding
            texts = [encode_message(body, encoding) for body in queue_output_bodies(datum)]
            # Written side by side, a window at a time: a step that fans out to 16 more no
            # longer waits for 16 round trips before the first of them can run.
            for start in range(0, len(texts), OUTPUT_WINDOW):
                window = texts[start : start + OUTPUT_WINDOW]
                sent = await asyncio.gather(
                    *(client.send(text) for text in window), return_exceptions=True
                )
                for outcome in sent:
                    if isinstance(outcome, BaseException):
                        raise outcome
            self._notify(queue_name)
