"""Queue `deliveries-poison`: a retry batch that failed every attempt is finished without
sending, its devices counted and named."""

import azure.functions as func

from shared.fanout.poison import handle_retry_poison


async def main(msg: func.QueueMessage) -> None:
    await handle_retry_poison(msg.get_body(), msg.id or "")
