"""``python -m emulator.pns [--host H] [--state-dir DIR] [--apns-port P] [--control-port P]
[--reuseport]``

Prints one JSON line of endpoints to stdout once everything listens, then logs to stderr until
SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from emulator.pns.server import DEFAULT_MAX_STREAMS, running_simulators


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator.pns", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state-dir", type=Path, default=None, help="CA, keys, credentials")
    parser.add_argument("--apns-port", type=int, default=0, help="0: a free port")
    parser.add_argument("--control-port", type=int, default=0, help="0: a free port")
    parser.add_argument("--reuseport", action="store_true", help="SO_REUSEPORT on the APNs port")
    parser.add_argument("--max-concurrent-streams", type=int, default=DEFAULT_MAX_STREAMS)
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_simulators(
        args.host,
        args.state_dir,
        apns_port=args.apns_port,
        reuseport=args.reuseport,
        max_concurrent_streams=args.max_concurrent_streams,
        control_port=args.control_port,
    ) as sims:
        sys.stdout.write(json.dumps(sims.endpoints.to_json()) + "\n")
        sys.stdout.flush()
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level, format="%(asctime)s %(name)s %(message)s"
    )
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
