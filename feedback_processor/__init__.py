"""Timer: apply PNS feedback, expire installations, finish interrupted registry writes."""

import azure.functions as func

from shared.hygiene import run_hygiene


async def main(timer: func.TimerRequest) -> None:
    await run_hygiene()
