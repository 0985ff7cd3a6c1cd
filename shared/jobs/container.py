"""The user's Blob storage, reached only through the SAS URIs the job names.

:func:`check_container_uri` and :func:`check_file_uri` run before anything is fetched: the
URI must be a Blob SAS URI (a ``sig``, a container, for a file a blob name) on an Azure
Storage blob host, by the PNS senders' SSRF guard (https, default port, a host name under an
allow-listed suffix, never an IP literal; test origins such as Azurite's only when the
operator lists them in ``HERALD_JOB_ALLOWED_TEST_HOSTS``). Herald's own storage credentials
are never used here.

:class:`JobFiles` reads ranges of the import file and writes the output files as block blobs:
each step stages its part as a block named by the step's number, and the last step commits
the blocks in order. Staging a block again replaces it, and committing again commits the
same list, so a step run twice writes its lines once. This module is the one boundary of
azure-storage-blob's errors: what the user's storage refuses (a missing container or blob, a
token without the permission, an expired one) is :class:`JobFileError`, which fails the job
with its reason; what may pass (a 5xx, no connection) is :class:`StorageUnavailableError`,
which the queue retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobBlock
from azure.storage.blob.aio import BlobClient, ContainerClient

from shared.errors import BadRequestError, StorageUnavailableError
from shared.pns.urls import check_allowed_url

# Azure Storage blob endpoints: public cloud, China, US Government.
BLOB_HOSTS = (
    ".blob.core.windows.net",
    ".blob.core.chinacloudapi.cn",
    ".blob.core.usgovcloudapi.net",
)
# The blob service's own API version, which Azurite (3.35, on Node 20) accepts.
BLOB_API_VERSION = "2025-11-05"
_RETRIES = 2  # the SDK's own, per request; the queue retries the step after that


class JobFileError(BadRequestError):
    """The user's container or file cannot be used; the job fails with this reason."""


def _path_style(host: str, allowed_test_hosts: tuple[str, ...]) -> bool:
    """Emulators put the account in the path (``/{account}/{container}``)."""
    return any(entry.lower().split(":")[0] == host for entry in allowed_test_hosts)


def _segments(uri: str, what: str, allowed_test_hosts: tuple[str, ...]) -> list[str]:
    check_allowed_url(
        uri,
        hosts=BLOB_HOSTS,
        name=what,
        service="Azure Storage blob host",
        allowed_test_hosts=allowed_test_hosts,
    )
    parts = urlsplit(uri)
    if not parse_qs(parts.query).get("sig"):
        raise BadRequestError(f"The {what} is not a Blob SAS URI: it carries no SAS token (sig).")
    segments = parts.path.strip("/").split("/")
    if _path_style((parts.hostname or "").lower(), allowed_test_hosts):
        segments = segments[1:]
    return [segment for segment in segments if segment]


def check_container_uri(uri: str, *, allowed_test_hosts: tuple[str, ...]) -> str:
    """``uri`` if it is a Blob container's SAS URI Herald may call; else a 400 saying why."""
    what = "OutputContainerUri"
    if len(_segments(uri, what, allowed_test_hosts)) != 1:
        raise BadRequestError(f"The {what} must name a Blob container, and nothing in it.")
    return uri


def check_file_uri(uri: str, *, allowed_test_hosts: tuple[str, ...]) -> str:
    """``uri`` if it is a blob's SAS URI Herald may call; else a 400 saying why."""
    what = "ImportFileUri"
    if len(_segments(uri, what, allowed_test_hosts)) < 2:
        raise BadRequestError(f"The {what} must name a blob: its container and its name.")
    return uri


def block_id(step: int) -> str:
    return f"{step:08d}"  # every block id of a blob has the same length


@asynccontextmanager
async def _translated(what: str) -> AsyncIterator[None]:
    try:
        yield
    except ResourceNotFoundError as error:
        raise JobFileError(f"{what}: not found ({_code(error)}).") from error
    except ClientAuthenticationError as error:
        raise JobFileError(
            f"{what}: refused ({_code(error)}); is the SAS token valid, unexpired, and does "
            "it grant the permission?"
        ) from error
    except HttpResponseError as error:
        if error.status_code is not None and 400 <= error.status_code < 500:
            raise JobFileError(f"{what}: refused ({_code(error)}).") from error
        raise StorageUnavailableError(f"{what}: {_code(error)}") from error
    except AzureError as error:
        raise StorageUnavailableError(f"{what}: {error.message.splitlines()[0]}") from error


def _code(error: HttpResponseError) -> str:
    code = getattr(error, "error_code", None)
    code = getattr(code, "value", code) or error.reason or "error"  # the service's own name
    return f"{error.status_code} {code}"


class JobFiles:
    """One job's files: the import file (if any) and the output container."""

    def __init__(self, output_container_uri: str, import_file_uri: str | None) -> None:
        self._container = ContainerClient.from_container_url(
            output_container_uri, api_version=BLOB_API_VERSION, retry_total=_RETRIES
        )
        self._input = None
        if import_file_uri is not None:
            self._input = BlobClient.from_blob_url(
                import_file_uri, api_version=BLOB_API_VERSION, retry_total=_RETRIES
            )

    async def __aenter__(self) -> JobFiles:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._container.close()
        if self._input is not None:
            await self._input.close()

    def _reader(self) -> BlobClient:
        if self._input is None:
            raise JobFileError("This job has no ImportFileUri.")
        return self._input

    async def input_size(self) -> int:
        async with _translated("Reading the ImportFileUri"):
            return int((await self._reader().get_blob_properties()).size)

    async def read_input(self, offset: int, length: int) -> bytes:
        async with _translated("Reading the ImportFileUri"):
            download = await self._reader().download_blob(offset=offset, length=length)
            return await download.readall()

    async def stage(self, path: str, step: int, data: bytes) -> None:
        """Stage ``data`` as step ``step``'s block of the blob ``path``."""
        async with _translated("Writing to the OutputContainerUri"):
            await self._container.get_blob_client(path).stage_block(block_id(step), data)

    async def commit(self, path: str) -> None:
        """Make the blob ``path`` its staged blocks, in step order (empty if none were)."""
        blob = self._container.get_blob_client(path)
        async with _translated("Writing to the OutputContainerUri"):
            try:
                committed, uncommitted = await blob.get_block_list("all")
            except ResourceNotFoundError:
                committed, uncommitted = [], []  # nothing was staged
            ids = sorted({block.id for block in (*committed, *uncommitted)})
            await blob.commit_block_list([BlobBlock(block_id=i) for i in ids])
