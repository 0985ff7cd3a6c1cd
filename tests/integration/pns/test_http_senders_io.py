"""WNS, Web Push and ADM senders against aiohttp TLS servers over real sockets."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit

import http_ece
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from integration.pns.conftest import WebFactory
from unit.pns.keys import ec_key

from shared.pns._webpush_crypto import b64url, b64url_decode, public_bytes
from shared.pns.adm import AdmCredentials, AdmSender
from shared.pns.base import OutcomeKind, PushMessage, WebPushKeys
from shared.pns.options import PnsOptions
from shared.pns.webpush import WebPushCredentials, WebPushSender
from shared.pns.wns import WnsCredentials, WnsSender

K = OutcomeKind


def with_test_hosts(origin: str, options: PnsOptions) -> PnsOptions:
    return replace(options, allowed_test_hosts=(urlsplit(origin).netloc,))


def token_route(
    app: web.Application, tokens: list[dict[str, list[str]]], *, failing: int | None = None
) -> None:
    """Hands out ``tok-1``, ``tok-2``, ...; the fetch numbered ``failing`` answers 503."""

    async def token(request: web.Request) -> web.Response:
        tokens.append(parse_qs(await request.text()))
        if len(tokens) == failing:
            return web.json_response({"error": "temporarily_unavailable"}, status=503)
        return web.json_response({"access_token": f"tok-{len(tokens)}", "expires_in": 86400})

    app.router.add_post("/token", token)


def bearer(request: web.Request) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


async def test_wns_sends_reauthenticates_and_honours_throttling(
    web_server: WebFactory, options: PnsOptions
) -> None:
    seen: list[tuple[str, dict[str, str], bytes]] = []
    tokens: list[dict[str, list[str]]] = []

    async def channel(request: web.Request) -> web.Response:
        seen.append((request.query["token"], dict(request.headers), await request.read()))
        if request.query["token"] == "throttled":
            return web.Response(
                status=406,
                headers={"X-WNS-Status": "channelthrottled", "X-WNS-CONTINUE-AFTER": "42"},
            )
        if bearer(request) == "tok-1" and request.query["token"] != "fresh":
            return web.Response(status=401)
        return web.Response(status=200, headers={"X-WNS-Status": "received"})

    app = web.Application()
    token_route(app, tokens)
    app.router.add_post("/", channel)
    async with web_server(app) as origin:
        wns = wns_sender(origin, options)
        outcomes = await wns.send(
            [
                PushMessage(f"{origin}/?token=a", b"<toast/>", {"X-WNS-Tag": "t"}),
                PushMessage(f"{origin}/?token=throttled", b"<badge/>"),
                PushMessage(f"{origin}/?token=fresh", b"<tile/>"),
            ]
        )
        await wns.aclose()
    assert [(o.kind, o.status) for o in outcomes] == [
        (K.DELIVERED, 200),
        (K.THROTTLED, 406),
        (K.DELIVERED, 200),
    ]
    assert outcomes[1].retry_after == 42.0
    assert outcomes[0].reason == "received"
    assert len(tokens) == 2
    sent = [(t, h["Authorization"]) for t, h, _ in seen]
    assert sorted(sent[:3]) == [
        ("a", "Bearer tok-1"),
        ("fresh", "Bearer tok-1"),
        ("throttled", "Bearer tok-1"),
    ]
    assert sent[3:] == [("a", "Bearer tok-2")]  # only the refused message, once
    assert tokens[0]["scope"] == ["notify.windows.com"]
    delivered = [h for t, h, _ in seen if t == "a"][-1]
    assert (delivered["X-WNS-Type"], delivered["Content-Type"]) == ("wns/toast", "text/xml")
    assert delivered["X-WNS-Tag"] == "t"


def wns_sender(origin: str, options: PnsOptions) -> WnsSender:
    creds = WnsCredentials.from_dict(
        {"client_id": "ms-app://S-1", "client_secret": "s", "token_endpoint": f"{origin}/token"}
    )
    return WnsSender(creds, with_test_hosts(origin, options))


async def test_wns_failing_refresh_fails_only_the_refused_messages(
    web_server: WebFactory, options: PnsOptions
) -> None:
    tokens: list[dict[str, list[str]]] = []
    received: list[tuple[str, str]] = []

    async def channel(request: web.Request) -> web.Response:
        received.append((request.query["token"], bearer(request)))
        return web.Response(status=401 if request.query["token"] == "refused" else 200)

    app = web.Application()
    token_route(app, tokens, failing=2)
    app.router.add_post("/", channel)
    async with web_server(app) as origin:
        wns = wns_sender(origin, options)
        names = ("refused", "ok")
        outcomes = await wns.send([PushMessage(f"{origin}/?token={n}", b"<toast/>") for n in names])
        await wns.aclose()
    assert [(o.kind, o.status, o.reason) for o in outcomes] == [
        (K.TRANSIENT, 503, "token endpoint: HTTP 503"),
        (K.DELIVERED, 200, "OK"),
    ]
    assert len(tokens) == 2
    assert sorted(received) == [("ok", "tok-1"), ("refused", "tok-1")]  # nothing resent


async def test_redirects_are_never_followed(web_server: WebFactory, options: PnsOptions) -> None:
    followed: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        followed.append(request.path)
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/push/1", moved)
    app.router.add_route("*", "/elsewhere", elsewhere)
    receiver = ec.generate_private_key(ec.SECP256R1())
    keys = WebPushKeys(b64url(public_bytes(receiver)), b64url(b"0123456789abcdef"))
    async with web_server(app) as origin:
        web_push = WebPushSender(vapid(), with_test_hosts(origin, options))
        outcomes = await web_push.send([PushMessage(f"{origin}/push/1", b"hi", web_push_keys=keys)])
        await web_push.aclose()
    assert (outcomes[0].kind, outcomes[0].status) == (K.PAYLOAD_REJECTED, 302)
    assert "redirect to" in outcomes[0].reason
    assert "not followed" in outcomes[0].reason
    assert followed == []


@pytest.fixture
def refused_origin() -> Iterator[str]:
    """An origin nothing listens on: the port stays bound (so no one else takes it), unlistened."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"


