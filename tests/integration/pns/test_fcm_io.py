"""The FCM sender: OAuth against an aiohttp token endpoint, sends over our h2 client."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs

import jwt
from aiohttp import web
from integration.pns.conftest import H2Factory, WebFactory
from integration.pns.pns_h2_server import H2TestServer
from unit.pns.keys import rsa_key, rsa_pem

from emulator.pns._http import Reply, Request, json_reply
from shared.pns.base import OutcomeKind, PushMessage
from shared.pns.fcm import FcmCredentials, FcmSender
from shared.pns.options import PnsOptions

K = OutcomeKind
HANDLE = "dXNlcjE6APA91bH-token"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def token_app(
    assertions: list[dict[str, object]], *, failing: int | None = None
) -> web.Application:
    """Hands out ``tok-1``, ``tok-2``, ...; the fetch numbered ``failing`` answers 503."""

    async def token(request: web.Request) -> web.Response:
        form = parse_qs(await request.text())
        assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
        claims = jwt.decode(
            form["assertion"][0],
            rsa_key().public_key(),
            algorithms=["RS256"],
            audience=str(request.url),
        )
        assertions.append(claims)
        if len(assertions) == failing:
            return web.json_response({"error": "backend_error"}, status=503)
        return web.json_response({"access_token": f"tok-{len(assertions)}", "expires_in": 3599})

    app = web.Application()
    app.router.add_post("/token", token)
    return app


def sender(token_origin: str, fcm_origin: str, options: PnsOptions) -> FcmSender:
    creds = FcmCredentials.from_dict(
        {
            "project_id": "herald-test",
            "client_email": "push@herald-test.iam.gserviceaccount.com",
            "private_key": rsa_pem(),
            "private_key_id": "kid-1",
            "token_uri": f"{token_origin}/token",
            "endpoint": fcm_origin,
        }
    )
    return FcmSender(creds, options)


def ok(request: Request) -> Reply:
    return json_reply(200, {"name": "projects/herald-test/messages/1"})


async def test_token_is_fetched_once_and_messages_go_out_as_v1(
    h2_server: H2Factory, web_server: WebFactory, options: PnsOptions
) -> None:
    assertions: list[dict[str, object]] = []
    server = H2TestServer(respond=ok)
    async with web_server(token_app(assertions)) as tokens, h2_server(server) as origin:
        fcm = sender(tokens, origin, options)
        first = await fcm.send([PushMessage(HANDLE, b'{"data": {"n": 1}}')])
        second = await fcm.send([PushMessage(HANDLE, b'{"message": {"data": {"k": "v"}}}')])
        await fcm.aclose()
    assert [o.kind for o in first + second] == [K.DELIVERED, K.DELIVERED]
    assert len(assertions) == 1
    claims = assertions[0]
    assert claims["iss"] == "push@herald-test.iam.gserviceaccount.com"
    assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    assert claims["exp"] == claims["iat"] + 3600  # type: ignore[operator]
    sent = server.requests[0]
    assert sent.path == "/v1/projects/herald-test/messages:send"
    assert sent.headers["authorization"] == "Bearer tok-1"
    assert json.loads(sent.body) == {"message": {"token": HANDLE, "data": {"n": "1"}}}
    assert json.loads(server.requests[1].body) == {"message": {"token": HANDLE, "data": {"k": "v"}}}


def refusing(handles: set[str]) -> Callable[[Request], Reply]:
    """FCM refusing ``tok-1`` for ``handles``; a Firebase-side 401 for ``apns-creds``."""

    def respond(request: Request) -> Reply:
        handle = sent_handle(request)
        if request.headers["authorization"] == "Bearer tok-1" and handle in handles:
            message = "Request had invalid credentials."
            error = {"code": 401, "status": "UNAUTHENTICATED", "message": message}
            return json_reply(401, {"error": error})
        if handle == "apns-creds":
            details = [{"@type": FCM_ERROR, "errorCode": "THIRD_PARTY_AUTH_ERROR"}]
            error = {"code": 401, "status": "UNAUTHENTICATED", "message": "", "details": details}
            return json_reply(401, {"error": error})
        return ok(request)

    return respond


def sent_handle(request: Request) -> str:
    handle: str = json.loads(request.body)["message"]["token"]
    return handle


def received(server: H2TestServer) -> list[tuple[str, str]]:
    """(registration token, access token) of each request the server received, in order."""
    return [(sent_handle(r), r.headers["authorization"]) for r in server.requests]


async def test_a_refused_access_token_is_refreshed_once_for_just_those_messages(
    h2_server: H2Factory, web_server: WebFactory, options: PnsOptions
) -> None:
    assertions: list[dict[str, object]] = []
    server = H2TestServer(respond=refusing({"refused-1", "refused-2"}))
    handles = ("refused-1", "ok", "apns-creds", "refused-2")
    async with web_server(token_app(assertions)) as tokens, h2_server(server) as origin:
        fcm = sender(tokens, origin, options)
        outcomes = await fcm.send([PushMessage(h, b"{}") for h in handles])
        await fcm.aclose()
    assert [(o.kind, o.handle) for o in outcomes] == [
        (K.DELIVERED, "refused-1"),
        (K.DELIVERED, "ok"),
        (K.CREDENTIALS_REJECTED, "apns-creds"),  # Firebase's own settings: resending cannot help
        (K.DELIVERED, "refused-2"),
    ]
    assert len(assertions) == 2
    requests = received(server)
    assert sorted(requests[:4]) == sorted((h, "Bearer tok-1") for h in handles)
    assert sorted(requests[4:]) == [("refused-1", "Bearer tok-2"), ("refused-2", "Bearer tok-2")]


async def test_a_failing_refresh_fails_only_the_refused_messages(
    h2_server: H2Factory, web_server: WebFactory, options: PnsOptions
) -> None:
    assertions: list[dict[str, object]] = []
    server = H2TestServer(respond=refusing({"refused"}))
    token_server = web_server(token_app(assertions, failing=2))
    async with token_server as tokens, h2_server(server) as origin:
        fcm = sender(tokens, origin, options)
        outcomes = await fcm.send([PushMessage(h, b"{}") for h in ("ok", "refused")])
        await fcm.aclose()
    assert [(o.kind, o.handle, o.status, o.reason) for o in outcomes] == [
        (K.DELIVERED, "ok", 200, ""),
        (K.TRANSIENT, "refused", 503, "token endpoint: HTTP 503"),
    ]
    assert len(assertions) == 2
    assert sorted(received(server)) == [("ok", "Bearer tok-1"), ("refused", "Bearer tok-1")]


async def test_quota_exceeded_reports_retry_after(
    h2_server: H2Factory, web_server: WebFactory, options: PnsOptions
) -> None:
    def respond(request: Request) -> Reply:
        details = [
            {
                "@type": FCM_ERROR,
                "errorCode": "QUOTA_EXCEEDED",
            }
        ]
        error = {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "message": "quota",
            "details": details,
        }
        return json_reply(429, {"error": error}, ("retry-after", "17"))

    async with (
        web_server(token_app([])) as tokens,
        h2_server(H2TestServer(respond=respond)) as origin,
    ):
        fcm = sender(tokens, origin, options)
        outcomes = await fcm.send([PushMessage(HANDLE, b"{}")])
        await fcm.aclose()
    assert (outcomes[0].kind, outcomes[0].retry_after) == (K.THROTTLED, 17.0)
    assert outcomes[0].reason == "QUOTA_EXCEEDED: quota"


async def test_a_failing_token_endpoint_fails_the_batch_without_sending(
    h2_server: H2Factory, web_server: WebFactory, options: PnsOptions
) -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response(
            {"error": "invalid_grant", "error_description": "bad sig"}, status=400
        )

    app = web.Application()
    app.router.add_post("/token", refuse)
    server = H2TestServer(respond=ok)
    async with web_server(app) as tokens, h2_server(server) as origin:
        fcm = sender(tokens, origin, options)
        outcomes = await fcm.send([PushMessage(HANDLE, b"{}"), PushMessage("other", b"{}")])
        await fcm.aclose()
    assert [(o.kind, o.handle) for o in outcomes] == [
        (K.CREDENTIALS_REJECTED, HANDLE),
        (K.CREDENTIALS_REJECTED, "other"),
    ]
    assert "invalid_grant bad sig" in outcomes[0].reason
    assert server.requests == []
