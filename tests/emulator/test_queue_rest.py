"""The host's own queue client against Azurite: what it writes, the SDK reads, and back."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.storage.queue import AccountSasPermissions, ResourceTypes, generate_account_sas
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from emulator.queue_rest import QUEUE_API_VERSION, Queue, QueueAccount

TEXT = 'a & b < c > d "quoted" — ünïcödé 🚀'


@pytest.fixture
async def account(azurite: str) -> AsyncIterator[QueueAccount]:
    account = QueueAccount(azurite, use_env_settings=False)
    yield account
    await account.close()


def _sdk(azurite: str, name: str) -> QueueClient:
    return QueueClient.from_connection_string(azurite, name, api_version=QUEUE_API_VERSION)


async def test_what_it_sends_the_sdk_receives_whole_and_back(
    azurite: str, account: QueueAccount
) -> None:
    queue = account.queue("rest-both-ways")
    await queue.create()
    await queue.create()  # a queue that exists is fine
    await queue.send(TEXT)
    async with _sdk(azurite, "rest-both-ways") as sdk:
        [message] = [m async for m in sdk.receive_messages()]
        assert message.content == TEXT
        await sdk.delete_message(message)
        await sdk.send_message("from the sdk <&>")
    [received] = await queue.receive(32, 30)
    assert received.content == "from the sdk <&>"
    assert received.dequeue_count == 1
    assert received.inserted_on is not None
    assert received.next_visible_on is not None
    assert received.next_visible_on > datetime.now(UTC) + timedelta(seconds=20)
    assert await queue.receive(32, 30) == []  # invisible while held


async def test_an_update_moves_the_receipt_and_the_old_one_stops_working(
    account: QueueAccount,
) -> None:
    queue = account.queue("rest-update")
    await queue.create()
    await queue.send("x")
    [message] = await queue.receive(1, 30)
    first = message.pop_receipt
    await queue.update(message, 0)  # visible again at once
    assert message.pop_receipt != first
    [again] = await queue.receive(1, 30)
    assert (again.id, again.dequeue_count) == (message.id, 2)
    with pytest.raises(AzureError):
        await queue.delete(message)  # its receipt is stale now
    await queue.delete(again)
    with pytest.raises(ResourceNotFoundError):
        await queue.delete(again)


async def test_a_sas_connection_string_works_and_a_wrong_key_is_refused(
    azurite: str, account: QueueAccount
) -> None:
    service = QueueServiceClient.from_connection_string(azurite)
    sas = generate_account_sas(
        service.credential.account_name,
        service.credential.account_key,
        ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(
            read=True, write=True, add=True, create=True, update=True, process=True, delete=True
        ),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    await service.close()
    with_sas = QueueAccount(f"QueueEndpoint={account.url};SharedAccessSignature={sas}")
    wrong_key = base64.b64encode(b"not the key").decode()
    with_wrong_key = QueueAccount(azurite.replace(service.credential.account_key, wrong_key))
    try:
        queue = with_sas.queue("rest-sas")
        await queue.create()
        await queue.send(TEXT)
        assert [m.content for m in await queue.receive(1, 30)] == [TEXT]
        with pytest.raises(ClientAuthenticationError):
            await Queue(with_wrong_key, "rest-sas").send("nope")
    finally:
        await with_sas.close()
        await with_wrong_key.close()


async def test_server_errors_are_retried_three_times(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("emulator.queue_rest._RETRY_DELAYS", (0, 0, 0))
    statuses = [503, 500, 201, 503, 503, 503, 503]
    seen: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.method)
        return web.Response(status=statuses[len(seen) - 1])

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    account = QueueAccount(f"QueueEndpoint=http://127.0.0.1:{port}/acct;SharedAccessSignature=sv=1")
    try:
        await account.queue("flaky").send("x")  # the third attempt succeeds
        assert seen == ["POST"] * 3
        with pytest.raises(HttpResponseError):
            await account.queue("flaky").send("x")  # four attempts, all 503
        assert len(seen) == 7
    finally:
        await account.close()
        await runner.cleanup()
