"""``python -m devstack``: run Herald locally (see the package docstring)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from devstack.stack import Stack, StackOptions


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--https-port", type=int, default=7072)
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
    )

    async def run() -> None:
        stack = Stack(options)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stack.stop)
        await stack.run()

    asyncio.run(run())


if __name__ == "__main__":
    main()
