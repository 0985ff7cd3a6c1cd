"""Fixtures for the sender integration tests: a throwaway CA, h2 and aiohttp TLS servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from integration.pns.pns_h2_server import (
    H2TestServer,
    TlsFiles,
    make_tls_files,
    server_ssl_context,
    start_server,
)

from shared.pns.options import PnsOptions

H2Factory = Callable[[H2TestServer], AbstractAsyncContextManager[str]]
WebFactory = Callable[[web.Application], AbstractAsyncContextManager[str]]


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("pns-tls"))


@pytest.fixture
def options(tls_files: TlsFiles) -> PnsOptions:
    return PnsOptions(ca_file=str(tls_files.ca), request_timeout=5.0, connect_timeout=5.0)


@pytest.fixture
def h2_server(tls_files: TlsFiles) -> H2Factory:
    """``async with h2_server(H2TestServer(...)) as origin:`` serves on a free port."""

    @asynccontextmanager
    async def serve(server: H2TestServer, client_ca: Path | None = None) -> AsyncIterator[str]:
        listener = await start_server(server, tls_files, client_ca=client_ca)
        try:
            yield f"https://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
        finally:
            listener.close()
            await listener.wait_closed()

    return serve


@pytest.fixture
def web_server(tls_files: TlsFiles) -> WebFactory:
    """``async with web_server(app) as origin:`` serves an aiohttp app over TLS (HTTP/1.1)."""

    @asynccontextmanager
    async def serve(app: web.Application) -> AsyncIterator[str]:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(
            runner, "127.0.0.1", 0, ssl_context=server_ssl_context(tls_files, h2=False)
        )
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield f"https://127.0.0.1:{port}"
        finally:
            await runner.cleanup()

    return serve
