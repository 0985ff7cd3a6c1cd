"""``python -m emulator.pns``: one JSON line once everything listens; files in the state dir."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import jwt
import pytest

REPO = Path(__file__).resolve().parents[2]
KEYS = {
    "apns",
    "fcm",
    "fcm_token_uri",
    "wns_token_uri",
    "wns_aad_token_uri",
    "wns_channel_base",
    "webpush",
    "adm",
    "adm_token_uri",
    "baidu",
    "xiaomi",
    "control",
    "ca_file",
}


@contextmanager
def simulator_process(*args: str) -> Iterator[tuple[dict[str, str], subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator.pns", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the process prints it only once it listens
        yield json.loads(line), process
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[tuple[dict[str, str], subprocess.Popen[str]]]:
    with simulator_process("--state-dir", str(tmp_path)) as running:
        yield running


def test_prints_endpoints_and_writes_credentials(
    cli: tuple[dict[str, str], subprocess.Popen[str]], tmp_path: Path
) -> None:
    endpoints, process = cli
    assert set(endpoints) == KEYS
    assert endpoints["ca_file"] == str(tmp_path / "ca.pem")
    assert endpoints["wns_channel_base"].startswith("https://127.0.0.1:")
    with httpx.Client(base_url=endpoints["control"]) as control:
        assert control.get("/health").json() == {"ok": True}
        assert control.get("/endpoints").json() == endpoints
    account = json.loads((tmp_path / "fcm-service-account.json").read_text())
    assert account["token_uri"] == endpoints["fcm_token_uri"]
    assert account["type"] == "service_account"
    credentials = json.loads((tmp_path / "credentials.json").read_text())
    assert credentials["fcm_client_email"] == account["client_email"]
    assert (tmp_path / "apns-key.p8").read_text() == credentials["apns_private_key"]
    with httpx.Client(verify=ssl.create_default_context(cafile=endpoints["ca_file"])) as client:
        response = client.post(endpoints["adm_token_uri"], data={"grant_type": "x"})
    assert response.status_code == 400
    assert process.poll() is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_two_processes_share_the_apns_port(tmp_path: Path) -> None:
    port = str(_free_port())
    args = ("--state-dir", str(tmp_path), "--apns-port", port, "--reuseport")
    with simulator_process(*args) as (first, _), simulator_process(*args) as (second, _):
        assert first["apns"] == second["apns"] == f"https://127.0.0.1:{port}"
        assert first["control"] != second["control"]
        creds = json.loads((tmp_path / "credentials.json").read_text())
        claims = {"iss": creds["apns_team_id"], "iat": int(time.time())}
        token = jwt.encode(
            claims, creds["apns_private_key"], "ES256", {"kid": creds["apns_key_id"]}
        )
        headers = {"authorization": f"bearer {token}", "apns-topic": creds["apns_topic"]}
        ctx = ssl.create_default_context(cafile=first["ca_file"])
        for _ in range(8):  # a new connection each time: the kernel spreads them
            with httpx.Client(http1=False, http2=True, verify=ctx) as client:
                url = f"{first['apns']}/3/device/{'ab' * 32}"
                assert client.post(url, headers=headers, content=b'{"aps":{}}').status_code == 200
        served = 0
        for running in (first, second):
            counts = httpx.get(f"{running['control']}/counts?platform=apns").json()
            served += sum(counts["delivered"]["apns"].values())
        assert served == 8
