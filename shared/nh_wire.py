"""NH wire details shared by every endpoint: error bodies, tracking headers and api-version.

An error is answered as NH answers it (recorded real responses)::

    <Error><Code>404</Code><Detail>Installation not found.TrackingId:…,TimeStamp:11/7/2018
    12:18:37 AM</Detail></Error>

with ``Content-Type: application/xml; charset=utf-8``. The JS SDK shows ``Detail``; .NET reads
``Code`` then ``Detail``, in that order.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from shared.errors import BadRequestError, HeraldError
from shared.http import HttpAnswer

ERROR_CONTENT_TYPE = "application/xml; charset=utf-8"
TRACKING_ID_HEADER = "TrackingId"
CORRELATION_ID_HEADER = "x-ms-correlation-request-id"
API_VERSION_PARAM = "api-version"
API_VERSION_HEADER = "x-ms-version"
CHANGE_HEADER = "x-herald-change"  # Herald's own: what a write did (created, updated, unchanged)

_MAX_TRACKING_ID_LENGTH = 128
_TRACKING_ID = re.compile(r"[A-Za-z0-9_.:-]+")
_API_VERSION = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?(?:-preview)?")
# Characters XML 1.0 cannot carry at all: .NET's XmlReader rejects a body that has them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, order=True)
class ApiVersion:
    """A data-plane ``api-version`` such as ``2020-06``; ordered by date."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def throttles_with_429(self) -> bool:
        """2020-06 and later answer throttling with 429 + Retry-After; older versions with 403."""
        return self >= CURRENT_API_VERSION


CURRENT_API_VERSION = ApiVersion(2020, 6)


def parse_api_version(value: str | None) -> ApiVersion:
    """Any ``YYYY-MM`` (``2013-08`` to ``2020-06`` seen), also ``YYYY-MM-DD`` and ``-preview``.

    A missing value means the current version; a malformed one is a :class:`BadRequestError`.
    """
    if value is None or not value.strip():
        return CURRENT_API_VERSION
    match = _API_VERSION.fullmatch(value.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        shown = value[:40]
        raise BadRequestError(f"The api-version '{shown}' is not a valid version (YYYY-MM).")
    return ApiVersion(int(match.group(1)), int(match.group(2)))


def api_version_of(query: Mapping[str, str], headers: Mapping[str, str]) -> ApiVersion:
    """The request's version: the ``api-version`` query parameter, else ``x-ms-version``."""
    return parse_api_version(
        query.get(API_VERSION_PARAM) or header_value(headers, API_VERSION_HEADER)
    )


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name, from any mapping (not only case-insensitive ones)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def tracking_id_for(request_headers: Mapping[str, str]) -> str:
    """The client's ``TrackingId`` (.NET sends one) when it is sane, else a new GUID."""
    sent = header_value(request_headers, TRACKING_ID_HEADER)
    if sent and len(sent) <= _MAX_TRACKING_ID_LENGTH and _TRACKING_ID.fullmatch(sent):
        return sent
    return str(uuid.uuid4())


def tracking_headers(tracking_id: str) -> dict[str, str]:
    """Headers every NH response carries; the SDKs surface them but require neither."""
    return {TRACKING_ID_HEADER: tracking_id, CORRELATION_ID_HEADER: tracking_id}


def format_timestamp(moment: datetime) -> str:
    """NH's ``m/d/yyyy h:mm:ss AM`` in UTC (no leading zeros on month, day and hour)."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    hour = utc.hour % 12 or 12
    half = "AM" if utc.hour < 12 else "PM"
    return f"{utc.month}/{utc.day}/{utc.year} {hour}:{utc.minute:02d}:{utc.second:02d} {half}"


def error_body(error: HeraldError, *, tracking_id: str, now: datetime) -> bytes:
    """``<Error><Code>…</Code><Detail>….TrackingId:…,TimeStamp:…</Detail></Error>``."""
    detail = _NOT_XML.sub("\ufffd", error.detail).rstrip().rstrip(".")
    text = f"{detail}.TrackingId:{tracking_id},TimeStamp:{format_timestamp(now)}"
    return (f"<Error><Code>{error.status}</Code><Detail>{escape(text)}</Detail></Error>").encode()


def error_answer(
    error: HeraldError, *, tracking_id: str | None = None, now: datetime | None = None
) -> HttpAnswer:
    """The complete NH error answer; a new tracking id and the current time by default."""
    tracking_id = tracking_id or str(uuid.uuid4())
    moment = now or datetime.now(UTC)
    return HttpAnswer(
        status=error.status,
        body=error_body(error, tracking_id=tracking_id, now=moment),
        headers={"Content-Type": ERROR_CONTENT_TYPE, **tracking_headers(tracking_id)},
    )
