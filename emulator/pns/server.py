"""Start every simulator on its own port: ``async with running_simulators() as sims: ...``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from emulator.pns import credentials as _creds
from emulator.pns._h1 import h1_server
from emulator.pns._h2 import AlpnSwitch, H2ServerProtocol, listening_socket
from emulator.pns._http import Handler
from emulator.pns.adm import TOKEN_PATH as ADM_TOKEN_PATH
from emulator.pns.baidu import PATH as BAIDU_PATH
from emulator.pns.certs import server_context
from emulator.pns.client import ControlClient
from emulator.pns.control import control_app
from emulator.pns.fcm import TOKEN_PATH as FCM_TOKEN_PATH
from emulator.pns.hub import Endpoints, SimulatorHub
from emulator.pns.wns import LIVE_TOKEN_PATH

_log = logging.getLogger(__name__)
DEFAULT_MAX_STREAMS = 1000


@dataclass(frozen=True, slots=True)
class RunningSimulators:
    endpoints: Endpoints
    control: ControlClient
    hub: SimulatorHub  # in-process access to the simulators and their state
    state_dir: Path

    @property
    def credentials(self) -> _creds.Credentials:
        return self.hub.credentials

    @property
    def service_account_file(self) -> Path:
        return self.state_dir / _creds.SERVICE_ACCOUNT_FILE


class _Servers:
    """Everything that listens, so that it can all be shut down in one place."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._servers: list[asyncio.Server] = []
        self._h1: list[web.Server] = []
        self._h2_live: set[H2ServerProtocol] = set()
        self._runner: web.AppRunner | None = None

    def h2(self, handler: Handler, max_streams: int) -> Callable[[], H2ServerProtocol]:
        return lambda: H2ServerProtocol(handler, max_streams, self._h2_live)

    def h1(self, handler: Handler) -> web.Server:
        server = h1_server(handler)
        self._h1.append(server)
        return server

    async def listen(
        self,
        factory: Callable[[], asyncio.BaseProtocol],
        alpn: list[str],
        hub: SimulatorHub,
        *,
        port: int = 0,
        reuseport: bool = False,
        client_certs: bool = False,
    ) -> str:
        sock = listening_socket(self.host, port, reuseport=reuseport)
        ctx = server_context(hub.certs, alpn, client_certs=client_certs)
        server = await asyncio.get_running_loop().create_server(factory, sock=sock, ssl=ctx)
        self._servers.append(server)
        return _origin("https", self.host, sock.getsockname()[1])

    async def control(self, app: web.Application, port: int = 0) -> str:
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        loopback = "::1" if ":" in self.host else "127.0.0.1"  # never exposed beyond the host
        sock = listening_socket(loopback, port)
        await web.SockSite(self._runner, sock).start()
        return _origin("http", loopback, sock.getsockname()[1])

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for protocol in list(self._h2_live):
            protocol.close()
        for h1 in self._h1:
            await h1.shutdown(1.0)
        for server in self._servers:
            await server.wait_closed()
        if self._runner is not None:
            await self._runner.cleanup()


@contextlib.asynccontextmanager
async def running_simulators(
    host: str = "127.0.0.1",
    state_dir: Path | None = None,
    *,
    apns_port: int = 0,
    reuseport: bool = False,
    max_concurrent_streams: int = DEFAULT_MAX_STREAMS,
    control_port: int = 0,
) -> AsyncIterator[RunningSimulators]:
    """All seven simulators and the control API, each on a free port of ``host`` (the APNs
    and control ports may be given)."""
    with contextlib.ExitStack() as stack:
        if state_dir is None:
            state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pns-sim-")))
        hub = SimulatorHub(state_dir)
        servers = _Servers(host)
        try:
            endpoints = await _start(
                servers, hub, (apns_port, control_port), reuseport, max_concurrent_streams
            )
            _creds.write_run_files(state_dir, hub.credentials, endpoints.fcm_token_uri)
            control = ControlClient(endpoints.control)
            try:
                yield RunningSimulators(endpoints, control, hub, state_dir)
            finally:
                await control.aclose()
        finally:
            await servers.close()


async def _start(
    servers: _Servers,
    hub: SimulatorHub,
    ports: tuple[int, int],
    reuseport: bool,
    max_streams: int,
) -> Endpoints:
    apns_port, control_port = ports
    apns = await servers.listen(
        servers.h2(hub.apns, max_streams),
        ["h2"],
        hub,
        port=apns_port,
        reuseport=reuseport,
        client_certs=True,
    )
    fcm_h2, fcm_h1 = servers.h2(hub.fcm, max_streams), servers.h1(hub.fcm)
    fcm = await servers.listen(lambda: AlpnSwitch(fcm_h2, fcm_h1), ["h2", "http/1.1"], hub)
    hub.fcm.token_uri = fcm + FCM_TOKEN_PATH
    wns = await servers.listen(servers.h1(hub.wns), ["http/1.1"], hub)
    webpush = await servers.listen(servers.h1(hub.webpush), ["http/1.1"], hub)
    hub.webpush.origin = webpush
    adm = await servers.listen(servers.h1(hub.adm), ["http/1.1"], hub)
    baidu = await servers.listen(servers.h1(hub.baidu), ["http/1.1"], hub)
    xiaomi = await servers.listen(servers.h1(hub.xiaomi), ["http/1.1"], hub)
    endpoints: Endpoints | None = None
    control = await servers.control(control_app(hub, lambda: _known(endpoints)), control_port)
    endpoints = Endpoints(
        apns=apns,
        fcm=fcm,
        fcm_token_uri=hub.fcm.token_uri,
        wns_token_uri=wns + LIVE_TOKEN_PATH,
        wns_aad_token_uri=f"{wns}/{hub.credentials.wns_tenant_id}/oauth2/v2.0/token",
        wns_channel_base=f"{wns}/?token=",
        webpush=webpush,
        adm=adm,
        adm_token_uri=adm + ADM_TOKEN_PATH,
        baidu=baidu + BAIDU_PATH.removesuffix("/push/single_device"),
        xiaomi=xiaomi,
        control=control,
        ca_file=str(hub.certs.ca_file),
    )
    _log.info("PNS simulators listening: %s", endpoints.to_json())
    return endpoints


def _origin(scheme: str, host: str, port: int) -> str:
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def _known(endpoints: Endpoints | None) -> Endpoints:
    if endpoints is None:
        raise RuntimeError("the simulators are still starting")
    return endpoints
