"""Invoke one function the way Azure's Python worker does.

Inputs are built, and outputs encoded, by the azure.functions library's own binding converters
(``get_binding_registry()``), so handlers see exactly the objects they would see on Azure.
Coroutine functions are awaited on the host's loop; plain functions run on a thread pool sized
like the worker's (``PYTHON_THREADPOOL_THREAD_COUNT``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions import _abc as functions_abc
from azure.functions.meta import Datum

from emulator.app import FunctionDef

_REGISTRY = func.get_binding_registry()  # type: ignore[no-untyped-call]


class _Out(func.Out[Any]):
    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


class _TraceContext(functions_abc.TraceContext):
    def __init__(self) -> None:
        self._parent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(functions_abc.RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> functions_abc.RpcException:
        raise AttributeError("no exception: this is not a retry")


class _Context(func.Context):
    _local = threading.local

    def __init__(self, invocation_id: str, function: FunctionDef) -> None:
        self._invocation_id = invocation_id
        self._function = function

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> type[threading.local]:
        return self._local

    @property
    def function_name(self) -> str:
        return self._function.name

    @property
    def function_directory(self) -> str:
        return str(self._function.directory)

    @property
    def trace_context(self) -> functions_abc.TraceContext:
        return _TraceContext()

    @property
    def retry_context(self) -> functions_abc.RetryContext:
        return _RetryContext()


@dataclass(frozen=True)
class Invocation:
    """What one invocation produced: the HTTP answer (if any) and output bindings."""

    invocation_id: str
    outputs: Mapping[str, tuple[str, Datum]]  # binding name -> (binding type, datum)


class InvocationError(RuntimeError):
    """The handler raised; the host applies its failure semantics (retry, poison, 500)."""


def _thread_pool() -> ThreadPoolExecutor:
    count = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT")
    return ThreadPoolExecutor(max_workers=int(count) if count else None)


class FunctionInvoker:
    def __init__(self, function: FunctionDef, entry: Callable[..., Any]) -> None:
        self.function = function
        self._entry = entry
        self._is_async = inspect.iscoroutinefunction(entry)
        self._params = set(inspect.signature(entry).parameters)
        expected = {b.name for b in function.bindings if b.name != "$return"}
        missing = expected - self._params
        if missing:
            raise InvocationError(
                f"{function.name}: binding(s) {sorted(missing)} have no parameter in "
                f"{function.entry_point}()"
            )
        self._executor = None if self._is_async else _thread_pool()

    async def invoke(self, trigger: Datum, metadata: Mapping[str, Datum]) -> Invocation:
        invocation_id = str(uuid.uuid4())
        converter = _REGISTRY.get(self.function.trigger.type)
        kwargs: dict[str, Any] = {
            self.function.trigger.name: converter.decode(trigger, trigger_metadata=metadata)
        }
        outs = {b.name: _Out() for b in self.function.outputs if b.name != "$return"}
        kwargs.update(outs)
        if "context" in self._params:
            kwargs["context"] = _Context(invocation_id, self.function)
        try:
            if self._is_async:
                result = await self._entry(**kwargs)
            else:
                loop = asyncio.get_running_loop()
                call = functools.partial(self._entry, **kwargs)
                result = await loop.run_in_executor(self._executor, call)
        except Exception as error:
            raise InvocationError(f"{type(error).__name__}: {error}") from error
        return Invocation(invocation_id, self._encode_outputs(outs, result))

    def _encode_outputs(
        self, outs: Mapping[str, _Out], result: Any
    ) -> dict[str, tuple[str, Datum]]:
        encoded: dict[str, tuple[str, Datum]] = {}
        for binding in self.function.outputs:
            value = result if binding.name == "$return" else outs[binding.name].get()
            if value is None:
                continue
            datum = _REGISTRY.get(binding.type).encode(value, expected_type=None)
            encoded[binding.name] = (binding.type, datum)
        if result is not None and "$return" not in {b.name for b in self.function.outputs}:
            raise InvocationError(f"{self.function.name} returned a value but has no $return")
        return encoded

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
