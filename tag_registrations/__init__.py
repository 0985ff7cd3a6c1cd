"""GET /{hub}/tags/{tag}/registrations: the registrations a tag selects (Manage)."""

import azure.functions as func

from shared.functions_http import serve
from shared.registrations.api import handle_tag_registrations


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, handle_tag_registrations)
