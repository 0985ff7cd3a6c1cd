"""``python -m emulator``: run a Functions app locally, starting Azurite when needed."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
from pathlib import Path

from emulator.host import Host, HostOptions
from emulator.http_host import HostKeys
from emulator.queues import DEFAULT_LEASE_SECONDS


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--app-dir", type=Path, default=Path.cwd(), help="the Functions app root")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=7071, help="port (0 picks a free one)")
    parser.add_argument(
        "--azurite-location",
        type=Path,
        help="keep Azurite's data in this folder (default: in memory)",
    )
    parser.add_argument("--master-key", default=os.environ.get("HERALD_EMULATOR_MASTER_KEY"))
    parser.add_argument(
        "--host-key",
        action="append",
        default=[],
        help="a key every authLevel=function route accepts (repeatable)",
    )
    parser.add_argument("--ready-file", type=Path, help="write the host's address here as JSON")
    parser.add_argument("--https-port", type=int, help="also serve HTTPS on this port")
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate (chain) for HTTPS")
    parser.add_argument("--tls-key", type=Path, help="PEM private key for HTTPS")
    parser.add_argument(
        "--queue-lease-seconds",
        type=int,
        default=DEFAULT_LEASE_SECONDS,
        help="how long a running queue message stays invisible, renewed at half; a killed "
        "host's messages come back after this (default: %(default)s)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args()


async def _main(arguments: argparse.Namespace) -> None:
    keys = HostKeys(
        master=arguments.master_key or secrets.token_urlsafe(32), host=tuple(arguments.host_key)
    )
    host = Host(
        HostOptions(
            app_dir=arguments.app_dir,
            host=arguments.host,
            port=arguments.port,
            azurite_location=arguments.azurite_location,
            keys=keys,
            ready_file=arguments.ready_file,
            https_port=arguments.https_port,
            tls_cert=arguments.tls_cert,
            tls_key=arguments.tls_key,
            queue_lease_seconds=arguments.queue_lease_seconds,
        )
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, host.stop)
    await host.run()
    # The app's own clients live until the process ends, as under Azure's worker; their
    # "unclosed" complaints at exit say nothing about the app.
    loop.set_exception_handler(_ignore_unclosed_at_exit)


def _ignore_unclosed_at_exit(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    if not str(context.get("message", "")).startswith("Unclosed"):
        loop.default_exception_handler(context)


def main() -> None:
    arguments = _parse()
    logging.basicConfig(
        level=arguments.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    asyncio.run(_main(arguments))


if __name__ == "__main__":
    main()
