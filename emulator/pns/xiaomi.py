"""Xiaomi Mi Push simulator: server API v3 ``POST /v3/message/regid``.

It checks ``Authorization: key=<AppSecret>`` (``key`` in lower case, as Xiaomi requires), the
form (``registration_id`` of up to 1,000 comma-separated regids; a notification needs a title
under 50 and a description under 128 characters; ``payload`` up to 4 KB) and answers as Xiaomi
does: ``{"result": "ok", "code": 0, "data": {"id", "bad_regids"?}}`` or
``{"result": "error", "code", "reason"}``, in an HTTP 200. Dead (or another app's) regids are
listed in ``bad_regids``; when no regid is valid the answer is code 20301, "No valid targets!".
A delivery is recorded per regid, with the message's form fields as JSON for its payload.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field

from emulator.pns._http import Reply, Request, json_reply
from emulator.pns.state import FaultKind, HandleState, Sim, SimState, connection_fault

PATH = "/v3/message/regid"
MAX_REGIDS = 1000
_MAX_PAYLOAD = 4096
_REGID = re.compile(r"[A-Za-z0-9+/=_.:-]{1,512}")
_INTEGERS = ("notify_type", "pass_through", "notify_id", "time_to_live", "time_to_send")
_LIVE = HandleState.LIVE
_FIELDS = frozenset({"payload", "title", "description", "restricted_package_name", *_INTEGERS})


@dataclass(frozen=True, slots=True)
class XiaomiApp:
    app_secret: str
    packages: frozenset[str] = field(default_factory=frozenset)  # empty: any package


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class XiaomiSimulator:
    def __init__(self, state: SimState) -> None:
        self._state = state
        self.apps: dict[str, XiaomiApp] = {}

    def __call__(self, req: Request) -> Reply:
        if req.path != PATH or req.method != "POST":
            return _error(10012, "非法请求", status=404 if req.path != PATH else 405)
        form = req.form()
        regids = [r for r in form.get("registration_id", "").split(",") if r]
        try:
            self._check(req, form, regids)
        except _Refused as exc:
            for regid in regids or [""]:
                self._state.reject(Sim.XIAOMI, regid, str(exc.code))
            return _error(exc.code, exc.reason)
        return self._deliver(req, form, regids)

    def _check(self, req: Request, form: dict[str, str], regids: list[str]) -> None:
        scheme, _, secret = req.header("authorization").partition("=")
        app = self.apps.get(secret) if scheme == "key" else None
        if app is None:
            raise _Refused(21301, "认证失败")
        if not regids:
            raise _Refused(10016, "缺失必选参数: registration_id")
        if len(regids) > MAX_REGIDS or not all(_REGID.fullmatch(r) for r in regids):
            raise _Refused(10017, "参数值非法: registration_id")
        extra = {k for k in form if k.startswith("extra.")}
        if not set(form) - extra - {"registration_id"} <= _FIELDS:
            raise _Refused(10017, "参数值非法")
        if any(not form[k].lstrip("-").isdigit() for k in _INTEGERS if k in form):
            raise _Refused(10017, "参数值非法")
        _check_notification(form)
        packages = {p for p in form.get("restricted_package_name", "").split(",") if p}
        if app.packages and not packages <= app.packages:
            raise _Refused(22022, "应用程序package name不合法")

    def _deliver(self, req: Request, form: dict[str, str], regids: list[str]) -> Reply:
        draws = [self._state.draw_fault(Sim.XIAOMI, regid) for regid in regids]
        fault, latency = draws[0]  # the whole request shares its first regid's fault
        if fault is not None:
            for regid in regids:
                self._state.reject(Sim.XIAOMI, regid, f"fault:{fault.value}")
            return self._fault_reply(fault).with_delay(latency)
        bad = [r for r in regids if self._state.handle_state(Sim.XIAOMI, r)[0] is not _LIVE]
        if len(bad) == len(regids):
            for regid in regids:
                self._state.reject(Sim.XIAOMI, regid, "20301")
            return _error(20301, "No valid targets!").with_delay(latency)
        message_id = "sdm" + secrets.token_hex(10)
        message = {k: v for k, v in sorted(form.items()) if k != "registration_id"}
        payload = json.dumps(message, ensure_ascii=False).encode()
        for regid in regids:
            if regid in bad:
                self._state.reject(Sim.XIAOMI, regid, "bad_regid")
            else:
                self._state.record(Sim.XIAOMI, regid, payload, req.headers, message_id)
        data = {"id": message_id, **({"bad_regids": ",".join(bad)} if bad else {})}
        body = {
            "result": "ok",
            "trace_id": secrets.token_hex(12),
            "code": 0,
            "data": data,
            "description": "成功",
            "info": f"Received push messages for {len(regids) - len(bad)} REGID",
        }
        return json_reply(200, body).with_delay(latency)

    def _fault_reply(self, fault: FaultKind) -> Reply:
        if fault is FaultKind.THROTTLE:
            return _error(10027, "应用的API调用太频繁")
        if fault is FaultKind.ERROR:
            status = self._state.faults(Sim.XIAOMI).error_status or 503
            return _error(10002, "系统繁忙", status=status)
        reply = connection_fault(fault, b"")
        assert reply is not None
        return reply


def _check_notification(form: dict[str, str]) -> None:
    if form.get("pass_through", "0") not in ("0", "1"):
        raise _Refused(10017, "参数值非法: pass_through")
    if form.get("pass_through", "0") == "0" and not (
        form.get("title", "").strip() and form.get("description", "").strip()
    ):
        raise _Refused(10016, "缺失必选参数: title, description")
    if len(form.get("title", "")) >= 50 or len(form.get("description", "")) >= 128:
        raise _Refused(10017, "参数值非法: title, description")
    if len(form.get("payload", "").encode()) > _MAX_PAYLOAD:
        raise _Refused(65009, "消息内容太长")


def _error(code: int, reason: str, *, status: int = 200) -> Reply:
    body = {"result": "error", "code": code, "reason": reason, "trace_id": secrets.token_hex(12)}
    return json_reply(status, body)
