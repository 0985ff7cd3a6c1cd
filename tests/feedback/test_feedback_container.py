"""NH's GET /{hub}/feedbackcontainer, read the way NH users read it: with a Blob client."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
from azure.core.exceptions import HttpResponseError
from azure.storage.blob.aio import ContainerClient
from sending.conftest import Stack

from support.processes import HostProcess

from .conftest import container_url, read_container, run_timer

ENTRY = "application/xml;type=entry;charset=utf-8"  # what the NH JS SDK sends
NS = "{http://schemas.microsoft.com/netservices/2010/10/servicebus/connect}"


async def test_a_blob_client_reads_the_day_s_feedback(stack: Stack, app: HostProcess) -> None:
    async with stack.nh.client() as http:
        device = await stack.device("apns")
        await stack.register(http, device)
        await stack.sims.control.mark_handle("apns", device.sim_key, "dead")
        notification = await stack.send(http, '{"aps":{"alert":"hi"}}', "apple")
        await stack.finished(http, notification)
    await run_timer(app)

    url = await container_url(stack)
    blobs = await read_container(url)

    day = datetime.now(UTC).strftime("%m%d%Y")
    assert list(blobs) == [day]
    await assert_a_reversed_range_is_416(url, day, len(blobs[day]))
    (line,) = blobs.popitem()[1].decode().splitlines()
    record = ET.fromstring(line)
    assert record.tag == f"{NS}PnsFeedback"
    assert record.findtext(f"{NS}NotificationSystemError") == "ExpiredChannel"
    assert record.findtext(f"{NS}Platform") == "apns"
    assert record.findtext(f"{NS}PnsHandle") == device.sim_key
    assert record.findtext(f"{NS}InstallationId") == device.installation_id
    assert record.findtext(f"{NS}NotificationId") == notification
    assert record.findtext(f"{NS}FeedbackTime")


async def test_the_container_url_is_signed_and_needs_manage(stack: Stack, app: HostProcess) -> None:
    url = await container_url(stack)
    scheme, netloc, path, query, _ = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(query).items()}
    forged = urlunsplit((scheme, netloc, path, urlencode({**params, "sig": "AAAA"}), ""))
    async with ContainerClient.from_container_url(forged) as container:
        try:
            _ = [blob async for blob in container.list_blobs()]
            refused = 0
        except HttpResponseError as error:
            refused = error.status_code or 0
    assert refused == 403
    async with stack.nh.client() as http:
        listen = await http.get("/feedbackcontainer", headers=stack.nh.as_listen().headers())
        anonymous = await http.get("/feedbackcontainer")
    assert listen.status_code == 403
    assert anonymous.status_code == 401
    assert httpx.URL(url).path == f"/{stack.nh.hub.name}/feedbackcontainer"


async def assert_a_reversed_range_is_416(url: str, blob: str, length: int) -> None:
    """A range that ends before it starts was a 206 with an empty body; Blob Storage answers
    416 InvalidRange with the blob's length, and Blob clients read that."""
    scheme, netloc, path, query, _ = urlsplit(url)
    blob_url = urlunsplit((scheme, netloc, f"{path}/{blob}", query, ""))
    async with httpx.AsyncClient() as http:
        response = await http.get(blob_url, headers={"Range": "bytes=5-2"})
    assert response.status_code == 416
    assert response.headers["x-ms-error-code"] == "InvalidRange"
    assert response.headers["Content-Range"] == f"bytes */{length}"
    assert ET.fromstring(response.content).findtext("Code") == "InvalidRange"
