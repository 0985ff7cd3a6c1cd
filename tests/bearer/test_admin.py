"""The admin command's export and import carry a bearer token where they took a connection
string; the token comes on standard input, so it stays off the command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

from support.processes import REPO, HostProcess
from support.stack import create_hub

from .conftest import Bearer, installation


async def _admin(app: HostProcess, token: str, *arguments: str) -> tuple[int, str, str]:
    endpoint = "sb://" + app.url.split("//", 1)[1] + "/"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.admin",
        *arguments,
        "--bearer-token",
        "-",
        "--endpoint",
        endpoint,
        "--http",
        cwd=REPO,
        env=dict(os.environ),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(token.encode() + b"\n")
    return process.returncode or 0, out.decode(), err.decode()


async def test_export_and_import_with_a_bearer_token(
    bearer: Bearer, app: HostProcess, azurite: str, tmp_path: Path
) -> None:
    async with bearer.client() as http:
        for number in range(4):
            put = await http.put(
                f"/installations/x{number}",
                json=installation(f"x{number}"),
                headers=bearer.headers("Herald.Manage"),
            )
            assert put.status_code == 200
    exported = tmp_path / "devices.jsonl"
    manager = bearer.issuer.token(bearer.role("Manage"))
    code, out, err = await _admin(app, manager, "export", bearer.hub, "--out", str(exported))
    assert code == 0, err
    assert json.loads(out)["exported"] == 4

    target = (await create_hub(azurite, f"copy{uuid.uuid4().hex[:10]}")).name
    token = bearer.issuer.token(f"Herald.Manage.{target}")
    code, out, err = await _admin(app, token, "import", target, "--input", str(exported))
    assert code == 0, err
    assert json.loads(out)["created"] == 4


async def test_a_token_without_manage_is_told_so(
    bearer: Bearer, app: HostProcess, tmp_path: Path
) -> None:
    sender = bearer.issuer.token(bearer.role("Send"))
    code, _, err = await _admin(app, sender, "export", bearer.hub, "--out", str(tmp_path / "x"))
    assert code == 1
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: Herald answered 403: ")
    assert "Manage claim is required" in line
