"""NH's ``GET /{hub}/feedbackcontainer``, answered so that NH clients' code keeps working.

NH answers with the SAS URL of a Blob Storage container holding one blob per day (named
``MMDDYYYY``), each a line per report of ``<PnsFeedback>`` XML; clients then list and read it
with the Blob Storage API. Herald answers with a URL of its own, ``/{hub}/feedbackcontainer``
signed for an hour with the caller's Manage policy key (for a bearer caller, the key of the
hub's first Manage policy by name), and serves the two Blob operations a reader needs on it:
List Blobs (``?restype=container&comp=list``) and Get Blob (with ranges).
The blobs are rendered from the feedback history on demand; only reports from push services
appear, as in NH (removals of expired installations are in ``GET /{hub}/feedback``), and only
days still within the history's retention are listed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime as http_date
from urllib.parse import urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import escape, quoteattr

from shared.auth.sas import AccessRight
from shared.engine import get_engine
from shared.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    HeraldError,
    NotFoundError,
)
from shared.feedback.retention import first_kept_day
from shared.http import HttpAnswer, HttpRequestData
from shared.hubs.model import Hub
from shared.model.channels import InstallationPlatform
from shared.model.registration import id_field
from shared.model.validation import format_datetime
from shared.pns.base import Outcome, OutcomeKind
from shared.registry import access
from shared.sending.formats import delivery_platform
from shared.sending.outcomes import nh_outcome
from shared.store.feedback import Action, FeedbackEntry
from shared.store.hygiene import HygieneStore, HygieneSummary

CONTAINER = "feedbackcontainer"
URL_LIFETIME = timedelta(hours=1)
_NS = "http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_BLOB_VERSION = "2021-08-06"
_RANGE = re.compile(r"bytes=([0-9]+)-([0-9]*)")
_MAX_OFFSET_DIGITS = 18  # past any blob's length, and within what int() converts quickly
# The history rows that are push services' reports; the rest are Herald's own removals.
_REPORT_ACTIONS = frozenset({Action.EXPIRED, Action.REPLACED, Action.UNMATCHED})
_STORAGE_CODES = {
    403: "AuthenticationFailed",
    404: "BlobNotFound",
    500: "InternalError",
    503: "ServerBusy",
}


def container_signature(key: str, hub: str, policy: str, expiry: str) -> str:
    """The ``sig`` of a container URL: HMAC-SHA256 of what it grants, with a policy key."""
    text = f"{hub}\n{CONTAINER}\n{policy}\n{expiry}"
    mac = hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def container_url(request_url: str, hub: Hub, policy_name: str, now: datetime) -> str:
    """The container URL for the URL the caller used (Blob SAS parameter names throughout,
    so Blob clients carry them along: ``si`` names the policy)."""
    expiry = (now + URL_LIFETIME).strftime("%Y-%m-%dT%H:%M:%SZ")
    key = hub.policies[policy_name].primary_key
    query = {
        "sv": "2014-02-14",
        "sr": "c",
        "sp": "rl",
        "se": expiry,
        "si": policy_name,
        "sig": container_signature(key, hub.name, policy_name, expiry),
    }
    scheme, netloc, path, _, _ = urlsplit(request_url)
    return urlunsplit((scheme, netloc, path.rstrip("/"), urlencode(query), ""))


def _manage_policy(hub: Hub) -> str:
    """The policy whose key signs the URL for a bearer caller, who signed with none."""
    names = sorted(p.name for p in hub.policies.values() if p.grants(AccessRight.MANAGE))
    if not names:
        raise ConflictError(
            "The hub has no Manage policy whose key could sign the feedback container URL."
        )
    return names[0]


def check_container_sas(query: Mapping[str, str], hub: Hub, now: datetime) -> None:
    policy = hub.policies.get(query.get("si", ""))
    expiry, signature = query.get("se", ""), query.get("sig", "")
    if policy is None or not policy.grants(AccessRight.MANAGE) or not signature:
        raise ForbiddenError("AuthenticationFailed: the container signature is not valid.")
    try:
        expires = datetime.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise ForbiddenError("AuthenticationFailed: se is not a time.") from None
    if expires <= now:
        raise ForbiddenError("AuthenticationFailed: the container URL has expired.")
    keys = (policy.primary_key, policy.secondary_key)
    expected = [container_signature(k, hub.name, policy.name, expiry) for k in keys]
    if not any(hmac.compare_digest(signature.encode(), e.encode()) for e in expected):
        raise ForbiddenError("AuthenticationFailed: the container signature is not valid.")


def blob_name(day: str) -> str:
    """``YYYYMMDD`` as NH names the day's blob: ``MMDDYYYY``."""
    return day[4:6] + day[6:8] + day[0:4]


