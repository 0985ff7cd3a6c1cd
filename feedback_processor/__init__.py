"""Timer: apply PNS feedback, expire installations, finish interrupted registry writes."""

import azure.functions as func


async def main(timer: func.TimerRequest) -> None:
    raise NotImplementedError("feedback processing is not available in this version")
