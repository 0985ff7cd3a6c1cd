"""The seven simulators and their shared state, as one object the servers and control API use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.pns import credentials as _creds
from emulator.pns.adm import AdmClient, AdmSimulator
from emulator.pns.apns import ApnsKey, ApnsSimulator
from emulator.pns.baidu import BaiduApp, BaiduSimulator
from emulator.pns.certs import CertPaths, ensure_certs, issue_client_cert
from emulator.pns.fcm import FcmSimulator, ServiceAccount
from emulator.pns.state import FaultSpec, HandleState, Sim, SimState
from emulator.pns.webpush import WebPushSimulator
from emulator.pns.wns import WnsClient, WnsSimulator
from emulator.pns.xiaomi import XiaomiApp, XiaomiSimulator


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where everything listens; the keys of the CLI's JSON line."""

    apns: str
    fcm: str
    fcm_token_uri: str
    wns_token_uri: str
    wns_aad_token_uri: str
    wns_channel_base: str  # a channel URI is this plus a channel token
    webpush: str
    adm: str
    adm_token_uri: str
    baidu: str  # the REST 3.0 base URL (.../rest/3.0)
    xiaomi: str
    control: str
    ca_file: str

    def to_json(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.__slots__}


class SimulatorHub:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.certs: CertPaths = ensure_certs(state_dir)
        self.credentials = _creds.load_or_create(state_dir)
        self.state = SimState()
        self.apns = ApnsSimulator(self.state)
        self.fcm = FcmSimulator(self.state)
        self.wns = WnsSimulator(self.state)
        self.webpush = WebPushSimulator(self.state)
        self.adm = AdmSimulator(self.state)
        self.baidu = BaiduSimulator(self.state)
        self.xiaomi = XiaomiSimulator(self.state)
        _creds.register(self.credentials, self)

    # --- control operations ------------------------------------------------------------------
    def reset(self) -> None:
        """Forget records, faults and handle marks; keep credentials and subscriptions."""
        self.state.reset_records()
        for sim in Sim:
            self.state.set_faults(sim, FaultSpec())
            self.state.handles.pop(sim, None)

    def mark(self, sim: Sim, body: dict[str, Any]) -> None:
        state = HandleState(body.get("state", HandleState.DEAD))
        handle = str(body["handle"])
        extra = str(body.get("replacement") or body.get("timestamp") or "")
        if state is HandleState.REPLACED and not extra:
            raise ValueError("a replaced handle needs a replacement")
        if sim is Sim.APNS:
            handle = handle.lower()
        self.state.mark(sim, handle, state, extra)

    def add_apns_key(self, body: dict[str, Any]) -> None:
        key = _creds.load_public_key(str(body["public_key"]))
        topics = frozenset(str(t) for t in body.get("topics", ()))
        self.apns.register_key(ApnsKey(str(body["key_id"]), str(body["team_id"]), key, topics))

    def issue_apns_certificate(self, topic: str) -> dict[str, str]:
        cert, key = issue_client_cert(self.certs, topic)
        return {"cert": cert, "key": key}

    def add_service_account(self, body: dict[str, Any]) -> dict[str, str]:
        """Register a given public key, or generate a whole service-account file."""
        if "public_key" in body:
            account = ServiceAccount(
                str(body["client_email"]),
                str(body["project_id"]),
                _creds.load_public_key(str(body["public_key"])),
                str(body.get("private_key_id", "")),
            )
            self.fcm.accounts[account.client_email] = account
            return {"client_email": account.client_email}
        fresh = _creds.generate()
        project = str(body.get("project_id", fresh.fcm_project_id))
        email = f"sim-{fresh.fcm_private_key_id[:8]}@{project}.iam.gserviceaccount.com"
        self.fcm.accounts[email] = ServiceAccount(
            email, project, _creds.public_key_of(fresh.fcm_private_key), fresh.fcm_private_key_id
        )
        info = _creds.service_account_json(fresh, self.fcm.token_uri)
        return {**info, "project_id": project, "client_email": email}

    def add_wns_client(self, body: dict[str, Any]) -> None:
        client = WnsClient(
            str(body["client_id"]), str(body["client_secret"]), str(body.get("tenant_id", ""))
        )
        self.wns.clients[client.client_id] = client

    def add_adm_client(self, body: dict[str, Any]) -> None:
        client = AdmClient(str(body["client_id"]), str(body["client_secret"]))
        self.adm.clients[client.client_id] = client

    def add_baidu_app(self, body: dict[str, Any]) -> None:
        app = BaiduApp(str(body["api_key"]), str(body["secret_key"]))
        self.baidu.apps[app.api_key] = app

    def add_xiaomi_app(self, body: dict[str, Any]) -> None:
        packages = frozenset(str(p) for p in body.get("packages", ()))
        app = XiaomiApp(str(body["app_secret"]), packages)
        self.xiaomi.apps[app.app_secret] = app

    def expire_tokens(self, sim: Sim) -> None:
        stores = {Sim.FCM: self.fcm.tokens, Sim.WNS: self.wns.tokens, Sim.ADM: self.adm.tokens}
        if sim not in stores:
            raise ValueError(f"{sim.value} issues no OAuth tokens")
        stores[sim].expire_all()

    def records(self, sim: Sim | None, handle: str | None) -> list[dict[str, Any]]:
        return [
            record.to_json()
            for record in self.state.deliveries
            if (sim is None or record.sim is sim) and (handle is None or record.handle == handle)
        ]

    def counts(self, sim: Sim | None) -> dict[str, Any]:
        sims = [sim] if sim else list(Sim)
        return {
            "delivered": {s.value: dict(self.state.counts.get(s, {})) for s in sims},
            "rejected": {
                s.value: {h: dict(c) for h, c in self.state.rejections.get(s, {}).items()}
                for s in sims
            },
        }
