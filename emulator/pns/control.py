"""The control API (plain HTTP on loopback): records, faults, handles, credentials.

Routes (JSON bodies and answers; errors are 400 ``{"error": "..."}``):

  GET    /health                          {"ok": true} (so do the routes with nothing to return)
  GET    /endpoints                       the CLI's JSON line
  GET    /credentials                     the generated credentials (+ "fcm_service_account")
  GET    /records?platform=&handle=       {"records": [{platform, handle, payload, payload_b64,
                                            headers, time, message_id}, ...]}
  GET    /counts?platform=                {"delivered": {platform: {handle: n}},
                                           "rejected": {platform: {handle: {reason: n}}}}
  GET    /totals?platform=                {"delivered": {platform: n}}: cheap to poll while a
                                          large send runs (/counts grows with the handles)
  DELETE /records?platform=               forget records, counts and fault attempt counters
  POST   /reset                           also clear faults and handle marks
  GET|PUT|DELETE /{platform}/faults       FaultSpec fields (see state.FaultSpec)
  POST   /{platform}/handles              {"handle", "state": live|dead|replaced|mismatch,
                                           "replacement"?, "timestamp"? (ms, APNs 410)}
  POST   /{platform}/tokens/expire        invalidate issued OAuth tokens (fcm, wns, adm)
  POST   /apns/keys                       {"key_id", "team_id", "public_key" (PEM), "topics"?}
  POST   /apns/certificates               {"topic"} -> {"cert", "key"} (PEM client certificate)
  POST   /fcm/service-accounts            {"project_id"?} -> a new service-account JSON, or
                                          {"client_email", "project_id", "public_key"} to register
  POST   /wns/clients                     {"client_id", "client_secret", "tenant_id"?}
  POST   /adm/clients                     {"client_id", "client_secret"}
  POST   /baidu/apps                      {"api_key", "secret_key"}
  POST   /xiaomi/apps                     {"app_secret", "packages"? (restricted package names)}
  POST   /webpush/subscriptions           {"application_server_key"?} -> {id, endpoint, p256dh,
                                           auth}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from emulator.pns import credentials as _creds
from emulator.pns.hub import Endpoints, SimulatorHub
from emulator.pns.state import FaultSpec, Sim

_Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def control_app(hub: SimulatorHub, endpoints: Callable[[], Endpoints]) -> web.Application:
    control = _Control(hub, endpoints)
    app = web.Application()
    for method, path, handler in control.routes():
        app.router.add_route(method, path, _guarded(handler))
    return app


class _Control:
    def __init__(self, hub: SimulatorHub, endpoints: Callable[[], Endpoints]) -> None:
        self._hub = hub
        self._endpoints = endpoints

    def routes(self) -> list[tuple[str, str, _Route]]:
        return [
            ("GET", "/health", self.health),
            ("GET", "/endpoints", self.endpoints),
            ("GET", "/credentials", self.credentials),
            ("GET", "/records", self.records),
            ("DELETE", "/records", self.delete_records),
            ("GET", "/counts", self.counts),
            ("GET", "/totals", self.totals),
            ("POST", "/reset", self.reset),
            ("POST", "/apns/keys", self.apns_keys),
            ("POST", "/apns/certificates", self.apns_certificates),
            ("POST", "/fcm/service-accounts", self.service_accounts),
            ("POST", "/wns/clients", self.wns_clients),
            ("POST", "/adm/clients", self.adm_clients),
            ("POST", "/baidu/apps", self.baidu_apps),
            ("POST", "/xiaomi/apps", self.xiaomi_apps),
            ("POST", "/webpush/subscriptions", self.subscriptions),
            ("*", "/{platform}/faults", self.faults),
            ("POST", "/{platform}/handles", self.handles),
            ("POST", "/{platform}/tokens/expire", self.expire_tokens),
        ]

    async def health(self, _: web.Request) -> web.Response:
        return _ok()

    async def endpoints(self, _: web.Request) -> web.Response:
        return web.json_response(self._endpoints().to_json())

    async def credentials(self, _: web.Request) -> web.Response:
        body: dict[str, Any] = asdict(self._hub.credentials)
        token_uri = self._endpoints().fcm_token_uri
        body["fcm_service_account"] = _creds.service_account_json(self._hub.credentials, token_uri)
        return web.json_response(body)

    async def records(self, request: web.Request) -> web.Response:
        found = self._hub.records(_sim_param(request), request.query.get("handle"))
        return web.json_response({"records": found})

    async def counts(self, request: web.Request) -> web.Response:
        return web.json_response(self._hub.counts(_sim_param(request)))

    async def totals(self, request: web.Request) -> web.Response:
        sim = _sim_param(request)
        delivered = self._hub.state.delivered
        return web.json_response(
            {"delivered": {s.value: delivered[s] for s in ([sim] if sim else list(Sim))}}
        )

    async def delete_records(self, request: web.Request) -> web.Response:
        self._hub.state.reset_records(_sim_param(request))
        return _ok()

    async def reset(self, _: web.Request) -> web.Response:
        self._hub.reset()
        return _ok()

    async def faults(self, request: web.Request) -> web.Response:
        sim = _sim(request)
        if request.method == "PUT":
            self._hub.state.set_faults(sim, FaultSpec.from_json(await _body(request)))
        elif request.method == "DELETE":
            self._hub.state.set_faults(sim, FaultSpec())
        return web.json_response(self._hub.state.faults(sim).to_json())

    async def handles(self, request: web.Request) -> web.Response:
        self._hub.mark(_sim(request), await _body(request))
        return _ok()

    async def expire_tokens(self, request: web.Request) -> web.Response:
        self._hub.expire_tokens(_sim(request))
        return _ok()

    async def apns_keys(self, request: web.Request) -> web.Response:
        self._hub.add_apns_key(await _body(request))
        return _ok()

    async def apns_certificates(self, request: web.Request) -> web.Response:
        topic = str((await _body(request))["topic"])
        return web.json_response(self._hub.issue_apns_certificate(topic))

    async def service_accounts(self, request: web.Request) -> web.Response:
        return web.json_response(self._hub.add_service_account(await _body(request)))

    async def wns_clients(self, request: web.Request) -> web.Response:
        self._hub.add_wns_client(await _body(request))
        return _ok()

    async def adm_clients(self, request: web.Request) -> web.Response:
        self._hub.add_adm_client(await _body(request))
        return _ok()

    async def baidu_apps(self, request: web.Request) -> web.Response:
        self._hub.add_baidu_app(await _body(request))
        return _ok()

    async def xiaomi_apps(self, request: web.Request) -> web.Response:
        self._hub.add_xiaomi_app(await _body(request))
        return _ok()

    async def subscriptions(self, request: web.Request) -> web.Response:
        key = (await _body(request)).get("application_server_key")
        return web.json_response(self._hub.webpush.subscribe(str(key).rstrip("=") if key else None))


def _ok() -> web.Response:
    return web.json_response({"ok": True})


def _guarded(handler: _Route) -> _Route:
    """Bad input becomes a 400 with the reason, never a 500."""

    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=400)

    return run


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    body = await request.json()
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _sim(request: web.Request) -> Sim:
    return Sim(request.match_info["platform"])


def _sim_param(request: web.Request) -> Sim | None:
    platform = request.query.get("platform")
    return Sim(platform) if platform else None