async def test_refused_connections_are_transient_with_the_reason_named(
    web_server: WebFactory, options: PnsOptions, refused_origin: str
) -> None:
    tokens: list[dict[str, list[str]]] = []
    app = web.Application()
    token_route(app, tokens)
    async with web_server(app) as origin:
        creds = WnsCredentials("ms-app://S-1", "s", token_endpoint=f"{origin}/token")
        hosts = (urlsplit(refused_origin).netloc,)
        wns = WnsSender(creds, replace(options, allowed_test_hosts=hosts))
        outcomes = await wns.send([PushMessage(f"{refused_origin}/?token=a", b"<toast/>")])
        await wns.aclose()
    assert (outcomes[0].kind, outcomes[0].status) == (K.TRANSIENT, None)
    assert outcomes[0].reason.startswith("ClientConnectorError: ")
    assert len(tokens) == 1


async def test_a_refused_token_endpoint_fails_the_batch_as_transient(
    options: PnsOptions, refused_origin: str
) -> None:
    adm = adm_sender(refused_origin, options)
    outcomes = await adm.send([PushMessage(h, b"{}") for h in ("a", "b")])
    await adm.aclose()
    assert [(o.kind, o.handle, o.status) for o in outcomes] == [
        (K.TRANSIENT, "a", None),
        (K.TRANSIENT, "b", None),
    ]
    assert outcomes[0].reason.startswith("token endpoint: ClientConnectorError: ")


