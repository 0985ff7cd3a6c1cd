"""HTTP triggers through the emulator: routes, constraints, methods, keys, outputs."""

from __future__ import annotations

import asyncio
import contextlib
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import httpx
import pytest

from support.processes import HostProcess

from .conftest import HOST_KEY


async def test_route_parameters_reach_the_function(host: HostProcess) -> None:
    async with httpx.AsyncClient(base_url=host.url) as client:
        response = await client.post(
            "/api/items/shoes/42?colour=red",
            content=b"hello",
            headers={"x-functions-key": HOST_KEY},
        )
    assert response.status_code == 200
    assert response.headers["x-echo"] == "1"
    assert response.json() == {
        "method": "POST",
        "route": {"category": "shoes", "id": "42"},
        "query": {"colour": "red"},
        "body": "hello",
        "function": "http_items",
    }


async def test_optional_parameter_may_be_left_out(host: HostProcess) -> None:
    async with httpx.AsyncClient(base_url=host.url) as client:
        response = await client.get("/api/items/hats", params={"code": HOST_KEY})
    assert response.status_code == 200
    assert response.json()["route"] == {"category": "hats"}


@pytest.mark.parametrize("path", ["/api/items/sh0es/1", "/api/items/shoes/x", "/items/shoes/1"])
async def test_constraint_or_prefix_mismatch_is_404(host: HostProcess, path: str) -> None:
    async with httpx.AsyncClient(base_url=host.url) as client:
        response = await client.get(path, headers={"x-functions-key": HOST_KEY})
    assert response.status_code == 404


async def test_method_not_listed_is_not_routed(host: HostProcess) -> None:
    async with httpx.AsyncClient(base_url=host.url) as client:
        response = await client.delete("/api/items/shoes/1", headers={"x-functions-key": HOST_KEY})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("headers", "params", "status"),
    [
        ({}, {}, 401),
        ({"x-functions-key": "wrong"}, {}, 401),
        ({}, {"code": "wrong"}, 401),
        ({"x-functions-key": HOST_KEY}, {}, 200),
        ({}, {"code": HOST_KEY}, 200),
        ({"x-functions-key": "test-master-key"}, {}, 200),
    ],
)
async def test_function_level_routes_need_a_key(
    host: HostProcess, headers: dict[str, str], params: dict[str, str], status: int
) -> None:
    async with httpx.AsyncClient(base_url=host.url) as client:
        response = await client.get("/api/items/shoes", headers=headers, params=params)
    assert response.status_code == status


async def test_sync_handler_with_named_http_output_and_catch_all(host: HostProcess) -> None:
    async with httpx.AsyncClient(base_url=host.url) as client:
        response = await client.put("/api/sync/a/b%20c")
    assert response.status_code == 201
    # A plain def runs on the worker's thread pool, never on the host's event loop thread.
    assert response.text == "rest=a/b c;main_thread=False"


async def test_a_failing_function_answers_500(host: HostProcess) -> None:
    async with httpx.AsyncClient(base_url=host.url) as client:
        response = await client.post("/api/enqueue", content=b"not json")
    assert response.status_code == 500
    assert "Executed 'http_enqueue'" in host.log()


async def test_admin_status_needs_the_master_key(host: HostProcess) -> None:
    async with httpx.AsyncClient(base_url=host.url) as client:
        denied = await client.get("/admin/host/status", headers={"x-functions-key": HOST_KEY})
        allowed = await client.get(
            "/admin/host/status", headers={"x-functions-key": host.master_key}
        )
    assert denied.status_code == 401
    assert allowed.status_code == 200
    assert "counter" in allowed.json()["functions"]


@pytest.mark.parametrize(
    ("method", "function"),
    [
        # order_any sorts first, so its catch-all takes the path from the more specific route,
        ("POST", "order_any"),
        # unless its methods leave the request to the next route in name order.
        ("GET", "order_exact"),
    ],
)
async def test_routes_are_tried_in_function_name_order(
    host: HostProcess, method: str, function: str
) -> None:
    """As the Functions host tries them; it does not rank routes by ASP.NET precedence."""
    async with httpx.AsyncClient(base_url=host.url) as client:
        response = await client.request(method, "/api/order/exact")
    assert (response.status_code, response.text) == (200, function)


def xml_error(status: int, raw: bytes) -> None:
    """The host's own refusal: the status, and NH's error shape, which the app's clients read."""
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b" ", 2)[1] == str(status).encode(), head
    assert b"content-type: application/xml" in head.lower(), head
    root = ET.fromstring(body)
    assert root.tag == "Error"
    assert root.findtext("Code") == str(status)
    assert ".TrackingId:" in (root.findtext("Detail") or "")


async def exchange(host: HostProcess, request: bytes) -> bytes:
    """Send raw bytes (nothing a client library would refuse to send) and read the answer."""
    address = urlsplit(host.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("status", "request_bytes"),
    [
        (414, b"GET /api/sync/" + b"a" * 4100 + b" HTTP/1.1\r\nHost: h\r\n\r\n"),
        (414, b"GET /api/sync/a?q=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: h\r\n\r\n"),
        (431, b"GET /api/sync/a HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 33_000 + b"\r\n\r\n"),
        (
            431,
            b"GET /api/sync/a HTTP/1.1\r\nHost: h\r\n"
            + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 8000) for i in range(5))
            + b"\r\n",
        ),
        (
            431,
            b"GET /api/sync/a HTTP/1.1\r\nHost: h\r\n"
            + b"".join(b"X-%d: a\r\n" % i for i in range(101))
            + b"\r\n",
        ),
        (413, b"PUT /api/sync/a HTTP/1.1\r\nHost: h\r\nContent-Length: 104857601\r\n\r\nab"),
        (400, b"G@T /api/sync/a HTTP/1.1\r\nHost: h\r\n\r\n"),
        (400, b"GET /api/sync/a HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\n\r\n"),
    ],
    ids=[
        "long-path",
        "long-query",
        "big-header",
        "big-headers",
        "many-headers",
        "big-body",
        "bad-method",
        "control-char",
    ],
)
async def test_requests_over_the_host_limits_get_an_xml_error(
    host: HostProcess, status: int, request_bytes: bytes
) -> None:
    xml_error(status, await exchange(host, request_bytes))


async def test_a_chunked_body_over_the_limit_is_413(host: HostProcess) -> None:
    chunk = b"a" * (1024 * 1024)
    address = urlsplit(host.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(b"PUT /api/sync/a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        with contextlib.suppress(ConnectionError):  # the host may answer and close mid-body
            for _ in range(101):
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
    xml_error(413, answer)


async def test_requests_within_the_limits_reach_the_function(host: HostProcess) -> None:
    headers = {f"X-{i}": "a" * 300 for i in range(90)}  # 90 headers, 27 KB
    async with httpx.AsyncClient(base_url=host.url) as client:
        response = await client.put(
            "/api/sync/" + "a" * 4000, headers=headers, content=b"x" * (8 * 1024 * 1024)
        )
    assert response.status_code == 201
