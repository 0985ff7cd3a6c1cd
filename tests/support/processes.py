"""Start the emulator host as a real subprocess on a free port; stop it by its PID."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from emulator.pns.certs import CertPaths

REPO = Path(__file__).resolve().parents[2]


@dataclass
class HostProcess:
    process: subprocess.Popen[bytes]
    url: str
    master_key: str
    log_path: Path
    https_url: str | None = None  # only when started with a certificate

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish what it holds."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def spawn_host(
    app_dir: Path,
    env: Mapping[str, str],
    *,
    host_keys: tuple[str, ...] = (),
    master_key: str = "test-master-key",
    queue_lease_seconds: int | None = None,
    tls: CertPaths | None = None,
    timeout: float = 60.0,
) -> HostProcess:
    workdir = Path(tempfile.mkdtemp(prefix="herald-host-"))
    ready = workdir / "ready.json"
    log_path = workdir / "host.log"
    args = [
        sys.executable, "-m", "emulator",
        "--app-dir", str(app_dir),
        "--port", "0",
        "--ready-file", str(ready),
        "--master-key", master_key,
    ]  # fmt: skip
    for key in host_keys:
        args += ["--host-key", key]
    if queue_lease_seconds is not None:
        args += ["--queue-lease-seconds", str(queue_lease_seconds)]
    if tls is not None:
        args += [
            "--https-port", "0", "--tls-cert", str(tls.cert_file), "--tls-key", str(tls.key_file),
        ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, cwd=REPO, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    host = HostProcess(process, "", master_key, log_path)
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            host.stop()
            raise RuntimeError(f"the host did not start:\n{host.log()}")
        time.sleep(0.05)
    announced = json.loads(ready.read_text())
    host.url, host.https_url = announced["url"], announced["https_url"]
    return host


@contextmanager
def running_host(app_dir: Path, env: Mapping[str, str], **options: object) -> Iterator[HostProcess]:
    host = spawn_host(app_dir, env, **options)  # type: ignore[arg-type]
    try:
        yield host
    finally:
        host.stop()
        shutil.rmtree(host.log_path.parent, ignore_errors=True)  # its log and ready file
