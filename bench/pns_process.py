"""What the benchmarks share: the PNS simulators as a process of their own (whose CPU they
read), and a run on a fresh Azurite with a scratch folder."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.azurite import Azurite

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SimulatorProcess:
    pid: int
    endpoints: dict[str, str]  # what ``python -m emulator.pns`` printed


@contextmanager
def watchdog(process: subprocess.Popen[str], seconds: float) -> Iterator[None]:
    """Kill ``process`` (by its handle) if it outlives ``seconds``."""
    timer = threading.Timer(seconds, process.kill)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@contextmanager
def simulators(state_dir: Path) -> Iterator[SimulatorProcess]:
    """``python -m emulator.pns`` on free ports, stopped by its PID at the end. Its endpoints
    are also written to ``state_dir/endpoints.json`` for client subprocesses."""
    command = [sys.executable, "-m", "emulator.pns", "--state-dir", str(state_dir)]
    process = subprocess.Popen(
        [*command, "--log-level", "WARNING"], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        with watchdog(process, 60):
            line = process.stdout.readline()
        if not line:
            raise SystemExit("the PNS simulators did not start")
        (state_dir / "endpoints.json").write_text(line)
        yield SimulatorProcess(process.pid, json.loads(line))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Bench = Callable[[argparse.Namespace, "Azurite", Path], Awaitable[None]]


async def on_fresh_azurite(bench: Bench, args: argparse.Namespace) -> None:
    """Run ``bench`` against an Azurite of its own and a scratch folder; stop both after."""
    from emulator.azurite import Azurite

    azurite = await Azurite.start(REPO)
    try:
        with tempfile.TemporaryDirectory(prefix="herald-bench-") as workdir:
            await bench(args, azurite, Path(workdir))
    finally:
        azurite.stop()