async def test_an_answer_that_never_comes_is_a_transient_timeout(
    web_server: WebFactory, options: PnsOptions
) -> None:
    release = asyncio.Event()

    async def stalled(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/push/1", stalled)
    receiver = ec.generate_private_key(ec.SECP256R1())
    keys = WebPushKeys(b64url(public_bytes(receiver)), b64url(b"0123456789abcdef"))
    async with web_server(app) as origin:
        quick = replace(with_test_hosts(origin, options), request_timeout=0.5)
        web_push = WebPushSender(vapid(), quick)
        outcomes = await web_push.send([PushMessage(f"{origin}/push/1", b"hi", web_push_keys=keys)])
        await web_push.aclose()
        release.set()
    assert (outcomes[0].kind, outcomes[0].status) == (K.TRANSIENT, None)
    assert outcomes[0].reason == "TimeoutError: no answer within 0.5 s"


def vapid() -> WebPushCredentials:
    scalar = ec_key().private_numbers().private_value.to_bytes(32, "big")
    return WebPushCredentials.from_dict(
        {"subject": "mailto:ops@example.com", "private_key": b64url(scalar)}
    )


async def test_web_push_is_encrypted_signed_and_mapped(
    web_server: WebFactory, options: PnsOptions
) -> None:
    receiver = ec.generate_private_key(ec.SECP256R1())
    auth = b"0123456789abcdef"
    received: list[bytes] = []
    checked: list[dict[str, object]] = []

    async def push(request: web.Request) -> web.Response:
        subscription = request.match_info["id"]
        if subscription == "gone":
            return web.json_response({"code": 410, "errno": 103}, status=410)
        if subscription == "busy":
            return web.Response(status=429, headers={"Retry-After": "30"})
        scheme, _, params = request.headers["Authorization"].partition(" ")
        fields = dict(part.strip().split("=", 1) for part in params.split(","))
        public = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b64url_decode(fields["k"])
        )
        origin = f"{request.scheme}://{request.host}"
        checked.append(jwt.decode(fields["t"], public, algorithms=["ES256"], audience=origin))
        assert scheme == "vapid"
        assert (request.headers["TTL"], request.headers["Urgency"]) == ("60", "high")
        assert request.headers["Content-Encoding"] == "aes128gcm"
        body = await request.read()
        received.append(
            http_ece.decrypt(body, private_key=receiver, auth_secret=auth, version="aes128gcm")
        )
        return web.Response(status=201, headers={"Location": "/m/1"})

    app = web.Application()
    app.router.add_post("/push/{id}", push)
    keys = WebPushKeys(b64url(public_bytes(receiver)), b64url(auth))
    headers = {"TTL": "60", "Urgency": "high"}
    async with web_server(app) as origin:
        web_push = WebPushSender(vapid(), with_test_hosts(origin, options))
        outcomes = await web_push.send(
            [
                PushMessage(f"{origin}/push/{name}", b'{"title":"hi"}', headers, keys)
                for name in ("ok", "gone", "busy")
            ]
        )
        await web_push.aclose()
    assert [(o.kind, o.status) for o in outcomes] == [
        (K.DELIVERED, 201),
        (K.EXPIRED_HANDLE, 410),
        (K.THROTTLED, 429),
    ]
    assert outcomes[2].retry_after == 30.0
    assert received == [b'{"title":"hi"}']
    assert checked[0]["sub"] == "mailto:ops@example.com"


def adm_sender(origin: str, options: PnsOptions) -> AdmSender:
    creds = AdmCredentials.from_dict(
        {
            "client_id": "c",
            "client_secret": "s",
            "endpoint": origin,
            "token_endpoint": f"{origin}/token",
        }
    )
    return AdmSender(creds, options)


@dataclass(frozen=True)
class AdmServer:
    app: web.Application
    received: list[tuple[str, str, bytes]]  # (registration id, access token, body)


def adm_app(tokens: list[dict[str, list[str]]], *, failing: int | None = None) -> AdmServer:
    """ADM's send route: ``expired-token`` is refused for ``tok-1``, ``revoked`` for any token."""
    server = AdmServer(web.Application(), [])

    async def message(request: web.Request) -> web.Response:
        registration = request.match_info["id"]
        server.received.append((registration, bearer(request), await request.read()))
        assert (
            request.headers["X-Amzn-Type-Version"] == "com.amazon.device.messaging.ADMMessage@1.0"
        )
        if bearer(request) == "tok-1" and registration == "expired-token":
            return web.json_response({"reason": "AccessTokenExpired"}, status=401)
        if registration == "revoked":
            return web.json_response({"reason": "Unauthorized"}, status=401)
        if registration == "busy":
            return web.json_response(
                {"reason": "MaxRateExceeded"}, status=429, headers={"Retry-After": "8"}
            )
        if registration == "old/id":
            return web.json_response({"registrationID": "new-id"})
        return web.json_response({"registrationID": registration})

    token_route(server.app, tokens, failing=failing)
    server.app.router.add_post("/messaging/registrations/{id}/messages", message)
    return server


