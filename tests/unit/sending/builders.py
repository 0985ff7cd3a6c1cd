"""Builders shared by the send-side tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from shared.http import HttpRequestData
from shared.sending.request import SendRequest, SendRoute, parse_send_request

NOW = datetime(2026, 11, 24, 22, 0, 0, tzinfo=UTC)
APPLE_BODY = b'{"aps":{"alert":"Hello"}}'
TOAST = (
    b'<toast><visual><binding template="ToastText01">'
    b'<text id="1">Hi</text></binding></visual></toast>'
)
APNS_TOKEN = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0"
WNS_CHANNEL = "https://dm3p.notify.windows.com/?token=AwYAAAB"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc"


def http(
    headers: Mapping[str, str],
    body: bytes,
    query: Mapping[str, str] | None = None,
) -> HttpRequestData:
    """A request as shared.functions_http builds it: header names lower-cased."""
    return HttpRequestData(
        method="POST",
        url="https://herald.example/hub/messages",
        headers={k.lower(): v for k, v in headers.items()},
        query=dict(query or {}),
        route={"hub": "hub"},
        body=body,
    )


def send(
    format: str,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    route: SendRoute = SendRoute.MESSAGES,
    query: Mapping[str, str] | None = None,
    max_tags: int = 20,
    **named: str,
) -> SendRequest:
    """Parse a send; header names use '_' for '-' (apns_priority -> apns-priority)."""
    all_headers = {"ServiceBusNotification-Format": format}
    for name, value in {**(headers or {}), **named}.items():
        all_headers[name.replace("_", "-")] = value
    return parse_send_request(http(all_headers, body, query), route, max_tags=max_tags, now=NOW)
