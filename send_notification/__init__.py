"""POST /{hub}/messages (+ $batch, ?test, ?direct); GET /{hub}/messages/{notificationId}."""

from typing import List  # noqa: UP035 (see Messages below)

import azure.functions as func

from shared.functions_http import serve_enqueuing
from shared.messages import handle_messages

# Azure's worker accepts typing.List in output annotations but refuses list[str].
Messages = List[str]  # noqa: UP006


async def main(req: func.HttpRequest, fanout: func.Out[Messages]) -> func.HttpResponse:
    return await serve_enqueuing(req, fanout, handle_messages)
