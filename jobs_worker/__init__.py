"""Queue `jobs`: one bounded step of an import or export job, then the next step's message."""

from typing import List  # noqa: UP035 (see Messages below)

import azure.functions as func

from shared.jobs.worker import handle_job_step

# Azure's worker accepts typing.List in output annotations but refuses list[str].
Messages = List[str]  # noqa: UP006


async def main(msg: func.QueueMessage, follow: func.Out[Messages]) -> None:
    messages = await handle_job_step(msg.get_body(), msg.dequeue_count or 1)
    if messages:
        follow.set(messages)
