"""Fixtures for the sender integration tests: a throwaway CA, h2 and aiohttp TLS servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Protocol

import pytest
from aiohttp import web
from integration.pns.pns_h2_server import H2TestServer, start_server

from emulator.pns.certs import CertPaths, ensure_certs, server_context
from shared.pns.options import PnsOptions


class H2Factory(Protocol):
    def __call__(
        self, server: H2TestServer, client_ca: Path | None = None
    ) -> AbstractAsyncContextManager[str]: ...


WebFactory = Callable[[web.Application], AbstractAsyncContextManager[str]]


@pytest.fixture(scope="session")
def server_certs(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    return ensure_certs(tmp_path_factory.mktemp("pns-tls"))


@pytest.fixture
def options(server_certs: CertPaths) -> PnsOptions:
    return PnsOptions(ca_file=str(server_certs.ca_file), request_timeout=5.0, connect_timeout=5.0)


@pytest.fixture
def h2_server(server_certs: CertPaths) -> H2Factory:
    """``async with h2_server(H2TestServer(...)) as origin:`` serves on a free port."""

    @asynccontextmanager
    async def serve(server: H2TestServer, client_ca: Path | None = None) -> AsyncIterator[str]:
        listener = await start_server(server, server_certs, client_ca=client_ca)
        try:
            yield f"https://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
        finally:
            listener.close()
            await listener.wait_closed()

    return serve


@pytest.fixture
def web_server(server_certs: CertPaths) -> WebFactory:
    """``async with web_server(app) as origin:`` serves an aiohttp app over TLS (HTTP/1.1)."""

    @asynccontextmanager
    async def serve(app: web.Application) -> AsyncIterator[str]:
        runner = web.AppRunner(app)
        await runner.setup()
        context = server_context(server_certs, ["http/1.1"])
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield f"https://127.0.0.1:{port}"
        finally:
            await runner.cleanup()

    return serve
