"""POST /{hub}/messages/{notificationId}/events: an app reports an open or an action.

The folder sorts before send_notification, whose ``{hub}/messages/{*path}`` would otherwise
take this route (the host tries routes in function-name order)."""

import azure.functions as func

from shared.engagement.api import handle_events
from shared.functions_http import serve


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, handle_events)
