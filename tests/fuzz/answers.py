"""What every fuzzed answer must be, a raw HTTP client for bytes httpx will not send, and a
count of stored sends to prove a rejected one wrote nothing."""

from __future__ import annotations

import http.client
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient

from shared.store.tables import NOTIFICATIONS

# Examples per hypothesis test; HERALD_FUZZ_EXAMPLES=2000 for a longer hunt.
FUZZ_EXAMPLES = int(os.environ.get("HERALD_FUZZ_EXAMPLES", "60"))
CONTAINER = "feedbackcontainer"
BLOB_ERROR_CODES = frozenset(
    {
        "AuthenticationFailed",
        "BlobNotFound",
        "InvalidRange",
        "InvalidQueryParameterValue",
    }
)


def assert_nh_answer(status: int, content_type: str, body: bytes, what: str) -> None:
    """Below 500, and a 4xx carries NH's ``<Error><Code/><Detail/></Error>`` in XML."""
    assert status < 500, f"{what} -> {status}: {body[:500]!r}"
    if status >= 400:
        assert content_type.startswith("application/xml"), f"{what} -> {status} {content_type!r}"
        root = ET.fromstring(body)
        assert root.tag == "Error", what
        assert root.findtext("Code") == str(status), what
        assert ".TrackingId:" in (root.findtext("Detail") or ""), what


def assert_blob_answer(status: int, headers: Mapping[str, str], body: bytes, what: str) -> None:
    """A Blob call made with a feedback container URL answers as Blob Storage: below 500, and
    a 4xx names its code in ``x-ms-error-code`` and in an XML ``<Error>``."""
    assert status < 500, f"{what} -> {status}: {body[:500]!r}"
    if status >= 400:
        code = headers.get("x-ms-error-code")
        assert code in BLOB_ERROR_CODES, f"{what} -> {status} {code!r}"
        assert headers.get("content-type", "").startswith("application/xml"), what
        root = ET.fromstring(body)
        assert (root.tag, root.findtext("Code")) == ("Error", code), what
        assert root.findtext("Message"), what


def is_blob_call(method: str, path: str, query: Mapping[str, object]) -> bool:
    """A List Blobs or Get Blob call on a feedback container URL: a GET of
    ``/{hub}/feedbackcontainer`` with ``restype``, or of ``/{hub}/feedbackcontainer/{blob}``
    (other methods are no route's, so NH's 404)."""
    parts = path.strip("/").split("/")
    if method.upper() != "GET" or len(parts) not in (2, 3) or parts[1].lower() != CONTAINER:
        return False
    return len(parts) == 3 or "restype" in query


def assert_answer(
    method: str, url: str, status: int, headers: Mapping[str, str], body: bytes
) -> None:
    """NH's answer, or Blob Storage's for a Blob call; ``headers`` with lower-case names."""
    what = f"{method} {url[:300]}"
    parts = urlsplit(url)
    if is_blob_call(method, parts.path, parse_qs(parts.query, keep_blank_values=True)):
        assert_blob_answer(status, headers, body, what)
    else:
        assert_nh_answer(status, headers.get("content-type", ""), body, what)


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: Mapping[str, str]  # names lower-case
    body: bytes


def raw_request(
    base_url: str,
    method: str,
    target: str,
    headers: Sequence[tuple[str, bytes]],
    body: bytes = b"",
) -> RawAnswer:
    """One request with header values sent byte for byte (non-UTF-8, control characters,
    any size): http.client refuses only line breaks in them."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
        return RawAnswer(response.status, answer_headers, response.read())
    finally:
        connection.close()


class StoredSends:
    """How many notifications a hub holds: a rejected send must not add one."""

    def __init__(self, storage: str, hub: str) -> None:
        self._table = TableClient.from_connection_string(storage, NOTIFICATIONS)
        self._hub = hub

    def count(self) -> int:
        rows = self._table.query_entities(
            "PartitionKey gt @low and PartitionKey lt @high and RowKey eq 'meta'",
            parameters={"low": f"{self._hub}~", "high": f"{self._hub}~~"},
            select=["RowKey"],
        )
        try:
            return sum(1 for _ in rows)
        except ResourceNotFoundError:  # no send has created the table yet
            return 0

    def close(self) -> None:
        self._table.close()
