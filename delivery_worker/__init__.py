"""Queue `deliveries`: send one batch to one PNS credential and record the outcomes."""

import azure.functions as func


async def main(msg: func.QueueMessage) -> None:
    raise NotImplementedError("delivery is not available in this version")
