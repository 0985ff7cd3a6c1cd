"""Run one invocation end to end: invoke, write its output bindings, log the outcome."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from azure.functions.meta import Datum

from emulator.app import HostConfig
from emulator.invoke import FunctionInvoker, Invocation, InvocationError
from emulator.storage import QueueClients, connection_string, encode_message, queue_output_bodies

log = logging.getLogger("emulator.host")


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
        started = time.perf_counter()
        outcome = "Succeeded"
        try:
            invocation = await invoker.invoke(trigger, metadata)
            await self._write_queue_outputs(name, invocation)
        except InvocationError as error:
            outcome = f"Failed ({error})"
            raise
        except Exception as error:  # an output binding could not be written
            outcome = f"Failed (output binding: {type(error).__name__}: {error})"
            raise InvocationError(outcome) from error
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            log.info(
                "Executed '%s' (%s, %s) in %.1f ms: %s",
                name,
                invoker.function.trigger.type,
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
            for body in queue_output_bodies(datum):
                await client.send_message(encode_message(body, encoding))
            self._notify(queue_name)
