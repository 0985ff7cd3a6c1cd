"""Any method, any path no other function takes: NH's 404 instead of the host's empty one.

The host tries routes in function-name order, so this folder's name must sort after every
other HTTP function's (infra/check_function_json.py checks it).
"""

import azure.functions as func

from shared.functions_http import serve
from shared.unmatched import answer_unmatched


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, answer_unmatched)
