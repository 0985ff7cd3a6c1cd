"""Queue `fanout`: plan a send, then walk and deliver it page by page, shard by shard."""

from typing import List  # noqa: UP035 (see Messages below)

import azure.functions as func

from shared.fanout.worker import handle_fanout

# Azure's worker accepts typing.List in output annotations but refuses list[str].
Messages = List[str]  # noqa: UP006


async def main(msg: func.QueueMessage, follow: func.Out[Messages]) -> None:
    messages = await handle_fanout(msg.get_body(), msg.id or "")
    if messages:
        follow.set(messages)
