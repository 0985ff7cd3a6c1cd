"""`make run`'s stack, driven as a user drives it: it starts everything, creates the demo hub,
and its connection strings work over https with the development CA; a second start, or a start
with a port taken, stops with one line and leaves the running stack alone; and the admin
command works against what the stack printed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from emulator.azurite import free_port
from shared.auth.sas import generate_sas_token, parse_connection_string
from support.processes import REPO

HANDLE = "ab" * 32


@dataclass
class RunningStack:
    process: subprocess.Popen[bytes]
    root: Path  # the test's folder: state dir, Azurite data and settings file live under it
    ports: tuple[int, int, int]  # http, https, simulators' control
    printed: dict[str, str]  # the NAME=value lines the stack printed

    @property
    def state_dir(self) -> Path:
        return self.root / "runtime"

    def args(
        self, *, ports: tuple[int, int, int] | None = None, state: str = "runtime"
    ) -> list[str]:
        port, https_port, control_port = ports or self.ports
        return [
            sys.executable, "-m", "devstack",
            "--port", str(port), "--https-port", str(https_port),
            "--control-port", str(control_port),
            "--state-dir", str(self.root / state),
            "--azurite-location", str(self.root / "azurite"),
            "--settings-file", str(self.root / "local.settings.json"),
        ]  # fmt: skip

    def log(self) -> str:
        return (self.root / "stack.log").read_text(errors="replace")


def _env() -> dict[str, str]:
    keep = ("AzureWebJobsStorage", "HERALD_SECRET_KEY")
    return {k: v for k, v in os.environ.items() if k not in keep}


def _wait_for_lines(stack: RunningStack) -> dict[str, str]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = stack.log()
        if "Stop with Ctrl-C." in text:
            lines = text.splitlines()
            prefixes = ("HUB=", "FULL_CONNECTION_STRING=", "LISTEN_CONNECTION_STRING=")
            return dict(line.split("=", 1) for line in lines if line.startswith(prefixes))
        assert stack.process.poll() is None, text
        time.sleep(0.2)
    raise AssertionError(stack.log())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    root = tmp_path_factory.mktemp("stack")
    ports = (free_port(), free_port(), free_port())
    placeholder = RunningStack(None, root, ports, {})  # type: ignore[arg-type]
    with (root / "stack.log").open("wb") as out:
        process = subprocess.Popen(
            placeholder.args(), cwd=REPO, env=_env(), stdout=out, stderr=subprocess.STDOUT
        )
    running = RunningStack(process, root, ports, {})
    try:
        running.printed = _wait_for_lines(running)
        yield running
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    assert process.returncode == 0, running.log()
    assert not (running.state_dir / "stack.json").exists()  # a stopped stack says so


def herald(
    stack: RunningStack, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The admin command as a user runs it, in another folder: it finds the stack by
    --stack-dir and nothing else (no storage or secret in its environment)."""
    return subprocess.run(
        [sys.executable, "-m", "shared.admin", "--stack-dir", str(stack.state_dir), *args],
        cwd=stack.root,
        env={**_env(), "PYTHONPATH": str(REPO)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


async def _delivered(control: str, handle: str) -> bool:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=control) as http:
        while time.monotonic() < deadline:
            records = (await http.get("/records", params={"platform": "apns"})).json()
            if any(r["handle"] == handle for r in records["records"]):
                return True
            await asyncio.sleep(0.2)
    return False


async def test_the_local_stack_serves_the_demo_hub_over_https(stack: RunningStack) -> None:
    _, https_port, control_port = stack.ports
    full = parse_connection_string(stack.printed["FULL_CONNECTION_STRING"])
    assert stack.printed["HUB"] == "demo"
    assert full.endpoint == f"sb://localhost:{https_port}/"
    assert "LISTEN_CONNECTION_STRING" in stack.printed
    root = f"https://localhost:{https_port}/"
    token = generate_sas_token(
        root, key_name=full.key_name, key=full.key, expiry=int(time.time()) + 300
    )
    ca = ssl.create_default_context(cafile=stack.state_dir / "tls" / "ca.pem")
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
    # The simulators' control API is on the port given, printed, and in stack.json, so a
    # saved /records URL keeps working; the demo hub's credentials reach the simulators.
    control = f"http://127.0.0.1:{control_port}"
    assert f"{control}/records" in stack.log()
    assert json.loads((stack.state_dir / "stack.json").read_text())["control"] == control
    assert await _delivered(control, HANDLE)
    # The dashboard is linked from the printed output, and served there.
    port = stack.ports[0]
    dashboard = f"http://127.0.0.1:{port}/dashboard"
    assert f"Watch it: {dashboard}" in stack.log()
    async with httpx.AsyncClient() as http:
        page = await http.get(dashboard)
    assert page.status_code == 200
    assert "dashboard?asset=app.js" in page.text


def test_a_second_start_says_so_in_one_line_and_leaves_the_stack_alone(
    stack: RunningStack,
) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in stack.state_dir.iterdir()}
    again = subprocess.run(
        stack.args(), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 1
    assert again.stdout == ""
    (line,) = again.stderr.splitlines()
    assert line.startswith("error: Herald is already running here")
    assert f"pid {stack.process.pid}" in line
    # Nothing of the running stack's was touched: host.json is still there, and it answers.
    assert {p.name: p.stat().st_mtime_ns for p in stack.state_dir.iterdir()} == before
    assert (stack.state_dir / "host.json").exists()
    assert httpx.get(f"http://127.0.0.1:{stack.ports[0]}/health").status_code == 200


def test_a_start_with_a_port_taken_says_which_in_one_line(stack: RunningStack) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = (free_port(), port, free_port())
        done = subprocess.run(
            stack.args(ports=ports, state="elsewhere"),
            cwd=REPO,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: Port {port} on 127.0.0.1 is taken")
    assert "--https-port" in line
    assert not (stack.root / "elsewhere" / "host.json").exists()


def test_import_and_export_against_the_printed_connection_string(stack: RunningStack) -> None:
    devices = stack.root / "devices.jsonl"
    lines = [
        json.dumps({"installationId": f"cli{n}", "platform": "apns", "pushChannel": HANDLE})
        for n in range(40)
    ]
    devices.write_text("\n".join([*lines, "not json", ""]))
    connection = stack.printed["FULL_CONNECTION_STRING"]

    # https with the stack's own CA, found through --stack-dir: no certificate error.
    first = herald(
        stack, "import", "demo", "--connection-string", connection, "--input", str(devices)
    )
    assert first.returncode == 1, first.stderr  # one line failed
    counts = json.loads(first.stdout)
    assert (counts["created"], counts["unchanged"], counts["failed"]) == (40, 0, 1)
    assert "failed: line 41: not JSON" in first.stderr
    assert "Traceback" not in first.stderr

    # Again, over the stack's plain-http port: everything is unchanged.
    devices.write_text("\n".join(lines))
    second = herald(
        stack,
        "import",
        "demo",
        "--connection-string",
        connection,
        "--input",
        str(devices),
        "--http",
    )
    assert second.returncode == 0, second.stderr
    counts = json.loads(second.stdout)
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 0, 40)
    assert "importing" in second.stderr  # the progress bar

    out = stack.root / "out.jsonl"
    exported = herald(stack, "export", "demo", "--connection-string", connection, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    ids = {json.loads(line)["installationId"] for line in out.read_text().splitlines()}
    assert {f"cli{n}" for n in range(40)} <= ids
    assert json.loads(exported.stdout)["exported"] == len(ids)


def test_cli_failures_are_one_line_that_says_what_to_do(stack: RunningStack) -> None:
    connection = stack.printed["FULL_CONNECTION_STRING"]
    out = str(stack.root / "never.jsonl")
    elsewhere = stack.root / "no-stack"
    here, elsewhere = str(stack.state_dir), str(stack.root / "no-stack")
    wrong_port = connection.replace(str(stack.ports[1]), str(free_port()))
    export = ["export", "demo", "--out", out, "--connection-string"]
    cases = {
        # Another folder, no stack known: the development CA is not trusted.
        "does not trust": [elsewhere, *export, connection],
        # The https port over plain http, no stack known: the server hangs up.
        "leave out --http": [elsewhere, *export, connection, "--http"],
        "nothing answers": [here, *export, wrong_port],
        "Herald answered 401": [here, *export, connection[:-6] + "AAAAA="],
        "no policy 'Nope'": [here, "sas-token", "demo", "--policy", "Nope", "--uri", "x"],
        "does not exist": [here, "show", "no-such-hub"],
    }
    for says, (stack_dir, *args) in cases.items():
        done = subprocess.run(
            [sys.executable, "-m", "shared.admin", "--stack-dir", stack_dir, *args],
            cwd=stack.root,
            env={**_env(), "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert done.returncode == 1, (says, done.stderr)
        assert len(errors) == 1, (says, done.stderr)
        assert says in errors[0], (says, done.stderr)
        assert "Traceback" not in done.stderr


def test_create_names_the_stack_endpoint_and_credentials_are_checked_when_set(
    stack: RunningStack,
) -> None:
    created = herald(stack, "create", "clihub")
    assert created.returncode == 0, created.stderr
    strings = json.loads(created.stdout)["connectionStrings"]
    https_port = stack.ports[1]
    assert all(f"Endpoint=sb://localhost:{https_port}/;" in s for s in strings.values())

    # NH's names, as NH's ARM template holds them, are taken; a missing field is refused.
    service_account = json.loads((stack.state_dir / "pns" / "fcm-service-account.json").read_text())
    arm = {
        "fcmV1Credential": {
            "properties": {
                "projectId": service_account["project_id"],
                "clientEmail": service_account["client_email"],
                "privateKey": service_account["private_key"],
            }
        }
    }
    taken = herald(stack, "set-credential", "clihub", "fcmv1", stdin=json.dumps(arm))
    assert taken.returncode == 0, taken.stderr
    assert "fcmv1" in json.loads(taken.stdout)
    refused = herald(
        stack, "set-credential", "clihub", "apns", stdin=json.dumps({"keyId": "K", "teamId": "T"})
    )
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: APNs credentials: unknown field(s) teamId; the fields are bundle_id, "
        "certificate, certificate_password, endpoint, key_id, signing_key, team_id (or NH's: "
        "apnsCertificate, appId, appName, certificateKey, keyId, thumbprint, token)."
    )
    p8 = stack.root / "AuthKey.p8"
    p8.write_text("not a key")
    flags = [
        "--p8",
        str(p8),
        "--key-id",
        "KEY1234567",
        "--team-id",
        "TEAM123456",
        "--bundle-id",
        "b",
    ]
    bad_key = herald(stack, "set-credential", "clihub", "apns", *flags)
    assert bad_key.returncode == 1
    assert "the .p8 key" in bad_key.stderr
    shown = json.loads(herald(stack, "show", "clihub").stdout)
    assert set(shown["credentials"]) == {"fcmv1"}  # nothing stored for the refused ones
