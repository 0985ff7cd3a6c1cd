"""A small async client for Herald's NH API, used by the admin command (export and import).

It signs each request the way the NH JS SDK does (the token's ``sr`` is the namespace root, the
endpoint as https, wherever ``base_url`` sends the request), or sends a bearer token (from
Entra ID, say) that its caller obtained.
"""

from __future__ import annotations

import json
import re
import ssl
import time
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from shared.auth.sas import generate_sas_token, parse_connection_string
from shared.jobs.wire import job_request_entry, read_job_entry
from shared.model.registration import parse_registration
from shared.nh_wire import CHANGE_HEADER
from shared.registrations.atom import ENTRY_CONTENT_TYPE
from shared.registrations.descriptions import request_entry

API_VERSION = "2020-06"
TOKEN_SECONDS = 3600


class HeraldClientError(RuntimeError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status, self.detail = status, detail


class HeraldClient:
    def __init__(
        self,
        connection_string: str | None,
        hub: str,
        *,
        verify: bool | ssl.SSLContext = True,
        endpoint: str | None = None,
        bearer_token: str | None = None,
        plain_http: bool = False,
        base_url: str | None = None,
    ) -> None:
        """Signs with ``connection_string``'s key; or, with ``endpoint`` and ``bearer_token``
        instead, sends that token. ``plain_http``: http to the endpoint's host (a local stack);
        ``base_url``: send the requests there instead (the local stack's other port)."""
        if connection_string is not None:
            parsed = parse_connection_string(connection_string)
            endpoint = parsed.endpoint
            self._authorization = self._signer(parsed.key_name, parsed.key)
        elif endpoint is not None and bearer_token is not None:
            self._authorization = lambda: f"Bearer {bearer_token}"
        else:
            raise ValueError("Give a connection string, or an endpoint and a bearer token.")
        self._root = re.sub(r"^(sb|https?)://", "", endpoint).rstrip("/") + "/"
        scheme = "http" if plain_http or endpoint.startswith("http://") else "https"
        self.hub = hub
        self.url = base_url or f"{scheme}://{self._root}"
        self._http = httpx.AsyncClient(base_url=self.url, verify=verify, timeout=30)

    def _signer(self, key_name: str, key: str) -> Callable[[], str]:
        def sign() -> str:
            return generate_sas_token(
                f"https://{self._root}",
                key_name=key_name,
                key=key,
                expiry=int(time.time()) + TOKEN_SECONDS,
            )

        return sign

    async def __aenter__(self) -> HeraldClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": self._authorization(), "x-ms-version": API_VERSION}

    async def _request(self, method: str, path: str, **options: Any) -> httpx.Response:
        headers = {**self._headers(), **options.pop("headers", {})}
        params = {"api-version": API_VERSION, **options.pop("params", {})}
        response = await self._http.request(
            method, f"{quote(self.hub)}/{path}", headers=headers, params=params, **options
        )
        if response.status_code >= 400:
            raise HeraldClientError(response.status_code, response.text)
        return response

    async def put_installation(self, installation: dict[str, Any]) -> str:
        """Create or replace; answers what Herald did: created, updated or unchanged."""
        path = f"installations/{quote(str(installation['installationId']))}"
        return _change(await self._request("PUT", path, json=installation))

    async def put_registration(self, registration: dict[str, Any]) -> str:
        """Store a registration's JSON form through NH's registrations API (Atom XML); answers
        what Herald did."""
        parsed = parse_registration(registration, max_tags=1 << 30)
        response = await self._request(
            "PUT",
            f"registrations/{quote(parsed.registration_id)}",
            content=request_entry(parsed),
            headers={"Content-Type": ENTRY_CONTENT_TYPE},
        )
        return _change(response)

    async def put_document(self, document: dict[str, Any]) -> str:
        """An exported line: a registration's has ``registrationId``, else an installation."""
        if "registrationId" in document:
            return await self.put_registration(document)
        return await self.put_installation(document)

    async def patch_installation(
        self, installation_id: str, operations: Sequence[dict[str, Any]]
    ) -> None:
        await self._request(
            "PATCH", f"installations/{quote(installation_id)}", json=list(operations)
        )

    async def get_installation(self, installation_id: str) -> dict[str, Any]:
        response = await self._request("GET", f"installations/{quote(installation_id)}")
        result: dict[str, Any] = response.json()
        return result

    async def delete_installation(self, installation_id: str) -> None:
        await self._request("DELETE", f"installations/{quote(installation_id)}")

    async def list_documents(self, **filters: str) -> AsyncIterator[list[dict[str, Any]]]:
        """Page by page, installations and registrations: the whole registry."""
        token: str | None = None
        while True:
            params = dict(filters) if token is None else {**filters, "continuationToken": token}
            body = (await self._request("GET", "installations", params=params)).json()
            yield [*body["installations"], *body.get("registrations", [])]
            token = body.get("continuationToken")
            if token is None:
                return

    async def submit_job(
        self, job_type: str, output_container_uri: str, import_file_uri: str | None = None
    ) -> dict[str, object]:
        """Submit an NH job (``POST /{hub}/jobs``); answers the job as :func:`read_job_entry`
        reads it."""
        body = job_request_entry(job_type, output_container_uri, import_file_uri)
        response = await self._request(
            "POST", "jobs", content=body, headers={"Content-Type": ENTRY_CONTENT_TYPE}
        )
        return read_job_entry(response.content)

    async def get_job(self, job_id: str) -> dict[str, object]:
        response = await self._request("GET", f"jobs/{quote(job_id)}")
        return read_job_entry(response.content)

    async def export_lines(self) -> AsyncIterator[str]:
        """Every installation and registration as one JSON line."""
        async for page in self.list_documents(top="1000"):
            for document in page:
                yield json.dumps(document, separators=(",", ":"))


def _change(response: httpx.Response) -> str:
    return str(response.headers.get(CHANGE_HEADER, "updated"))  # NH itself does not say
