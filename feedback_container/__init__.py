"""GET /{hub}/feedbackcontainer: NH's feedback container URL, and the blobs read through it."""

import azure.functions as func

from shared.feedback.container import handle_feedback_container
from shared.functions_http import serve


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, handle_feedback_container)
