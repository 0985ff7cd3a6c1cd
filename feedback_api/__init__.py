"""GET /{hub}/feedback: what the feedback processor pruned, when, and why (Manage)."""

import azure.functions as func

from shared.feedback.api import handle_feedback
from shared.functions_http import serve


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, handle_feedback)
