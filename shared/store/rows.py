"""Point reads and writes, and key-ordered pages, of one table as plain REST requests.

The Tables SDK turns each entity into JSON through its generic model serializer and each answer
back through a typed deserializer, and runs each request through a dozen policies; for a row of
a few properties that costs more CPU than the request itself: about half of a registration's
host CPU (docs/performance.md). On the registry's and the send walk's hot paths,
:class:`TableRows` builds the request and reads the answer itself, and sends it through a
pipeline made of the SDK's own policies for the same service client (its credential, shared key
or Entra ID; its retry policy; the request hooks; tracing) and its transport, less those that
only cost here: a uuid per request id (a counter names requests instead), the user agent, a
redirect policy (Table storage does not redirect), a second JSON decode of every answer, and
the network and HTTP logging policies. Errors are the SDK's exceptions for the same answers.

Rows are plain dicts of the types Herald stores: str, int, bool, float, bytes and datetime.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.core.pipeline import AsyncPipeline
from azure.core.pipeline.policies import (
    AsyncRedirectPolicy,
    ContentDecodePolicy,
    HttpLoggingPolicy,
    NetworkTraceLoggingPolicy,
    RequestIdPolicy,
    UserAgentPolicy,
)

# The transport's own request and response types: the newer azure.core.rest ones wrap these in
# compatibility shims that cost about a fifth of a request's CPU here.
from azure.core.pipeline.transport import AsyncHttpResponse, HttpRequest
from azure.data.tables.aio import TableClient, TableServiceClient

_INT32 = range(-(2**31), 2**31)
_ERRORS: dict[int, type[HttpResponseError]] = {
    404: ResourceNotFoundError,
    409: ResourceExistsError,
    412: ResourceModifiedError,
}
# What the service answers with each metadata level: types for the properties JSON cannot tell
# apart (binary, DateTime, Int64), or none at all.
MINIMAL = "application/json;odata=minimalmetadata"
NONE = "application/json;odata=nometadata"


class Row(dict[str, Any]):
    """A table row's properties; the ETag it was read with ("" when read without) and, read
    with metadata, when the service last wrote it."""

    __slots__ = ("_written", "etag")

    def __init__(
        self, properties: Mapping[str, Any], etag: str, written: str | None = None
    ) -> None:
        super().__init__(properties)
        self.etag = etag
        self._written = written  # the service's Timestamp text: parsed only when asked for

    @property
    def timestamp(self) -> datetime | None:
        return None if self._written is None else _datetime(self._written)


def odata_literal(value: str | bool | int | datetime) -> str:
    """``value`` as a literal in a $filter expression."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value in _INT32 else f"{value}L"
    if isinstance(value, datetime):
        return f"datetime'{value.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}'"
    return "'" + value.replace("'", "''") + "'"


def with_parameters(query: str, parameters: Mapping[str, str | bool | int | datetime]) -> str:
    """``query`` with each ``@name`` replaced by its parameter as a literal."""
    return _PARAMETER.sub(lambda match: odata_literal(parameters[match[1]]), query)


_PARAMETER = re.compile(r"@(\w+)")


def encode(entity: Mapping[str, Any]) -> bytes:
    """The JSON body of ``entity``, typed as the service stores it; None values are left out."""
    body: dict[str, Any] = {}
    for name, value in entity.items():
        if value is None:
            continue
        if isinstance(value, bool | str):
            body[name] = value
        elif isinstance(value, int):
            if value in _INT32:
                body[name] = value
            else:
                body[name], body[f"{name}@odata.type"] = str(value), "Edm.Int64"
        elif isinstance(value, float):
            body[f"{name}@odata.type"] = "Edm.Double"
            body[name] = value if math.isfinite(value) else _NON_FINITE[str(value)]
        elif isinstance(value, bytes | bytearray):
            body[name] = base64.b64encode(value).decode("ascii")
            body[f"{name}@odata.type"] = "Edm.Binary"
        elif isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(f"{name}: a datetime without a time zone")
            utc = value.astimezone(UTC)
            body[name] = utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            body[f"{name}@odata.type"] = "Edm.DateTime"
        else:
            raise TypeError(f"{name}: Herald stores no {type(value).__name__} in a table")
    return json.dumps(body, separators=(",", ":")).encode()


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _datetime(text: str) -> datetime:
    # The service writes seven fractional digits; datetime takes six.
    stamp, _, fraction = text.rstrip("Z").partition(".")
    parsed = datetime.fromisoformat(stamp).replace(tzinfo=UTC)
    return parsed.replace(microsecond=int((fraction + "000000")[:6])) if fraction else parsed


