"""The bridge from azure.functions requests: text reaches the handlers as whole Unicode."""

from __future__ import annotations

import json

import azure.functions as func
from hypothesis import given
from hypothesis import strategies as st

from shared.functions_http import request_data


def test_undecodable_header_bytes_arrive_as_replacement_characters() -> None:
    """A host hands over bytes that are not UTF-8 as surrogates (surrogateescape); nothing can
    store or log those, so a non-UTF-8 pass-through header used to be a 500."""
    raw = b"\xff\xfe".decode("utf-8", "surrogateescape")
    req = func.HttpRequest(
        "POST",
        "http://h/hub/messages",
        headers={"apns-collapse-id": raw},
        params={"q": "\udcff"},
        route_params={"hub": "a\ud800"},
        body=b"",
    )
    data = request_data(req)
    assert data.headers["apns-collapse-id"] == "\ufffd\ufffd"
    assert data.query == {"q": "\ufffd"}
    assert data.route == {"hub": "a\ufffd"}


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=20), max_size=5))
def test_any_header_text_can_be_stored_as_utf8(headers: dict[str, str]) -> None:
    req = func.HttpRequest("GET", "http://h/x", headers=headers, body=b"")
    json.dumps(dict(request_data(req).headers), ensure_ascii=False).encode()
