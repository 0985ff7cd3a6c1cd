"""The app's function folders bind and run under Microsoft's own Python worker library."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from support.processes import REPO

DRIVER = Path(__file__).with_name("drive_worker.py")
SUCCESS, FAILURE = 1, 0  # StatusResult.Status in the worker's protos


def _runtime_python() -> Path:
    configured = os.environ.get("HERALD_RUNTIME_PYTHON")
    python = Path(configured) if configured else REPO / ".venv-runtime" / "bin" / "python"
    if not python.is_file():
        pytest.fail(
            f"{python} is missing: this check needs Python 3.13 with azure-functions-runtime-v1. "
            "`make test` builds it from a python3.13 it finds (or HERALD_PYTHON313)."
        )
    return python


def test_every_function_loads_and_triggers_bind_under_the_real_worker(azurite: str) -> None:
    env = {
        **os.environ,
        "AzureWebJobsStorage": azurite,
        "HERALD_FEEDBACK_SCHEDULE": "0 */5 * * * *",
    }
    completed = subprocess.run(
        [str(_runtime_python()), str(DRIVER), str(REPO)],
        capture_output=True,
        text=True,
        env=env,
        cwd=DRIVER.parent,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])

    assert report["init"]["status"] == SUCCESS
    function_folders = sorted(p.parent.name for p in REPO.glob("*/function.json"))
    assert sorted(report["loaded"]) == function_folders
    assert all(r["status"] == SUCCESS for r in report["loaded"].values()), report["loaded"]

    health = report["health"]
    assert health["status"] == SUCCESS, health
    assert health["http_status"] == "200"
    assert json.loads(health["body"])["storage"]["reachable"] is True

    # The queue trigger reached our handler, which refuses a message Herald did not write.
    fanout = report["fanout_worker"]
    assert fanout["status"] == FAILURE
    assert "MalformedMessage" in fanout["exception"]
