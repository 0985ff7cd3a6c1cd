"""Start, announce and stop the local stack."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from devstack.claim import check_ports_free, claim_state_dir, release
from devstack.simulated import app_settings, hub_credentials
from emulator.azurite import Azurite, blob_origin
from emulator.pns.certs import ensure_certs
from shared.auth.sas import format_connection_string
from shared.cli.local_stack import LocalStack
from shared.config import Settings
from shared.engine import Engine
from shared.errors import NotFoundError
from shared.hubs.model import FULL_POLICY, LISTEN_POLICY, Hub
from shared.hubs.secrets import new_secret_key
from shared.pns.base import Platform

log = logging.getLogger("devstack")
REPO = Path(__file__).resolve().parent.parent
SETTINGS_FILE = REPO / "local.settings.json"
_FIRST_DEVICE = {
    "installationId": "my-phone",
    "platform": "apns",
    "pushChannel": "00fe" * 16,  # an APNs device token: 32 bytes in hex
    "tags": ["news"],
}
EXAMPLE_SETTINGS = REPO / "local.settings.example.json"


@dataclass(frozen=True)
class StackOptions:
    port: int
    https_port: int
    hub: str
    state_dir: Path
    azurite_location: Path
    settings_file: Path = SETTINGS_FILE
    control_port: int = 7073  # the PNS simulators' control API: fixed, so saved URLs work


def local_settings(path: Path) -> dict[str, str]:
    """local.settings.json's values, created from the example with a fresh secret key."""
    document = json.loads((path if path.is_file() else EXAMPLE_SETTINGS).read_text())
    values = document.setdefault("Values", {})
    if not values.get("HERALD_SECRET_KEY"):
        values["HERALD_SECRET_KEY"] = new_secret_key()
        path.write_text(json.dumps(document, indent=2) + "\n")
    return {k: str(v) for k, v in values.items()}


