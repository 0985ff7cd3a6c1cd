"""POST /{hub}/schedulednotifications; DELETE /{hub}/schedulednotifications/{id} cancels."""

import azure.functions as func

from shared.functions_http import serve
from shared.messages import handle_scheduled


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, handle_scheduled)
