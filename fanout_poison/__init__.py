"""Queue `fanout-poison`: a send's step that failed every attempt is finished without sending,
its unreached devices counted and named, and the shard's walk goes on."""

from typing import List  # noqa: UP035 (see Messages below)

import azure.functions as func

from shared.fanout.poison import handle_fanout_poison

# Azure's worker accepts typing.List in output annotations but refuses list[str].
Messages = List[str]  # noqa: UP006


async def main(msg: func.QueueMessage, follow: func.Out[Messages]) -> None:
    messages = await handle_fanout_poison(msg.get_body(), msg.id or "")
    if messages:
        follow.set(messages)
