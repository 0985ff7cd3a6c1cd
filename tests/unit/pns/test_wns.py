"""WNS: the status table, notification types, pass-through headers, both OAuth flows."""

from __future__ import annotations

import pytest
from unit.pns.keys import answer

from shared.errors import BadRequestError
from shared.pns.base import OutcomeKind, PushMessage
from shared.pns.options import PnsOptions
from shared.pns.wns import WnsCredentials, WnsSender, _request_headers

K = OutcomeKind
CHANNEL = "https://dm3p.notify.windows.com/?token=AwYAAAB"
LEGACY = {"client_id": "ms-app://S-1-15-2-1", "client_secret": "s3cret"}


def sender() -> WnsSender:
    return WnsSender(WnsCredentials.from_dict(LEGACY), PnsOptions())


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, K.DELIVERED),
        (400, K.PAYLOAD_REJECTED),
        (401, K.CREDENTIALS_REJECTED),
        (403, K.CREDENTIALS_REJECTED),
        (404, K.INVALID_HANDLE),
        (405, K.PAYLOAD_REJECTED),
        (406, K.THROTTLED),
        (410, K.EXPIRED_HANDLE),
        (413, K.PAYLOAD_REJECTED),
        (429, K.THROTTLED),
        (500, K.TRANSIENT),
        (503, K.TRANSIENT),
        (504, K.TRANSIENT),
        (301, K.PAYLOAD_REJECTED),
    ],
)
def test_every_status_maps_to_one_outcome(status: int, kind: OutcomeKind) -> None:
    response = answer(
        status,
        headers={"X-WNS-Status": "channelthrottled", "X-WNS-Error-Description": "why"},
    )
    outcome = sender()._outcome(CHANNEL, response)
    assert (outcome.kind, outcome.handle, outcome.status) == (kind, CHANNEL, status)
    assert outcome.reason == "channelthrottled: why"


def test_throttling_honours_either_wait_header() -> None:
    wns = sender()
    continue_after = answer(406, headers={"X-WNS-CONTINUE-AFTER": "12"})
    assert wns._outcome(CHANNEL, continue_after).retry_after == 12.0
    retry_after = answer(429, headers={"Retry-After": "5"})
    assert wns._outcome(CHANNEL, retry_after).retry_after == 5.0


@pytest.mark.parametrize(
    ("payload", "given", "wns_type", "content_type"),
    [
        (b"<toast><visual/></toast>", {}, "wns/toast", "text/xml"),
        (b"  <tile><visual/></tile>", {}, "wns/tile", "text/xml"),
        (b'<badge value="3"/>', {}, "wns/badge", "text/xml"),
        (b"\x00\x01raw", {}, "wns/raw", "application/octet-stream"),
        (b"<toast/>", {"X-WNS-Type": "wns/raw"}, "wns/raw", "application/octet-stream"),
    ],
)
def test_type_and_content_type(
    payload: bytes, given: dict[str, str], wns_type: str, content_type: str
) -> None:
    headers = _request_headers(PushMessage(CHANNEL, payload, given), "tok")
    assert isinstance(headers, dict)
    assert (headers["X-WNS-Type"], headers["Content-Type"]) == (wns_type, content_type)
    assert headers["Authorization"] == "Bearer tok"


def test_x_wns_headers_pass_through_and_others_do_not() -> None:
    given = {"X-WNS-Tag": "t1", "x-wns-ttl": "60", "X-WNS-Cache-Policy": "cache", "Foo": "bar"}
    headers = _request_headers(PushMessage(CHANNEL, b"<tile/>", given), "tok")
    assert isinstance(headers, dict)
    assert {k: headers[k] for k in ("X-WNS-Tag", "x-wns-ttl", "X-WNS-Cache-Policy")} == {
        "X-WNS-Tag": "t1",
        "x-wns-ttl": "60",
        "X-WNS-Cache-Policy": "cache",
    }
    assert "Foo" not in headers


def test_limits_and_unknown_types() -> None:
    assert isinstance(_request_headers(PushMessage(CHANNEL, b"x" * 5000), "t"), dict)
    too_big = _request_headers(PushMessage(CHANNEL, b"x" * 5001), "t")
    assert isinstance(too_big, str)
    assert "limit 5000" in too_big
    unknown = _request_headers(PushMessage(CHANNEL, b"x", {"X-WNS-Type": "wns/fax"}), "t")
    assert isinstance(unknown, str)
    assert "wns/fax" in unknown


def test_both_oauth_flows() -> None:
    url, form = WnsCredentials.from_dict(LEGACY).token_request()
    assert url == "https://login.live.com/accesstoken.srf"
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "ms-app://S-1-15-2-1",
        "client_secret": "s3cret",
        "scope": "notify.windows.com",
    }
    entra = WnsCredentials.from_dict(
        {"client_id": "app-id", "client_secret": "s", "tenant_id": "contoso"}
    )
    url, form = entra.token_request()
    assert url == "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"
    assert form["scope"] == "https://wns.windows.com/.default"
    custom = WnsCredentials.from_dict(LEGACY | {"token_endpoint": "https://127.0.0.1:1/t"})
    assert custom.token_request()[0] == "https://127.0.0.1:1/t"


def test_credentials_mask_the_secret() -> None:
    creds = WnsCredentials.from_dict(LEGACY)
    assert "s3cret" not in repr(creds)
    assert "client_secret='***'" in repr(creds)
    assert WnsCredentials.from_dict(creds.to_dict()) == creds
    with pytest.raises(BadRequestError, match="client_secret"):
        WnsCredentials.from_dict({"client_id": "x"})


async def test_channels_off_the_allow_list_are_refused_without_a_request() -> None:
    wns = sender()
    wns.tokens._token, wns.tokens._refresh_at = "tok", float("inf")  # no token endpoint needed
    outcomes = await wns.send([PushMessage("https://169.254.169.254/?token=x", b"<toast/>")])
    await wns.aclose()
    assert outcomes[0].kind is K.INVALID_HANDLE
    assert outcomes[0].status is None
    assert "IP address" in outcomes[0].reason
