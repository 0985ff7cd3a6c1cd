"""``herald export --job`` and ``herald import --job``: the admin command runs NH jobs, here to
copy one hub's registrations into another through a Blob container, as a user runs it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from typing import Any

from registrations.wire import apple
from sending.conftest import Stack

from shared.auth.sas import format_connection_string
from shared.hubs.model import FULL_POLICY
from support.processes import REPO, HostProcess
from support.stack import NhCaller, create_hub

from .conftest import Container


def _connection(caller: NhCaller) -> str:
    policy = caller.hub.policies[FULL_POLICY]
    host = caller.base_url.split("//", 1)[1]
    return format_connection_string(f"sb://{host}/", policy.name, policy.primary_key)


async def _admin(caller: NhCaller, *arguments: str) -> tuple[int, Any, str]:
    """Exit code, the JSON it printed and its standard error."""
    command = [*arguments, caller.hub.name, "--connection-string", _connection(caller), "--http"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shared.admin", *command,
        cwd=REPO, env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 180)
    return process.returncode or 0, json.loads(out) if out.strip() else None, err.decode()


async def test_export_and_import_jobs_copy_a_hubs_registrations(
    stack: Stack, app: HostProcess, azurite: str, container: Container
) -> None:
    source = stack.nh
    async with source.client() as http:
        for n in range(5):
            answer = await http.put(
                f"/registrations/copy-{n}",
                content=apple(f"{n + 7:064x}", f"t{n}"),
                headers=source.headers(),
            )
            assert answer.status_code == 200, answer.text

    code, exported, err = await _admin(source, "export", "--job", container.uri())
    assert code == 0, err
    assert exported["status"] == "Completed"
    assert exported["succeeded"] == 5
    assert exported["outputFile"] == f"{source.hub.name}/{exported['jobId']}/Output.txt"

    target = NhCaller(app.url, await create_hub(azurite, f"copy{uuid.uuid4().hex[:10]}"))
    input_uri = container.uri(exported["outputFile"])
    code, imported, err = await _admin(
        target, "import", "--job", container.uri(), "--input-uri", input_uri, "--mode", "create"
    )
    assert code == 0, err
    assert (imported["status"], imported["succeeded"], imported["failed"]) == ("Completed", 5, 0)
    async with target.client() as http:
        listed = await http.get("/registrations", headers=target.headers())
    assert listed.text.count("<AppleRegistrationDescription") == 5

    code, _, err = await _admin(target, "import", "--job", container.uri())
    assert code == 1
    assert "--job needs --input-uri" in err
    code, failed, err = await _admin(target, "export", "--job", container.uri().split("?")[0])
    assert code == 1  # the job failed; its summary says why
    assert failed["status"] == "Failed"
    assert "not a Blob SAS URI" in failed["failure"]
