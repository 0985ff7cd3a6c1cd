"""HTTP triggers: route matching, methods, authLevel keys, and the admin endpoints.

Routes are tried as the Functions host tries them: in function-name order (case-insensitive),
the first whose template, constraints and methods match taking the request. The host does not
rank routes by ASP.NET's precedence: a ``{*path}`` route takes the paths of every function
whose name sorts after its own.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aiohttp import web
from azure.functions.meta import Datum

from emulator.app import FunctionDef
from emulator.dispatch import Dispatcher
from emulator.http_limits import LimitedServer, body_too_large, header_problem, read_body
from emulator.invoke import InvocationError

log = logging.getLogger("emulator.http")

_ADMIN_FUNCTION = re.compile(r"/admin/functions/([^/]+)")
_ADMIN_STATUS = "/admin/host/status"


@dataclass(frozen=True)
class HostKeys:
    """Keys the host accepts: the master key, host keys, and per-function keys."""

    master: str = field(repr=False)
    host: tuple[str, ...] = field(default=(), repr=False)
    functions: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def allows(self, function: FunctionDef, presented: str | None, *, admin: bool = False) -> bool:
        if not admin and function.auth_level == "anonymous":
            return True
        if presented is None:
            return False
        accepted = [self.master]
        if not admin and function.auth_level == "function":
            accepted += [*self.host, *self.functions.get(function.name, ())]
        return any(hmac.compare_digest(presented.encode(), key.encode()) for key in accepted)


def _presented_key(request: web.BaseRequest) -> str | None:
    return request.headers.get("x-functions-key") or request.query.get("code")


def _request_datum(request: web.BaseRequest, body: bytes, route_params: Mapping[str, str]) -> Datum:
    headers = {k.lower(): ", ".join(request.headers.getall(k)) for k in request.headers}
    return Datum(
        type="http",
        value={
            "method": Datum(request.method, "string"),
            "url": Datum(str(request.url), "string"),
            "headers": {k: Datum(v, "string") for k, v in headers.items()},
            "query": {k: Datum(v, "string") for k, v in request.query.items()},
            "params": {k: Datum(v, "string") for k, v in route_params.items()},
            "body": Datum(body, "bytes"),
        },
    )


def _response(datum: Datum | None) -> web.Response:
    if datum is None:
        return web.Response(status=204)
    if datum.type == "string":
        return web.Response(status=200, text=str(datum.value))
    value = datum.value
    body = value["body"].value if value.get("body") is not None else b""
    response = web.Response(
        status=int(value["status_code"].value),
        body=body if isinstance(body, bytes) else str(body).encode("utf-8"),
    )
    for name, header in value.get("headers", {}).items():
        response.headers[name] = str(header.value)
    return response


class HttpHost:
    def __init__(
        self,
        functions: Sequence[FunctionDef],
        dispatcher: Dispatcher,
        keys: HostKeys,
        admin_invoke: Mapping[str, Callable[[str], Awaitable[None]]],
    ) -> None:
        http = [f for f in functions if f.route is not None]
        self._routes = sorted(http, key=lambda f: f.name.upper())
        self._dispatcher = dispatcher
        self._keys = keys
        self._by_name = {f.name: f for f in functions}
        self._admin_invoke = admin_invoke

    def server(self) -> web.Server:
        return LimitedServer(self._handle, access_log=None)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        refused = header_problem(request)
        if refused is not None:
            return refused
        # The host's own endpoints come before any function's route, as on Azure.
        admin = _ADMIN_FUNCTION.fullmatch(request.path)
        if admin is not None and request.method == "POST":
            return await self._admin_function(request, admin.group(1))
        if request.path == _ADMIN_STATUS and request.method == "GET":
            return await self._admin_status(request)
        return await self._dispatch(request)

    def _match(self, method: str, path: str) -> tuple[FunctionDef, dict[str, str]] | None:
        for function in self._routes:
            assert function.route is not None
            params = function.route.match(path)
            if params is None:
                continue
            if function.methods is None or method in function.methods:
                return function, params
        return None

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        found = self._match(request.method, request.path)
        if found is None:
            return web.Response(status=404)
        function, params = found
        if not self._keys.allows(function, _presented_key(request)):
            return web.Response(status=401)
        body = await read_body(request)
        if body is None:
            return body_too_large()
        describe = f"{request.method} {request.path}"
        try:
            invocation = await self._dispatcher.run(
                function.name, _request_datum(request, body, params), {}, describe
            )
        except InvocationError:
            return web.Response(status=500)
        answer = next(
            (datum for kind, datum in invocation.outputs.values() if kind == "http"), None
        )
        return _response(answer)

    async def _admin_function(self, request: web.BaseRequest, name: str) -> web.StreamResponse:
        function = self._by_name.get(name)
        if function is None or function.name not in self._admin_invoke:
            return web.Response(status=404)
        if not self._keys.allows(function, _presented_key(request), admin=True):
            return web.Response(status=401)
        try:
            payload = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return web.Response(status=400, text='the body must be JSON: {"input": "..."}')
        await self._admin_invoke[function.name](str(payload.get("input", "")))
        return web.Response(status=202)

    async def _admin_status(self, request: web.BaseRequest) -> web.StreamResponse:
        presented = (_presented_key(request) or "").encode()
        if not hmac.compare_digest(presented, self._keys.master.encode()):
            return web.Response(status=401)
        functions = sorted(self._by_name)
        return web.json_response({"state": "Running", "functions": functions})
