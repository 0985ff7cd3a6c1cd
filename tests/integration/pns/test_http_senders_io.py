"""WNS, Web Push and ADM senders against aiohttp TLS servers over real sockets."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import http_ece
import jwt
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


def token_route(app: web.Application, tokens: list[dict[str, list[str]]]) -> None:
    async def token(request: web.Request) -> web.Response:
        tokens.append(parse_qs(await request.text()))
        return web.json_response({"access_token": f"tok-{len(tokens)}", "expires_in": 86400})

    app.router.add_post("/token", token)


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
        if request.headers["Authorization"] == "Bearer tok-1":
            return web.Response(status=401)
        return web.Response(status=200, headers={"X-WNS-Status": "received"})

    app = web.Application()
    token_route(app, tokens)
    app.router.add_post("/", channel)
    async with web_server(app) as origin:
        creds = WnsCredentials.from_dict(
            {"client_id": "ms-app://S-1", "client_secret": "s", "token_endpoint": f"{origin}/token"}
        )
        wns = WnsSender(creds, with_test_hosts(origin, options))
        outcomes = await wns.send(
            [
                PushMessage(f"{origin}/?token=a", b"<toast/>", {"X-WNS-Tag": "t"}),
                PushMessage(f"{origin}/?token=throttled", b"<badge/>"),
            ]
        )
        await wns.aclose()
    assert [(o.kind, o.status) for o in outcomes] == [(K.DELIVERED, 200), (K.THROTTLED, 406)]
    assert outcomes[1].retry_after == 42.0
    assert outcomes[0].reason == "received"
    assert len(tokens) == 2
    assert tokens[0]["scope"] == ["notify.windows.com"]
    delivered = [h for t, h, _ in seen if t == "a"][-1]
    assert (delivered["X-WNS-Type"], delivered["Content-Type"]) == ("wns/toast", "text/xml")
    assert delivered["X-WNS-Tag"] == "t"


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


async def test_adm_replaces_handles_and_refreshes_expired_tokens(
    web_server: WebFactory, options: PnsOptions
) -> None:
    tokens: list[dict[str, list[str]]] = []
    bodies: list[bytes] = []

    async def message(request: web.Request) -> web.Response:
        registration = request.match_info["id"]
        bodies.append(await request.read())
        assert (
            request.headers["X-Amzn-Type-Version"] == "com.amazon.device.messaging.ADMMessage@1.0"
        )
        if request.headers["Authorization"] == "Bearer tok-1" and registration == "expired-token":
            return web.json_response({"reason": "AccessTokenExpired"}, status=401)
        if registration == "busy":
            return web.json_response(
                {"reason": "MaxRateExceeded"}, status=429, headers={"Retry-After": "8"}
            )
        if registration == "old/id":
            return web.json_response({"registrationID": "new-id"})
        return web.json_response({"registrationID": registration})

    app = web.Application()
    token_route(app, tokens)
    app.router.add_post("/messaging/registrations/{id}/messages", message)
    payload = json.dumps({"data": {"k": "v"}}).encode()
    async with web_server(app) as origin:
        creds = AdmCredentials.from_dict(
            {
                "client_id": "c",
                "client_secret": "s",
                "endpoint": origin,
                "token_endpoint": f"{origin}/token",
            }
        )
        adm = AdmSender(creds, options)
        first = await adm.send(
            [PushMessage(h, payload) for h in ("old/id", "same", "busy", "expired-token")]
        )
        second = await adm.send([PushMessage("expired-token", payload)])
        await adm.aclose()
    assert [(o.kind, o.new_handle) for o in first] == [
        (K.DELIVERED, "new-id"),
        (K.DELIVERED, None),
        (K.THROTTLED, None),
        (K.TRANSIENT, None),
    ]
    assert first[2].retry_after == 8.0
    assert second[0].kind is K.DELIVERED
    assert len(tokens) == 2
    assert tokens[0]["scope"] == ["messaging:push"]
    assert bodies[0] == payload
