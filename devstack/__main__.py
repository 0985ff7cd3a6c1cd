"""``python -m devstack``: run Herald locally (see the package docstring)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from devstack.claim import StackRefused
from devstack.stack import Stack, StackOptions


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--https-port", type=int, default=7072)
    parser.add_argument(
        "--control-port", type=int, default=7073, help="the PNS simulators' control API"
    )
    parser.add_argument("--hub", default="demo")
    parser.add_argument("--state-dir", type=Path, default=Path(".runtime"))
    parser.add_argument("--azurite-location", type=Path, default=Path(".azurite"))
    parser.add_argument("--settings-file", type=Path, default=Path("local.settings.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)
    options = StackOptions(
        port=args.port,
        https_port=args.https_port,
        hub=args.hub,
        state_dir=args.state_dir.resolve(),
        azurite_location=args.azurite_location.resolve(),
        settings_file=args.settings_file.resolve(),
        control_port=args.control_port,
    )

    async def run() -> None:
        stack = Stack(options)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stack.stop)
        await stack.run()

    try:
        asyncio.run(run())
    except StackRefused as refused:
        print(f"error: {refused}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
