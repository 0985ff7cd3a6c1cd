"""What ``make run`` tells the tools about the stack it runs: ``.runtime/stack.json``.

The stack writes it once everything answers and removes it when it stops; the admin command
reads it to reach the stack's storage, trust its development CA and name its endpoint.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STACK_FILE = "stack.json"
RUNTIME_DIR = Path(".runtime")


@dataclass(frozen=True)
class LocalStack:
    pid: int  # the `make run` process
    storage: str  # Azurite's connection string
    url: str  # the Functions host over http
    https_url: str  # and over https, with the development CA
    endpoint: str  # what connection strings name: sb://localhost:{https port}/
    ca_file: str  # the development CA that signed the https certificate
    hub: str  # the demo hub
    control: str  # the PNS simulators' control API (/records, /faults)
    settings_file: str  # the local.settings.json the stack's app reads

    @classmethod
    def read(cls, state_dir: Path = RUNTIME_DIR) -> LocalStack | None:
        """The record of a stack whose process is alive, else None."""
        path = state_dir / STACK_FILE
        try:
            stack = cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None  # absent, or written by another version: nothing to trust
        return stack if process_alive(stack.pid) else None

    def write(self, state_dir: Path) -> None:
        temporary = state_dir / (STACK_FILE + ".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
        temporary.replace(state_dir / STACK_FILE)

    @staticmethod
    def remove(state_dir: Path) -> None:
        (state_dir / STACK_FILE).unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True
