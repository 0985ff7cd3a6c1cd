"""`make run`'s stack: it starts everything, creates the demo hub, and its connection strings
work over https with the development CA, as an NH SDK would use them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from emulator.azurite import free_port
from shared.auth.sas import generate_sas_token, parse_connection_string
from support.processes import REPO

HANDLE = "ab" * 32


async def _delivered(control: str, handle: str) -> bool:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=control) as http:
        while time.monotonic() < deadline:
            records = (await http.get("/records", params={"platform": "apns"})).json()
            if any(r["handle"] == handle for r in records["records"]):
                return True
            await asyncio.sleep(0.2)
    return False


def _wait_for_lines(log: Path, process: subprocess.Popen[bytes], prefix: str) -> dict[str, str]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Stop with Ctrl-C." in text:
            return dict(line.split("=", 1) for line in text.splitlines() if line.startswith(prefix))
        assert process.poll() is None, text
        time.sleep(0.2)
    raise AssertionError(log.read_text(errors="replace"))


async def test_the_local_stack_serves_the_demo_hub_over_https(tmp_path: Path) -> None:
    port, https_port = free_port(), free_port()
    log = tmp_path / "stack.log"
    args = [
        sys.executable, "-m", "devstack",
        "--port", str(port), "--https-port", str(https_port),
        "--state-dir", str(tmp_path / "runtime"),
        "--azurite-location", str(tmp_path / "azurite"),
        "--settings-file", str(tmp_path / "local.settings.json"),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "AzureWebJobsStorage"}
    with log.open("wb") as out:
        stack = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        printed = _wait_for_lines(log, stack, ("HUB", "FULL_CONNECTION_STRING", "LISTEN_"))
        full = parse_connection_string(printed["FULL_CONNECTION_STRING"])
        assert printed["HUB"] == "demo"
        assert full.endpoint == f"sb://localhost:{https_port}/"
        assert "LISTEN_CONNECTION_STRING" in printed
        root = f"https://localhost:{https_port}/"
        token = generate_sas_token(
            root, key_name=full.key_name, key=full.key, expiry=int(time.time()) + 300
        )
        ca = ssl.create_default_context(cafile=tmp_path / "runtime" / "tls" / "ca.pem")
        async with httpx.AsyncClient(base_url=root, verify=ca) as http:
            health = await http.get("health")
            device = {"installationId": "first", "platform": "apns", "pushChannel": HANDLE}
            put = await http.put(
                "demo/installations/first", json=device, headers={"Authorization": token}
            )
            got = await http.get("demo/installations/first", headers={"Authorization": token})
            sent = await http.post(
                "demo/messages",
                content=b'{"aps":{"alert":"hi"}}',
                headers={
                    "Authorization": token,
                    "ServiceBusNotification-Format": "apple",
                    "Content-Type": "application/json",
                },
            )
        assert health.json()["storage"]["reachable"] is True
        assert put.status_code == 200
        assert got.json()["platform"] == "apns"
        assert sent.status_code == 201
        # The demo hub's credentials point at the simulators, which record the delivery.
        control = re.search(r"records at (\S+)/records", log.read_text())
        assert control is not None
        assert await _delivered(control[1], HANDLE)
    finally:
        os.kill(stack.pid, signal.SIGTERM)
        stack.wait(timeout=60)
    assert stack.returncode == 0, log.read_text(errors="replace")
