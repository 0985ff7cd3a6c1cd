"""The SSRF guard for PNS addresses: device URLs and the service endpoints hubs configure.

WNS channel URIs and Web Push endpoints are the PNS addresses a client chooses; the Baidu and
Xiaomi endpoints come from a hub's credentials. Each must name a known push service and nothing
else: https, no user-info, the default port, a host name (never an IP literal) under an
allow-listed suffix. Simulator origins pass only when the operator lists them
(``HERALD_PNS_ALLOWED_TEST_HOSTS``). Senders also never follow redirects. The registry calls
:func:`check_device_url` at registration time; senders call it again before every send, and
build a Baidu or Xiaomi sender only for an endpoint :func:`check_service_url` accepts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from types import MappingProxyType
from urllib.parse import SplitResult, urlsplit

from shared.errors import BadRequestError
from shared.pns.base import Platform

# Host suffixes (".x" matches any sub-domain of x) and exact host names, per platform.
_WNS_HOSTS = (".notify.windows.com",)
_WEB_PUSH_HOSTS = (
    "fcm.googleapis.com",  # Chrome, Edge (Chromium) via FCM
    "android.googleapis.com",  # legacy GCM endpoints still held by old subscriptions
    "updates.push.services.mozilla.com",  # Firefox (autopush)
    "updates-autopush.stage.mozaws.net",  # Mozilla staging
    "updates-autopush.dev.mozaws.net",  # Mozilla development
    ".push.apple.com",  # Safari: web.push.apple.com and regional hosts
    ".notify.windows.com",  # legacy Edge via WNS
)
_BAIDU_HOSTS = ("api.tuisong.baidu.com",)  # REST API 3.0
_XIAOMI_HOSTS = (
    "api.xmpush.xiaomi.com",  # mainland China
    "sandbox.xmpush.xiaomi.com",  # Xiaomi's test environment
    ".xmpush.global.xiaomi.com",  # global, and the regional sgp-, fr-, ru- and idmb-api hosts
)
ALLOWED_HOSTS: MappingProxyType[Platform, tuple[str, ...]] = MappingProxyType(
    {
        Platform.WNS: _WNS_HOSTS,
        Platform.BROWSER: _WEB_PUSH_HOSTS,
        Platform.BAIDU: _BAIDU_HOSTS,
        Platform.XIAOMI: _XIAOMI_HOSTS,
    }
)
_DEVICE_URL_PLATFORMS = frozenset({Platform.WNS, Platform.BROWSER})
_MAX_URL_LENGTH = 2048
_FORBIDDEN_CHARS = frozenset("\\ \t\r\n\x00")


def check_device_url(
    url: str, platform: Platform, *, allowed_test_hosts: Collection[str] = ()
) -> str:
    """Answer ``url`` unchanged if a sender may POST to it, else raise BadRequestError.

    ``allowed_test_hosts`` holds ``host:port`` origins of simulators (http or https allowed).
    """
    if platform not in _DEVICE_URL_PLATFORMS:
        raise BadRequestError(f"Platform '{platform}' does not use device-supplied URLs.")
    name = "channel URI" if platform is Platform.WNS else "push endpoint"
    return _check(url, platform, name, allowed_test_hosts)


def check_service_url(
    url: str, platform: Platform, *, allowed_test_hosts: Collection[str] = ()
) -> str:
    """Answer a hub's configured ``url`` for a Baidu or Xiaomi endpoint unchanged if it names
    that service (or a listed simulator), else raise BadRequestError."""
    if platform in _DEVICE_URL_PLATFORMS or platform not in ALLOWED_HOSTS:
        raise BadRequestError(f"Platform '{platform}' has no configurable endpoint to check.")
    return _check(url, platform, f"{platform.value} endpoint", allowed_test_hosts)


def _check(url: str, platform: Platform, name: str, allowed_test_hosts: Collection[str]) -> str:
    return check_allowed_url(
        url,
        hosts=ALLOWED_HOSTS[platform],
        name=name,
        service=f"{platform} push service",
        allowed_test_hosts=allowed_test_hosts,
    )


def check_allowed_url(
    url: str,
    *,
    hosts: tuple[str, ...],
    name: str,
    service: str,
    allowed_test_hosts: Collection[str] = (),
) -> str:
    """Answer ``url`` unchanged if it is https to the default port of a host under ``hosts``
    (suffixes ".x" or exact names; never an IP literal, never user-info), or names one of
    ``allowed_test_hosts``; else raise BadRequestError saying what ``name`` got wrong. The
    guard for every address Herald is told to call: PNS URLs, and job containers."""
    if len(url) > _MAX_URL_LENGTH or any(c in _FORBIDDEN_CHARS or ord(c) < 32 for c in url):
        raise BadRequestError(f"The {name} is too long or contains forbidden characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadRequestError(f"The {name} is not a valid URL.") from exc
    host = (parts.hostname or "").lower()
    if _is_test_host(parts, host, port, allowed_test_hosts):
        return url
    if parts.scheme != "https":
        raise BadRequestError(f"The {name} must use https.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise BadRequestError(f"The {name} must not contain user information.")
    if port is not None and port != 443:
        raise BadRequestError(f"The {name} must use the default https port.")
    if _is_ip_literal(host):
        raise BadRequestError(f"The {name} must name a host, not an IP address.")
    if not _host_allowed(host, hosts):
        raise BadRequestError(f"The {name} host '{host}' is not a known {service}.")
    return url


def _is_test_host(
    parts: SplitResult, host: str, port: int | None, allowed: Collection[str]
) -> bool:
    if not allowed or parts.scheme not in ("http", "https") or "@" in parts.netloc:
        return False
    default = 443 if parts.scheme == "https" else 80
    origin = f"{host}:{port or default}"
    bare_ok = port is None or port == default
    return any(origin == entry.lower() or (bare_ok and host == entry.lower()) for entry in allowed)


def _is_ip_literal(host: str) -> bool:
    candidate = host.strip("[]")
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        # Shorthand and numeric forms ("127.1", "2130706433", "0x7f.0.0.1") resolve to IPs too.
        return all(part.isdigit() or part.startswith("0x") for part in candidate.split("."))
    return True


def _host_allowed(host: str, suffixes: tuple[str, ...]) -> bool:
    if host.endswith(".") or not host:
        return False
    return any(
        host.endswith(entry) and len(host) > len(entry) if entry.startswith(".") else host == entry
        for entry in suffixes
    )
