"""Load a Functions app through Microsoft's own Python worker library and invoke it.

Runs under Python 3.13 with ``azure-functions-runtime-v1`` (the v1-model worker logic that the
Functions host's proxy worker uses), never under the emulator. Usage:

    drive_worker.py APP_DIR   ->  one JSON document on stdout

It loads every function folder, invokes ``GET /health`` and the ``fanout_worker`` queue
trigger (with a message Herald did not write), and reports what the worker answered.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import tests.protos as protos  # the worker wheel's generated gRPC messages
from azure_functions_runtime_v1 import handle_event

DIRECTIONS = {"in": 0, "out": 1, "inout": 2}


def _request(field: str, message: Any) -> SimpleNamespace:
    streaming = protos.StreamingMessage(**{field: message})
    return SimpleNamespace(request=streaming, properties={"host": "fidelity", "protos": protos})


def _metadata(app: Path, folder: Path) -> Any:
    spec = json.loads((folder / "function.json").read_text())
    bindings = {
        b["name"]: protos.BindingInfo(type=b["type"], direction=DIRECTIONS[b["direction"]])
        for b in spec["bindings"]
    }
    return protos.RpcFunctionMetadata(
        name=folder.name,
        directory=str(folder),
        script_file=str(folder / spec.get("scriptFile", "__init__.py")),
        entry_point=spec.get("entryPoint", "main"),
        bindings=bindings,
        raw_bindings=[json.dumps(b) for b in spec["bindings"]],
    )


def _status(result: Any) -> dict[str, Any]:
    return {"status": int(result.status), "exception": result.exception.message}


async def _invoke(function_id: str, inputs: list[Any], metadata: dict[str, Any]) -> Any:
    invocation = protos.InvocationRequest(
        invocation_id=f"{function_id}-1",
        function_id=function_id,
        input_data=inputs,
        trigger_metadata=metadata,
    )
    return await handle_event.invocation_request(_request("invocation_request", invocation))


async def main(app: Path) -> dict[str, Any]:
    sys.path.insert(0, str(app))  # the host puts the script root on the worker's path
    init = protos.WorkerInitRequest(function_app_directory=str(app))
    report: dict[str, Any] = {"init": _status((await handle_event.worker_init_request(
        _request("worker_init_request", init))).result), "loaded": {}}  # fmt: skip
    for folder in sorted(p for p in app.iterdir() if (p / "function.json").is_file()):
        load = protos.FunctionLoadRequest(function_id=folder.name, metadata=_metadata(app, folder))
        answer = await handle_event.function_load_request(_request("function_load_request", load))
        report["loaded"][folder.name] = _status(answer.result)

    http = protos.RpcHttp(method="GET", url="http://localhost/health", headers={}, query={})
    health = await _invoke(
        "health", [protos.ParameterBinding(name="req", data=protos.TypedData(http=http))], {}
    )
    report["health"] = {
        **_status(health.result),
        "http_status": health.return_value.http.status_code,
        "body": health.return_value.http.body.bytes.decode(errors="replace"),
    }

    queue_metadata = {
        "Id": protos.TypedData(string="m1"),
        "DequeueCount": protos.TypedData(json="1"),
        "PopReceipt": protos.TypedData(string="receipt"),
    }
    fanout = await _invoke(
        "fanout_worker",
        [protos.ParameterBinding(name="msg", data=protos.TypedData(string='{"kind":"plan"}'))],
        queue_metadata,
    )
    report["fanout_worker"] = _status(fanout.result)
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1]).resolve()))))