def _day_of(name: str) -> datetime:
    try:
        return datetime.strptime(name, "%m%d%Y").replace(tzinfo=UTC)
    except ValueError:
        raise NotFoundError(f"BlobNotFound: {name[:40]!r}.") from None


def _system_error(entry: FeedbackEntry) -> str:
    """The NH PnsError name of a report: as its send's telemetry named it."""
    if entry.new_handle is not None:
        return "RefreshToken"
    platform = delivery_platform(entry.platform)
    kinds = {kind.value: kind for kind in OutcomeKind}
    kind = kinds.get(entry.outcome, OutcomeKind.INVALID_HANDLE)
    if platform is None:
        return "BadChannel"
    return nh_outcome(Outcome(kind, entry.handle, None, entry.reason), platform).value


def feedback_record(entry: FeedbackEntry) -> str:
    """One ``<PnsFeedback>`` document, on one line."""
    id_name, shown = id_field(entry.installation_id)
    fields = [
        ("FeedbackTime", format_datetime(entry.reported_at)),
        ("NotificationSystemError", _system_error(entry)),
        ("Platform", entry.platform),
        ("PnsHandle", entry.handle),
        (id_name[0].upper() + id_name[1:], shown),  # InstallationId or RegistrationId
        ("NotificationId", entry.notification_id),
    ]
    if entry.new_handle is not None:
        fields.append(("NewPnsHandle", entry.new_handle))
    inner = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields)
    return f'<PnsFeedback xmlns:i="{_XSI}" xmlns="{_NS}">{inner}</PnsFeedback>'


def _etag(hub: str, day: str, summary: HygieneSummary) -> str:
    stamp = "" if summary.last_run_at is None else summary.last_run_at.isoformat()
    return '"0x' + hashlib.sha256(f"{hub}\n{day}\n{stamp}".encode()).hexdigest()[:16].upper() + '"'


def _modified(summary: HygieneSummary) -> str:
    return http_date(summary.last_run_at or datetime(1970, 1, 1, tzinfo=UTC), usegmt=True)


def enumeration(service: str, hub: str, summary: HygieneSummary) -> bytes:
    """List Blobs' answer: a blob for each recent day that had reports."""
    blobs = "".join(
        f"<Blob><Name>{blob_name(day)}</Name><Properties>"
        f"<Last-Modified>{_modified(summary)}</Last-Modified>"
        f"<Etag>{escape(_etag(hub, day, summary))}</Etag>"
        "<Content-Type>application/octet-stream</Content-Type>"
        "<BlobType>BlockBlob</BlobType></Properties></Blob>"
        for day in sorted(summary.report_days)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<EnumerationResults ServiceEndpoint={quoteattr(service)}"
        f" ContainerName={quoteattr(CONTAINER)}>"
        f"<Blobs>{blobs}</Blobs><NextMarker /></EnumerationResults>"
    ).encode()


