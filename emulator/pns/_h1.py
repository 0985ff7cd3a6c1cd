"""Serve a ``Request -> Reply`` handler over HTTP/1.1 with aiohttp's low-level server."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiohttp import web

from emulator.pns._http import Action, Connection, Handler, Request


def h1_server(handler: Handler) -> web.Server:
    """An aiohttp protocol factory; call it once per connection (``loop.create_server``)."""

    async def _serve(request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        headers: dict[str, str] = {}
        duplicates: set[str] = set()
        for name, value in request.headers.items():
            lower = name.lower()
            if lower in headers:
                duplicates.add(lower)
            headers[lower] = value
        conn = Connection(peer_cert=_peer_cert(request))
        raw_path, _, query = request.raw_path.partition("?")
        reply = handler(
            Request(request.method, raw_path, query, headers, body, conn, frozenset(duplicates))
        )
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.action is not Action.REPLY and request.transport is not None:
            request.transport.abort()  # aiohttp then drops the reply below quietly
        return web.Response(status=reply.status, body=reply.body, headers=list(reply.headers))

    return web.Server(_serve, access_log=None)


def _peer_cert(request: web.BaseRequest) -> dict[str, Any] | None:
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if isinstance(ssl_object, ssl.SSLObject):
        return ssl_object.getpeercert() or None
    return None
