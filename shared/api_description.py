"""``GET /openapi.yaml``: Herald's API description (docs/openapi.yaml), served as it is.

The file ships with the app (.funcignore and .dockerignore keep it), and is read once per
process. No key is needed: it describes the API, it holds no secret.
"""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

from shared.http import HttpAnswer, HttpRequestData

DESCRIPTION = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
MEDIA_TYPE = "application/yaml; charset=utf-8"


@cache
def _description() -> bytes:
    return DESCRIPTION.read_bytes()


async def describe_api(request: HttpRequestData) -> HttpAnswer:
    body = await asyncio.to_thread(_description)
    return HttpAnswer(200, body, {"Content-Type": MEDIA_TYPE, "Cache-Control": "max-age=300"})
