"""Queue `deliveries`: send one retry batch (the throttled or failed part of a step)."""

import azure.functions as func

from shared.fanout.worker import handle_retry


async def main(msg: func.QueueMessage) -> None:
    await handle_retry(msg.get_body(), msg.id or "")
