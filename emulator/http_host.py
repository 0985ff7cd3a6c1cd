"""HTTP triggers: route matching, methods, authLevel keys, and the admin endpoints."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aiohttp import web
from azure.functions.meta import Datum

from emulator.app import FunctionDef
from emulator.dispatch import Dispatcher
from emulator.invoke import InvocationError

log = logging.getLogger("emulator.http")

MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the Functions host's request size limit


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


def _presented_key(request: web.Request) -> str | None:
    return request.headers.get("x-functions-key") or request.query.get("code")


def _request_datum(request: web.Request, body: bytes, route_params: Mapping[str, str]) -> Datum:
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
        # ASP.NET precedence: literal segments first, catch-alls last.
        self._routes = sorted(http, key=lambda f: f.route.precedence if f.route else ())
        self._dispatcher = dispatcher
        self._keys = keys
        self._by_name = {f.name: f for f in functions}
        self._admin_invoke = admin_invoke

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_post("/admin/functions/{name}", self._admin_function)
        app.router.add_get("/admin/host/status", self._admin_status)
        app.router.add_route("*", "/{path:.*}", self._dispatch)
        return app

    def _match(self, method: str, path: str) -> tuple[FunctionDef, dict[str, str]] | None:
        for function in self._routes:
            assert function.route is not None
            params = function.route.match(path)
            if params is None:
                continue
            if function.methods is None or method in function.methods:
                return function, params
        return None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        found = self._match(request.method, request.path)
        if found is None:
            return web.Response(status=404)
        function, params = found
        if not self._keys.allows(function, _presented_key(request)):
            return web.Response(status=401)
        body = await request.read()
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

    async def _admin_function(self, request: web.Request) -> web.StreamResponse:
        function = self._by_name.get(request.match_info["name"])
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

    async def _admin_status(self, request: web.Request) -> web.StreamResponse:
        presented = (_presented_key(request) or "").encode()
        if not hmac.compare_digest(presented, self._keys.master.encode()):
            return web.Response(status=401)
        functions = sorted(self._by_name)
        return web.json_response({"state": "Running", "functions": functions})
