"""Before ``make run`` touches anything: is a stack already running here, is a port taken?

A running stack holds an exclusive lock on ``{state dir}/devstack.lock`` for its lifetime (the
kernel drops it when the process dies, however it dies), with its pid written inside. A second
start finds the lock held and stops with one line, leaving the running stack's files alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import IO

LOCK_FILE = "devstack.lock"


class StackRefused(Exception):
    """The stack cannot start here; the message says why and what to do, in one line."""


def claim_state_dir(state_dir: Path, describe_running: str) -> IO[str]:
    """The held lock of ``state_dir``; keep it open while the stack runs."""
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = (state_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        pid = lock.read().strip() or "?"
        lock.close()
        raise StackRefused(
            f"Herald is already running here (pid {pid}{describe_running}); stop it with "
            f"Ctrl-C in its terminal (or kill {pid}), or give this one another --state-dir."
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def check_ports_free(ports: Iterable[tuple[str, int]], host: str = "127.0.0.1") -> None:
    """Raise StackRefused naming the first of ``(flag, port)`` another program listens on."""
    for flag, port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As the servers themselves bind: a port a closed server left in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                raise StackRefused(
                    f"Port {port} on {host} is taken by another program; free it, or start with "
                    f"another port ({flag} {port + 10}, or `make run` with the matching "
                    "PORT, HTTPS_PORT or SIM_PORT)."
                ) from None


def release(lock: IO[str]) -> None:
    with contextlib.suppress(OSError):
        lock.close()
