"""Baidu Cloud Push simulator: REST API 3.0 ``POST /rest/3.0/push/single_device``.

It checks what Baidu documents: the API key, the ``sign`` (MD5 of the PHP-urlencoded
``POST`` + URL + sorted ``k=v`` pairs + secret key), the timestamp's ten-minute window, the
message type and format, and answers ``{"request_id", "response_params"}`` or
``{"request_id", "error_code", "error_msg"}`` with Baidu's codes. The HTTP status that goes with
each error code is not documented; this answers 400, 401 (authentication) or 500 (internal).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote_plus

from emulator.pns._http import Rejected, Reply, Request, json_reply
from emulator.pns.state import FaultKind, HandleState, Sim, SimState, connection_fault

PATH = "/rest/3.0/push/single_device"
SIGN_WINDOW = 600  # seconds a signature holds after its timestamp
_MAX_MSG = 4096
_MAX_MSG_EXPIRES = 604_800
_REQUIRED = ("apikey", "timestamp", "sign", "channel_id", "msg")
_ERRORS = {
    30600: "Internal Server Error",
    30601: "Method Not Allowed",
    30602: "Request Params Not Valid",
    30603: "Authentication Failed",
    30604: "Quota Use Up Payment Required",
    30606: "Request Time Expires Timeout",
    30607: "Channel Token Timeout",
    30608: "Bind Relation Not Found",
}


@dataclass(frozen=True, slots=True)
class BaiduApp:
    api_key: str
    secret_key: str


class _Refused(Rejected):
    def __init__(self, code: int, status: int = 400) -> None:
        super().__init__(status, _ERRORS[code])
        self.code = code


class BaiduSimulator:
    def __init__(self, state: SimState) -> None:
        self._state = state
        self.apps: dict[str, BaiduApp] = {}

    def __call__(self, req: Request) -> Reply:
        channel = ""
        try:
            if req.path != PATH:
                raise _Refused(30601, 404)
            if req.method != "POST":
                raise _Refused(30601, 405)
            form = req.form()
            channel = form.get("channel_id", "")
            self._check(req, form)
        except _Refused as exc:
            self._state.reject(Sim.BAIDU, channel, str(exc.code))
            return _error(exc.code, exc.status)
        return self._deliver(req, form)

    def _check(self, req: Request, form: dict[str, str]) -> None:
        if any(not form.get(name) for name in _REQUIRED):
            raise _Refused(30602)
        app = self.apps.get(form["apikey"])
        if app is None:
            raise _Refused(30603, 401)
        url = f"https://{req.header('host')}{req.path}"
        signed = {k: v for k, v in form.items() if k != "sign"}
        if not secrets.compare_digest(form["sign"], _signature(url, signed, app.secret_key)):
            raise _Refused(30603, 401)
        if not _in_window(form["timestamp"], form.get("expires")):
            raise _Refused(30606, 401)
        if form.get("device_type", "3") not in ("3", "4") or not form["channel_id"].isdigit():
            raise _Refused(30602)
        _check_message(form)

    def _deliver(self, req: Request, form: dict[str, str]) -> Reply:
        channel = form["channel_id"]
        fault, latency = self._state.draw_fault(Sim.BAIDU, channel)
        if fault is not None:
            self._state.reject(Sim.BAIDU, channel, f"fault:{fault.value}")
            return self._fault_reply(fault).with_delay(latency)
        state, _ = self._state.handle_state(Sim.BAIDU, channel)
        if state is not HandleState.LIVE:
            code = 30607 if state is HandleState.DEAD else 30608
            self._state.reject(Sim.BAIDU, channel, str(code))
            return _error(code, 400).with_delay(latency)
        msg_id = str(secrets.randbelow(10**18))
        headers = {**req.headers, "x-sim-msg-type": form.get("msg_type", "0")}
        self._state.record(Sim.BAIDU, channel, form["msg"].encode(), headers, msg_id)
        body = {
            "request_id": secrets.randbelow(10**9),
            "response_params": {"msg_id": msg_id, "send_time": int(time.time())},
        }
        return json_reply(200, body).with_delay(latency)

    def _fault_reply(self, fault: FaultKind) -> Reply:
        if fault is FaultKind.THROTTLE:
            return _error(30604, 400)
        if fault is FaultKind.ERROR:
            return _error(30600, self._state.faults(Sim.BAIDU).error_status or 500)
        reply = connection_fault(fault, b"")
        assert reply is not None
        return reply


def _signature(url: str, params: dict[str, str], secret_key: str) -> str:
    text = "POST" + url + "".join(f"{k}={params[k]}" for k in sorted(params)) + secret_key
    encoded = quote_plus(text, safe="").replace("~", "%7E")  # as PHP's urlencode
    return hashlib.md5(encoded.encode(), usedforsecurity=False).hexdigest()


def _in_window(timestamp: str, expires: str | None) -> bool:
    try:
        signed_at = int(timestamp)
        until = int(expires) if expires else signed_at + SIGN_WINDOW
    except ValueError:
        return False
    return time.time() <= min(until, signed_at + SIGN_WINDOW)


def _check_message(form: dict[str, str]) -> None:
    msg_type = form.get("msg_type", "0")
    if msg_type not in ("0", "1") or len(form["msg"].encode()) > _MAX_MSG:
        raise _Refused(30602)
    expires = form.get("msg_expires")
    if expires is not None and not (expires.isdigit() and int(expires) <= _MAX_MSG_EXPIRES):
        raise _Refused(30602)
    if msg_type == "1":  # an Android notification: a JSON object with a description
        try:
            document = json.loads(form["msg"])
        except ValueError:
            raise _Refused(30602) from None
        if not isinstance(document, dict) or not isinstance(document.get("description"), str):
            raise _Refused(30602)


def _error(code: int, status: int) -> Reply:
    body = {"request_id": secrets.randbelow(10**9), "error_code": code, "error_msg": _ERRORS[code]}
    return json_reply(status, body)
