"""How the registrations API writes one registration: its URLs and its Atom entry."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from shared.http import HttpAnswer, HttpRequestData
from shared.hubs.model import Hub
from shared.model.registration import Registration
from shared.nh_wire import api_version_of
from shared.registrations.atom import ENTRY_CONTENT_TYPE, entry_xml, weak_etag
from shared.registrations.descriptions import description_xml


def resource_url(request: HttpRequestData, hub: Hub, path: str) -> str:
    """An https URL of this hub's ``path``: the SDKs need https and an absolute URL."""
    netloc = urlsplit(request.url).netloc
    version = api_version_of(request.query, request.headers)
    return f"https://{netloc}/{quote(hub.name)}/{path}?api-version={version}"


def request_url(request: HttpRequestData) -> str:
    """The request's own URL, as https (a feed's id and self link)."""
    parts = urlsplit(request.url)
    query = f"?{parts.query}" if parts.query else ""
    return f"https://{parts.netloc}{parts.path}{query}"


def atom_time(moment: datetime | None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def registration_url(request: HttpRequestData, hub: Hub, registration: Registration) -> str:
    return resource_url(request, hub, f"registrations/{quote(registration.registration_id)}")


def entry_for(request: HttpRequestData, hub: Hub, registration: Registration, version: int) -> str:
    """One registration as an Atom entry, as NH writes it."""
    link = registration_url(request, hub, registration)
    return entry_xml(
        entry_id=link,
        title=registration.registration_id,
        updated=atom_time(registration.last_update),
        etag=str(version),
        self_link=link,
        content=description_xml(registration, etag=str(version)),
    )


def entry_answer(
    request: HttpRequestData, hub: Hub, registration: Registration, version: int
) -> HttpAnswer:
    """200 with the entry, its ETag and its ``Content-Location``."""
    headers = {
        "Content-Type": ENTRY_CONTENT_TYPE,
        "ETag": weak_etag(str(version)),
        "Content-Location": registration_url(request, hub, registration),
    }
    return HttpAnswer(200, entry_for(request, hub, registration, version).encode(), headers)
