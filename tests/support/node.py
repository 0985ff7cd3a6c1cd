"""Node scripts (the NH JS SDK, the legacy azure-sb, the dashboard's browser driver): run one,
read the JSON it prints."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shared.auth.sas import format_connection_string
from support.processes import REPO
from support.stack import NhCaller

NODE_TIMEOUT = 180.0


def loopback_connection_string(caller: NhCaller, url: str | None = None) -> str:
    """The caller's policy as a connection string for ``sb://127.0.0.1:<port of url>/`` (the
    caller's base URL by default): an IP, which azure-sb's endpoint check accepts."""
    policy = caller.hub.policies[caller.policy]
    port = urlsplit(url or caller.base_url).port
    return format_connection_string(f"sb://127.0.0.1:{port}/", policy.name, policy.primary_key)


async def run_node(
    script: Path,
    *arguments: str,
    env: Mapping[str, str] | None = None,
    timeout: float = NODE_TIMEOUT,
) -> dict[str, Any]:
    """Run ``script`` from the repository root without blocking the event loop (simulators may
    run on it); what it printed, as JSON. A script that fails or hangs fails the test."""
    node = shutil.which("node")
    assert node, "node is needed to run the Node scripts"
    process = await asyncio.create_subprocess_exec(
        node, str(script), *arguments,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=None if env is None else {**os.environ, **env},
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    finally:
        if process.returncode is None:  # timed out or cancelled: never leave node running
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode(errors="replace")
    result: dict[str, Any] = json.loads(out)
    return result