def _offset(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_OFFSET_DIGITS else 10**_MAX_OFFSET_DIGITS


def blob_answer(content: bytes, headers: Mapping[str, str], requested: str | None) -> HttpAnswer:
    """Get Blob's answer: the whole blob, or the byte range the reader asked for.

    As Blob Storage: a range starting past the end, or ending before it starts, is 416
    ``InvalidRange`` with ``Content-Range: bytes */{length}``; a range that runs past the end
    is cut at the end; a Range header that is not one range of bytes is ignored.
    """
    found = _RANGE.fullmatch(requested or "")
    if found is None:
        return HttpAnswer(200, content, {**headers, "Content-Length": str(len(content))})
    first = _offset(found.group(1))
    last = _offset(found.group(2)) if found.group(2) else len(content) - 1
    if first >= len(content) or last < first:
        return _blob_error(
            416,
            "InvalidRange",
            "The range specified is invalid for the current size of the resource.",
            {"Content-Range": f"bytes */{len(content)}"},
        )
    last = min(last, len(content) - 1)
    part = content[first : last + 1]
    span = {"Content-Range": f"bytes {first}-{last}/{len(content)}"}
    return HttpAnswer(206, part, {**headers, **span, "Content-Length": str(len(part))})


def _platforms() -> Sequence[str]:
    return [platform.value for platform in InstallationPlatform]


def _blob_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> HttpAnswer:
    """A Blob-service error answer, as Blob clients read it: the code in ``x-ms-error-code``
    and in an XML body whose message ends with the request id and time."""
    request_id = str(uuid.uuid4())
    time = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = f"{message}\nRequestId:{request_id}\nTime:{time}"
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{code}</Code><Message>{escape(text)}</Message></Error>"
    ).encode()
    common = {
        "x-ms-error-code": code,
        "x-ms-request-id": request_id,
        "x-ms-version": _BLOB_VERSION,
        "Content-Type": "application/xml",
    }
    return HttpAnswer(status, body, {**common, **(headers or {})})


def _storage_error(error: HeraldError) -> HttpAnswer:
    code = _STORAGE_CODES.get(error.status, "InvalidQueryParameterValue")
    return _blob_error(error.status, code, error.detail)


async def _blob_service(hub: Hub, request: HttpRequestData, now: datetime) -> HttpAnswer:
    """List Blobs and Get Blob on the container, for a request signed with its URL."""
    engine = get_engine()
    check_container_sas(request.query, hub, now)
    summary = await HygieneStore(engine.tables).get_summary(hub.name)
    kept = first_kept_day(now, engine.settings.feedback_history_days)
    summary = replace(summary, report_days=tuple(d for d in summary.report_days if d >= kept))
    common = {"x-ms-version": _BLOB_VERSION}
    blob = request.route.get("blob")
    if not blob:
        if request.query.get("comp") != "list":
            raise BadRequestError("Only List Blobs (restype=container&comp=list) is served here.")
        scheme, netloc, path, _, _ = urlsplit(request.url)
        service = urlunsplit((scheme, netloc, path.rstrip("/").rpartition("/")[0] + "/", "", ""))
        body = enumeration(service, hub.name, summary)
        return HttpAnswer(200, body, {**common, "Content-Type": "application/xml"})
    day = _day_of(blob)
    stamp = day.strftime("%Y%m%d")
    if stamp not in summary.report_days:
        raise NotFoundError(f"BlobNotFound: {blob[:40]!r}.")
    entries = await engine.feedback.day_entries(hub.name, _platforms(), day)
    reports = [e for e in entries if e.action in _REPORT_ACTIONS]
    content = "".join(feedback_record(e) + "\n" for e in reports).encode()
    headers = {
        **common,
        "Content-Type": "application/octet-stream",
        "ETag": _etag(hub.name, stamp, summary),
        "Last-Modified": _modified(summary),
        "x-ms-blob-type": "BlockBlob",
        "Accept-Ranges": "bytes",
    }
    return blob_answer(content, headers, request.header("x-ms-range") or request.header("range"))


async def handle_feedback_container(request: HttpRequestData) -> HttpAnswer:
    """The one entry point of the feedback_container function: NH's call answers the URL;
    the Blob calls made with that URL are answered as the Blob service would, errors too."""
    hubs = get_engine().hubs
    now = datetime.now(UTC)
    if not request.route.get("blob") and "restype" not in request.query:
        engine = get_engine()
        hub = await hubs.get_hub(request.route["hub"])
        caller = await access.authenticate(
            request,
            hub,
            AccessRight.MANAGE,
            public_hosts=engine.settings.public_hosts,
            bearer=engine.bearer,
        )
        url = container_url(request.url, hub, caller.policy or _manage_policy(hub), now)
        return HttpAnswer(200, url.encode(), {"Content-Type": "text/plain; charset=utf-8"})
    try:
        return await _blob_service(await hubs.get_hub(request.route["hub"]), request, now)
    except HeraldError as error:
        return _storage_error(error)
