"""Start and stop Azurite (the npm package pinned in package.json) on loopback."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key: public, and valid only against the emulator.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def development_connection_string(
    blob: int, queue: int, table: int, host: str = "127.0.0.1"
) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{host}:{blob}/{ACCOUNT};"
        f"QueueEndpoint=http://{host}:{queue}/{ACCOUNT};"
        f"TableEndpoint=http://{host}:{table}/{ACCOUNT};"
    )


def blob_origin(connection_string: str) -> str:
    """The blob service of a connection string as ``host:port`` (what a job's container URIs
    name when they point at Azurite)."""
    fields = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
    return urlsplit(fields["BlobEndpoint"]).netloc


def _azurite_script(repo: Path) -> Path:
    script = repo / "node_modules" / "azurite" / "dist" / "src" / "azurite.js"
    if not script.is_file():
        raise FileNotFoundError(f"Azurite is not installed: run `npm ci` in {repo}")
    return script


@dataclass
class Azurite:
    """A running Azurite process; stopped by its own PID, never by name."""

    process: subprocess.Popen[bytes]
    connection_string: str
    _log: tempfile._TemporaryFileWrapper[bytes]

    @classmethod
    async def start(cls, repo: Path, location: Path | None = None) -> Azurite:
        node = shutil.which("node")
        if node is None:
            raise FileNotFoundError("Node.js is needed to run Azurite")
        ports = [free_port() for _ in range(3)]
        args = [
            node,
            str(_azurite_script(repo)),
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--blobHost=127.0.0.1",
            "--queueHost=127.0.0.1",
            "--tableHost=127.0.0.1",
            f"--blobPort={ports[0]}",
            f"--queuePort={ports[1]}",
            f"--tablePort={ports[2]}",
        ]
        if location is None:
            args.append("--inMemoryPersistence")
        else:
            location.mkdir(parents=True, exist_ok=True)
            args.append(f"--location={location}")
        log = tempfile.NamedTemporaryFile(prefix="azurite-", suffix=".log")
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        azurite = cls(process, development_connection_string(ports[0], ports[1], ports[2]), log)
        try:
            await azurite._wait_listening(ports)
        except BaseException:
            azurite.stop()
            raise
        return azurite

    async def _wait_listening(self, ports: list[int], timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        for port in ports:
            while True:
                if self.process.poll() is not None:
                    error = Path(self._log.name).read_text(errors="replace")
                    raise RuntimeError(f"Azurite exited at startup: {error.strip()}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    if asyncio.get_running_loop().time() > deadline:
                        raise TimeoutError(f"Azurite did not listen on {port}") from None
                    await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
