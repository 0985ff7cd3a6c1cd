"""HTTP triggers through the emulator: routes, constraints, methods, keys, outputs."""

from __future__ import annotations

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