_DECODERS: dict[str, Any] = {
    "Edm.Binary": base64.b64decode,
    "Edm.DateTime": _datetime,
    "Edm.Int64": int,
    "Edm.Double": float,
}


def untyped(properties: dict[str, Any]) -> Row:
    """A row from JSON the service wrote without metadata: nothing to type or leave out but
    the Timestamp. The walk reads a thousand of these a page."""
    properties.pop("Timestamp", None)
    return Row(properties, "")


def decode(properties: Mapping[str, Any]) -> Row:
    """A row from the service's JSON, typed by its annotations where it carries them."""
    row: dict[str, Any] = {}
    for name, value in properties.items():
        if "@" in name or name.startswith("odata.") or name == "Timestamp":
            continue
        kind = properties.get(f"{name}@odata.type")
        row[name] = value if kind is None else _DECODERS.get(kind, str)(value)
    return Row(row, str(properties.get("odata.etag", "")), properties.get("Timestamp"))


# Policies the SDK's service client runs that a TableRows request does without (see above).
_UNNEEDED_POLICIES = (
    RequestIdPolicy,
    UserAgentPolicy,
    AsyncRedirectPolicy,
    ContentDecodePolicy,
    NetworkTraceLoggingPolicy,
    HttpLoggingPolicy,
)


def lean_pipeline(service: TableServiceClient) -> AsyncPipeline[HttpRequest, AsyncHttpResponse]:
    """A pipeline of ``service``'s own policies less the unneeded ones, on its transport (which
    the service client owns and closes: never enter this pipeline as a context manager)."""
    transport = service._client._client._pipeline._transport
    policies = [p for p in service._policies if not isinstance(p, _UNNEEDED_POLICIES)]
    return AsyncPipeline(transport=transport, policies=policies)


_REQUEST_IDS = itertools.count()
_PROCESS_ID = uuid.uuid4().hex[:12]