async def test_adm_replaces_handles_and_resends_once_when_the_token_expired(
    web_server: WebFactory, options: PnsOptions
) -> None:
    tokens: list[dict[str, list[str]]] = []
    server = adm_app(tokens)
    payload = json.dumps({"data": {"k": "v"}}).encode()
    handles = ("old/id", "expired-token", "busy", "revoked", "same")
    async with web_server(server.app) as origin:
        adm = adm_sender(origin, options)
        first = await adm.send([PushMessage(h, payload) for h in handles])
        second = await adm.send([PushMessage("expired-token", payload)])
        await adm.aclose()
    assert [(o.kind, o.handle, o.new_handle) for o in first] == [
        (K.DELIVERED, "old/id", "new-id"),
        (K.DELIVERED, "expired-token", None),
        (K.THROTTLED, "busy", None),
        (K.CREDENTIALS_REJECTED, "revoked", None),  # a bare refusal is not an expired token
        (K.DELIVERED, "same", None),
    ]
    assert first[2].retry_after == 8.0
    assert second[0].kind is K.DELIVERED
    assert len(tokens) == 2
    assert tokens[0]["scope"] == ["messaging:push"]
    sent = [(registration, token) for registration, token, _ in server.received]
    assert sorted(sent[:5]) == sorted((h, "tok-1") for h in handles)
    assert sent[5:] == [("expired-token", "tok-2"), ("expired-token", "tok-2")]
    assert {body for _, _, body in server.received} == {payload}


async def test_adm_failing_refresh_fails_only_the_expired_messages(
    web_server: WebFactory, options: PnsOptions
) -> None:
    tokens: list[dict[str, list[str]]] = []
    server = adm_app(tokens, failing=2)
    async with web_server(server.app) as origin:
        adm = adm_sender(origin, options)
        outcomes = await adm.send([PushMessage(h, b"{}") for h in ("same", "expired-token")])
        await adm.aclose()
    assert [(o.kind, o.handle, o.status) for o in outcomes] == [
        (K.DELIVERED, "same", 200),
        (K.TRANSIENT, "expired-token", 503),
    ]
    assert outcomes[1].reason == "token endpoint: HTTP 503"
    assert len(tokens) == 2
    assert sorted((r, t) for r, t, _ in server.received) == [
        ("expired-token", "tok-1"),
        ("same", "tok-1"),
    ]


async def test_a_request_the_http_client_refuses_fails_only_its_own_message(
    web_server: WebFactory, options: PnsOptions
) -> None:
    tokens: list[dict[str, list[str]]] = []
    received: list[str] = []

    async def channel(request: web.Request) -> web.Response:
        received.append(request.query["token"])
        return web.Response(status=200, headers={"X-WNS-Status": "received"})

    app = web.Application()
    token_route(app, tokens)
    app.router.add_post("/", channel)
    async with web_server(app) as origin:
        wns = wns_sender(origin, options)
        outcomes = await wns.send(
            [
                PushMessage(f"{origin}/?token=a", b"<toast/>"),
                PushMessage(f"{origin}/?token=bad", b"<toast/>", {"X-WNS-Tag": "a\r\nb"}),
                PushMessage(f"{origin}/?token=c", b"<toast/>"),
            ]
        )
        await wns.aclose()
    assert [o.kind for o in outcomes] == [K.DELIVERED, K.PAYLOAD_REJECTED, K.DELIVERED]
    assert "could not be made" in outcomes[1].reason
    assert sorted(received) == ["a", "c"]