class Stack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Raises StackRefused, having touched nothing, when a stack already runs here or a
        port is taken."""
        options = self.options
        running = LocalStack.read(options.state_dir)
        lock = claim_state_dir(
            options.state_dir, f", {running.url} and {running.https_url}" if running else ""
        )
        try:
            check_ports_free(
                [
                    ("--port", options.port),
                    ("--https-port", options.https_port),
                    ("--control-port", options.control_port),
                ]
            )
            await self._run()
        finally:
            LocalStack.remove(options.state_dir)
            release(lock)

    async def _run(self) -> None:
        options = self.options
        values = local_settings(options.settings_file)
        azurite = await Azurite.start(REPO, options.azurite_location)
        children: list[subprocess.Popen[bytes]] = []
        try:
            simulators, endpoints = await self._start_simulators()
            children.append(simulators)
            env = {
                **values,
                "AzureWebJobsStorage": azurite.connection_string,
                **app_settings(endpoints),
                # Jobs may name containers in the local Azurite's blob service.
                "HERALD_JOB_ALLOWED_TEST_HOSTS": blob_origin(azurite.connection_string),
            }
            host = self._start_host(env)
            children.append(host)
            ready = await self._wait_ready(host)
            hub = await self._demo_hub(env, hub_credentials(endpoints, self._pns_state))
            self._announce(ready, hub, azurite.connection_string, endpoints)
            await self._until_stopped(children)
        finally:
            for child in reversed(children):
                if child.poll() is None:
                    os.kill(child.pid, signal.SIGTERM)
                    child.wait(timeout=30)
            azurite.stop()

    @property
    def _pns_state(self) -> Path:
        return self.options.state_dir / "pns"

    async def _start_simulators(self) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
        args = [
            sys.executable, "-m", "emulator.pns",
            "--state-dir", str(self._pns_state),
            "--control-port", str(self.options.control_port),
        ]  # fmt: skip
        process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE)
        assert process.stdout is not None
        line = await asyncio.to_thread(process.stdout.readline)
        if not line:
            raise RuntimeError("the PNS simulators did not start; their log is above")
        endpoints: dict[str, str] = json.loads(line)
        return process, endpoints

    def _start_host(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        certs = ensure_certs(self.options.state_dir / "tls")
        ready = self.options.state_dir / "host.json"
        ready.unlink(missing_ok=True)
        args = [
            sys.executable, "-m", "emulator",
            "--app-dir", str(REPO),
            "--port", str(self.options.port),
            "--https-port", str(self.options.https_port),
            "--tls-cert", str(certs.cert_file),
            "--tls-key", str(certs.key_file),
            "--ready-file", str(ready),
            "--master-key", secrets.token_urlsafe(24),
        ]  # fmt: skip
        return subprocess.Popen(args, cwd=REPO, env={**os.environ, **env})

    async def _wait_ready(self, host: subprocess.Popen[bytes]) -> dict[str, str]:
        ready = self.options.state_dir / "host.json"
        deadline = time.monotonic() + 60
        while not ready.exists():
            if host.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Functions host did not start; its log is above")
            await asyncio.sleep(0.1)
        document: dict[str, str] = json.loads(ready.read_text())
        return document

    async def _demo_hub(
        self, env: dict[str, str], credentials: Mapping[Platform, Mapping[str, Any]]
    ) -> Hub:
        """The demo hub, created once; its credentials follow the simulators' new ports."""
        engine = Engine.build(Settings.from_env(env))
        try:
            try:
                hub = await engine.hubs.get_hub(self.options.hub, fresh=True)
            except NotFoundError:
                hub = await engine.hubs.create_hub(Hub.new(self.options.hub))
            return await engine.hubs.replace_hub(replace(hub, credentials=dict(credentials)))
        finally:
            await engine.aclose()

    def _announce(
        self, ready: dict[str, str], hub: Hub, storage: str, endpoints: Mapping[str, str]
    ) -> None:
        endpoint = f"sb://localhost:{self.options.https_port}/"
        ca_file = self.options.state_dir / "tls" / "ca.pem"
        full, listen = hub.policies[FULL_POLICY], hub.policies[LISTEN_POLICY]
        full_string = format_connection_string(endpoint, full.name, full.primary_key)
        listen_string = format_connection_string(endpoint, listen.name, listen.primary_key)
        LocalStack(
            pid=os.getpid(),
            storage=storage,
            url=ready["url"],
            https_url=f"https://localhost:{self.options.https_port}",
            endpoint=endpoint,
            ca_file=str(ca_file),
            hub=hub.name,
            control=endpoints["control"],
            settings_file=str(self.options.settings_file),
        ).write(self.options.state_dir)
        lines = [
            "",
            "Herald is running.",
            f"  HTTP   {ready['url']}",
            f"  HTTPS  https://localhost:{self.options.https_port}  (trust {ca_file})",
            f"  Hub    {hub.name}",
            f"  PNS    simulators for APNs, FCM, WNS, Web Push, ADM, Baidu and Xiaomi; records at "
            f"{endpoints['control']}/records",
            "",
            f"HUB={hub.name}",
            f"FULL_CONNECTION_STRING={full_string}",
            f"LISTEN_CONNECTION_STRING={listen_string}",
            "",
            "The NH SDKs speak https: point them at the connection strings above and trust the",
            f"development CA (for Node: NODE_EXTRA_CA_CERTS={ca_file}). The legacy azure-sb",
            "refuses a host name without a dot: give it Endpoint=sb://127.0.0.1:"
            f"{self.options.https_port}/.",
            "",
            "Try it: register a device, send it a notification, and see it arrive.",
            f"  TOKEN=$(.venv/bin/herald sas-token {hub.name} "
            f"--policy {FULL_POLICY} --uri {ready['url']}/)",
            f"  curl -X PUT '{ready['url']}/{hub.name}/installations/my-phone?api-version=2020-06' "
            "-H \"Authorization: $TOKEN\" -H 'Content-Type: application/json' "
            f"-d '{json.dumps(_FIRST_DEVICE, separators=(',', ':'))}'",
            f"  curl -i -X POST '{ready['url']}/{hub.name}/messages?api-version=2020-06' "
            "-H \"Authorization: $TOKEN\" -H 'ServiceBusNotification-Format: apple' "
            "-H 'ServiceBusNotification-Tags: news' -H 'Content-Type: application/json' "
            """-d '{"aps":{"alert":"Hello from Herald"}}'""",
            f"  curl '{endpoints['control']}/records?platform=apns'",
            "",
            f"Watch it: {ready['url']}/dashboard (sign in with FULL_CONNECTION_STRING and hub "
            f"{hub.name}).",
            "",
            "Manage it: .venv/bin/herald --help (hubs, keys, credentials; import and export",
            'installations with --connection-string "$FULL_CONNECTION_STRING").',
            "",
            "Stop with Ctrl-C.",
        ]
        print("\n".join(lines), flush=True)

    async def _until_stopped(self, children: list[subprocess.Popen[bytes]]) -> None:
        while not self._stopping.is_set():
            for child in children:
                if child.poll() is not None:
                    raise RuntimeError(f"process {child.pid} exited with {child.returncode}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=1)
