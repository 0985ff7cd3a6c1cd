"""The dashboard's files: each served with its type and a policy that lets it load nothing from
another origin; an unknown asset is NH's 404."""

from __future__ import annotations

import pytest

from shared.dashboard.page import serve_dashboard
from shared.errors import NotFoundError
from shared.http import HttpRequestData


def _get(query: dict[str, str]) -> HttpRequestData:
    return HttpRequestData("GET", "http://127.0.0.1/dashboard", {}, query, {}, b"")


@pytest.mark.parametrize(
    ("query", "media_type", "start"),
    [
        ({}, "text/html", b"<!doctype html>"),
        ({"asset": "app.js"}, "text/javascript", b"//"),
        ({"asset": "charts.js"}, "text/javascript", b"//"),
        ({"asset": "style.css"}, "text/css", b":root"),
    ],
)
async def test_each_file_is_served_with_its_type(
    query: dict[str, str], media_type: str, start: bytes
) -> None:
    answer = await serve_dashboard(_get(query))
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith(media_type)
    assert answer.body.startswith(start)
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy


async def test_the_page_names_only_its_own_assets() -> None:
    page = (await serve_dashboard(_get({}))).body.decode()
    assert "http:" not in page
    assert "https:" not in page
    assert "//" not in page.replace("<!doctype html>", "")


@pytest.mark.parametrize("asset", ["index.html", "../page.py", "app"])
async def test_an_unknown_asset_is_404(asset: str) -> None:
    with pytest.raises(NotFoundError):
        await serve_dashboard(_get({"asset": asset}))