class TableRows:
    """One table's rows, by key and by page."""

    def __init__(
        self, pipeline: AsyncPipeline[HttpRequest, AsyncHttpResponse], table: TableClient
    ) -> None:
        self._pipeline = pipeline
        self._url = f"{table.scheme}://{table._primary_hostname}/{table.table_name}"
        self._headers = {"x-ms-version": table.api_version, "DataServiceVersion": "3.0"}

    def _key_url(self, partition: str, row: str) -> str:
        quoted = [quote(key.replace("'", "''"), safe="") for key in (partition, row)]
        return f"{self._url}(PartitionKey='{quoted[0]}',RowKey='{quoted[1]}')"

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        ok: int,
    ) -> AsyncHttpResponse:
        request_id = f"{_PROCESS_ID}-{next(_REQUEST_IDS)}"  # for Storage's logs, as the SDK's
        all_headers = {**self._headers, "x-ms-client-request-id": request_id, **(headers or {})}
        if params:  # encoded here: the transport's request would append them as they are
            url = f"{url}?{urlencode(params, quote_via=quote)}"
        request = HttpRequest(method, url, headers=all_headers)
        if body is not None:
            request.set_bytes_body(body)
        response = (await self._pipeline.run(request, stream=False)).http_response
        if response.status_code != ok:
            error = _ERRORS.get(response.status_code, HttpResponseError)
            raise error(response=response)
        return response

    async def get(self, partition: str, row: str, select: Sequence[str] | None = None) -> Row:
        """The row (only the ``select`` properties, if given) with its ETag;
        ResourceNotFoundError if there is none."""
        params = None if select is None else {"$select": ",".join(select)}
        response = await self._send(
            "GET", self._key_url(partition, row), headers={"Accept": MINIMAL}, params=params, ok=200
        )
        found = decode(json.loads(response.body()))
        found.etag = str(response.headers["ETag"])
        return found

    async def insert(self, entity: Mapping[str, Any]) -> str:
        """Add a new row; its ETag. ResourceExistsError if the key is taken."""
        response = await self._send(
            "POST",
            self._url,
            headers={
                "Content-Type": "application/json",
                "Accept": NONE,
                "Prefer": "return-no-content",
            },
            body=encode(entity),
            ok=204,
        )
        return str(response.headers["ETag"])

    async def replace(self, entity: Mapping[str, Any], etag: str = "*") -> str:
        """Replace the row if it still has ``etag`` (any, by default); its new ETag.
        ResourceModifiedError if it changed, ResourceNotFoundError if it is gone."""
        return await self._put(entity, {"If-Match": etag})

    async def upsert(self, entity: Mapping[str, Any]) -> str:
        """Insert the row, or replace it whatever it holds; its ETag."""
        return await self._put(entity, {})

    async def merge(self, entity: Mapping[str, Any], etag: str = "*") -> str:
        """Merge ``entity``'s properties into the row if it still has ``etag`` (any, by
        default); its new ETag. ResourceNotFoundError if there is no such row."""
        url = self._key_url(str(entity["PartitionKey"]), str(entity["RowKey"]))
        headers = {"Content-Type": "application/json", "Accept": NONE, "If-Match": etag}
        response = await self._send("PATCH", url, headers=headers, body=encode(entity), ok=204)
        return str(response.headers["ETag"])

    async def _put(self, entity: Mapping[str, Any], condition: Mapping[str, str]) -> str:
        url = self._key_url(str(entity["PartitionKey"]), str(entity["RowKey"]))
        headers = {"Content-Type": "application/json", "Accept": NONE, **condition}
        response = await self._send("PUT", url, headers=headers, body=encode(entity), ok=204)
        return str(response.headers["ETag"])

    async def delete(self, partition: str, row: str, etag: str = "*") -> None:
        """Delete the row if it still has ``etag`` (any, by default); a row already gone is
        no error, as with the SDK. ResourceModifiedError if it changed."""
        headers = {"If-Match": etag, "Accept": NONE}
        with contextlib.suppress(ResourceNotFoundError):
            await self._send("DELETE", self._key_url(partition, row), headers=headers, ok=204)

    async def page(
        self,
        query: str,
        *,
        top: int,
        select: Sequence[str] | None = None,
        metadata: bool = False,
        resume: tuple[str, str] | None = None,
    ) -> tuple[list[Row], tuple[str, str] | None]:
        """One page of the rows ``query`` selects, up to ``top``, in key order, from
        ``resume`` (the continuation an earlier page answered); and where the next page starts,
        None when no rows follow. Without ``metadata`` binary properties come as base64 text
        and rows carry no ETag."""
        params = {"$filter": query, "$top": str(top)}
        if select is not None:
            params["$select"] = ",".join(select)
        if resume is not None:
            params["NextPartitionKey"], params["NextRowKey"] = resume
        accept = MINIMAL if metadata else NONE
        response = await self._send(
            "GET", f"{self._url}()", headers={"Accept": accept}, params=params, ok=200
        )
        read = decode if metadata else untyped
        rows = [read(item) for item in json.loads(response.body())["value"]]
        partition = response.headers.get("x-ms-continuation-NextPartitionKey")
        if partition is None:
            return rows, None
        return rows, (partition, response.headers.get("x-ms-continuation-NextRowKey", ""))
