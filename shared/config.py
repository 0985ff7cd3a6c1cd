"""All of Herald's settings, read from the environment in exactly one place.

App settings reach a Functions app as environment variables (``local.settings.json`` locally,
App Settings on Azure). :meth:`Settings.from_env` reads them once, applies every default, and
fails with one sentence naming the bad setting. Nothing else reads ``os.environ``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit

from shared.auth.bearer import (
    DEFAULT_LEEWAY_SECONDS,
    DEFAULT_REFRESH_COOLDOWN_SECONDS,
    DEFAULT_ROLE_PREFIX,
    DEFAULT_ROLES_CLAIM,
    BearerSettings,
    entra_issuer,
)
from shared.auth.sas import PublicHosts
from shared.errors import ConfigurationError
from shared.hubs.secrets import parse_secret_key
from shared.log_format import FORMATS, TEXT

STORAGE_SETTING = "AzureWebJobsStorage"
# The variables aiohttp reads for a proxy (either case).
_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
# Settings that mean nothing without an issuer: one of them alone is a half-done configuration.
_BEARER_DETAILS = (
    "HERALD_AUTH_AUDIENCE",
    "HERALD_AUTH_JWKS_URI",
    "HERALD_AUTH_ROLES_CLAIM",
    "HERALD_AUTH_ROLE_PREFIX",
)


@dataclass(frozen=True)
class StorageSettings:
    """Where the tables and queues live: a connection string, or endpoints plus an identity.

    The identity form mirrors the Functions host's ``AzureWebJobsStorage__*`` settings, so one
    set of app settings serves both the host and Herald's own Storage clients.
    """

    connection_string: str | None = field(default=None, repr=False)
    table_endpoint: str | None = None
    queue_endpoint: str | None = None
    managed_identity_client_id: str | None = None
    # Whether a proxy variable is set. Only then do the clients look for a proxy per request:
    # aiohttp does that on a worker thread, which cost a quarter of a registration's CPU.
    proxy_from_env: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StorageSettings:
        proxy = any(env.get(n) or env.get(n.lower()) for n in _PROXY_VARIABLES)
        connection_string = env.get(STORAGE_SETTING, "").strip()
        if connection_string:
            return cls(connection_string=connection_string, proxy_from_env=proxy)
        prefix = f"{STORAGE_SETTING}__"
        account = env.get(f"{prefix}accountName", "").strip()
        table = env.get(f"{prefix}tableServiceUri", "").strip()
        queue = env.get(f"{prefix}queueServiceUri", "").strip()
        if account:
            table = table or f"https://{account}.table.core.windows.net"
            queue = queue or f"https://{account}.queue.core.windows.net"
        if not (table and queue):
            raise ConfigurationError(
                f"{STORAGE_SETTING} is not set: give a connection string, or "
                f"{prefix}accountName (or both {prefix}tableServiceUri and "
                f"{prefix}queueServiceUri) for an identity-based connection."
            )
        return cls(
            table_endpoint=table.rstrip("/"),
            queue_endpoint=queue.rstrip("/"),
            managed_identity_client_id=env.get(f"{prefix}clientId") or None,
            proxy_from_env=proxy,
        )


@dataclass(frozen=True)
class AppInsightsSettings:
    """Where OpenTelemetry sends metrics and traces on Azure, and how it signs in."""

    connection_string: str = field(repr=False)
    # APPLICATIONINSIGHTS_AUTHENTICATION_STRING ``Authorization=AAD``: sign in with the app's
    # managed identity (``;ClientId=…``: a user-assigned one), as the Functions host does.
    entra: bool = False
    client_id: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AppInsightsSettings | None:
        connection_string = env.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip()
        if not connection_string:
            return None
        setting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
        parts = dict(
            part.partition("=")[::2] for part in env.get(setting, "").split(";") if part.strip()
        )
        if not parts:
            return cls(connection_string)
        if parts.get("Authorization") != "AAD" or set(parts) - {"Authorization", "ClientId"}:
            raise ConfigurationError(f"{setting} must be Authorization=AAD[;ClientId=<id>].")
        return cls(connection_string, entra=True, client_id=parts.get("ClientId") or None)


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings
    # Seals hub secrets at rest; None until set (hub operations then say so).
    secret_key: bytes | None = field(default=None, repr=False)
    previous_secret_key: bytes | None = field(default=None, repr=False)
    # The hosts clients reach this deployment by; a SAS token's audience must name one.
    public_hosts: PublicHosts = field(default_factory=PublicHosts)
    # Bearer tokens (Entra ID or another OIDC issuer); None: only SAS tokens are accepted.
    bearer: BearerSettings | None = None
    # How long a registry write may stay half-done before the timer finishes it for its writer.
    pending_grace_seconds: float = 60.0
    # How long a send may take before what is left of it counts as dropped (NH: 30 minutes).
    notification_ttl_seconds: float = 1800.0
    # PNS simulator origins ("127.0.0.1:8443") that device URLs may name; empty in production.
    pns_allowed_test_hosts: tuple[str, ...] = ()
    # An extra CA bundle every PNS sender trusts besides the system roots (for simulators).
    pns_ca_file: str | None = None
    # The feedback processor's bounds per run: dead-handle reports applied, and pages of the
    # sweep for installations past their expirationTime (each up to 1,000 rows).
    feedback_reports_per_run: int = 5000
    expiry_pages_per_run: int = 10
    # Pages of a send (up to 1,000 devices each) one process reads and delivers at once. Steps
    # beyond it wait holding only their queue message, so a host's memory does not grow with
    # the audience or with how many steps the queue trigger hands it.
    pages_in_flight: int = 4
    # Delete an installation this long after its channel was marked expired; None: never.
    expired_channel_delete_seconds: float | None = None
    # Days of feedback history kept (feedbackcontainer lists 30); older rows are deleted.
    feedback_history_days: int = 30
    # Rows of deleted hubs the feedback processor deletes per run at most.
    purge_rows_per_run: int = 50_000
    # How log lines are written where they end in a stream (shared.log_format): text or json.
    log_format: str = TEXT
    # Hub metrics (shared.metrics): counted in memory, written every this many seconds at most.
    metrics_enabled: bool = True
    metrics_flush_seconds: float = 10.0
    # The key GET /metrics (Prometheus text) asks for as a bearer token; None: no such route.
    prometheus_key: str | None = field(default=None, repr=False)
    # Application Insights: metrics and traces go there through OpenTelemetry when it is set.
    appinsights: AppInsightsSettings | None = None
    # Lines of an import file (or at most 1,000 devices of an export) one job step handles.
    job_lines_per_step: int = 1000
    # Blob origins ("127.0.0.1:10000", Azurite) a job's container URIs may name besides Azure
    # Storage's own hosts; empty in production.
    job_allowed_test_hosts: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            storage=StorageSettings.from_env(env),
            secret_key=_secret_key(env, "HERALD_SECRET_KEY"),
            previous_secret_key=_secret_key(env, "HERALD_SECRET_KEY_PREVIOUS"),
            public_hosts=_public_hosts(env),
            bearer=_bearer(env),
            pending_grace_seconds=_seconds(env, "HERALD_PENDING_GRACE_SECONDS", 60.0),
            notification_ttl_seconds=_seconds(env, "HERALD_NOTIFICATION_TTL_SECONDS", 1800.0),
            pns_allowed_test_hosts=_split_list(env.get("HERALD_PNS_ALLOWED_TEST_HOSTS", "")),
            pns_ca_file=env.get("HERALD_PNS_CA_FILE", "").strip() or None,
            feedback_reports_per_run=_count(env, "HERALD_FEEDBACK_REPORTS_PER_RUN", 5000),
            expiry_pages_per_run=_count(env, "HERALD_EXPIRY_PAGES_PER_RUN", 10),
            feedback_history_days=_count(env, "HERALD_FEEDBACK_HISTORY_DAYS", 30),
            purge_rows_per_run=_count(env, "HERALD_PURGE_ROWS_PER_RUN", 50_000),
            pages_in_flight=_count(env, "HERALD_PAGES_IN_FLIGHT", 4),
            log_format=_choice(env, "HERALD_LOG_FORMAT", FORMATS),
            metrics_enabled=_choice(env, "HERALD_METRICS", ("on", "off")) == "on",
            metrics_flush_seconds=_flush_seconds(env),
            prometheus_key=_prometheus_key(env),
            appinsights=AppInsightsSettings.from_env(env),
            job_lines_per_step=_count(env, "HERALD_JOB_LINES_PER_STEP", 1000),
            job_allowed_test_hosts=_split_list(env.get("HERALD_JOB_ALLOWED_TEST_HOSTS", "")),
            expired_channel_delete_seconds=(
                _seconds(env, "HERALD_EXPIRED_CHANNEL_DELETE_SECONDS", 0.0)
                if env.get("HERALD_EXPIRED_CHANNEL_DELETE_SECONDS", "").strip()
                else None
            ),
        )


def _seconds(env: Mapping[str, str], setting: str, default: float) -> float:
    text = env.get(setting, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ConfigurationError(f"{setting} must be a number of seconds, 0 or more.")
    return value


def _count(env: Mapping[str, str], setting: str, default: int) -> int:
    text = env.get(setting, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ConfigurationError(f"{setting} must be a whole number, 1 or more.")
    return int(text)


def _choice(env: Mapping[str, str], setting: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first by default), in any case."""
    text = env.get(setting, "").strip().lower() or choices[0]
    if text not in choices:
        raise ConfigurationError(f"{setting} must be one of {', '.join(choices)}.")
    return text


def _flush_seconds(env: Mapping[str, str]) -> float:
    seconds = _seconds(env, "HERALD_METRICS_FLUSH_SECONDS", 10.0)
    if not 0.1 <= seconds <= 60:
        raise ConfigurationError("HERALD_METRICS_FLUSH_SECONDS must be from 0.1 to 60 seconds.")
    return seconds


def _prometheus_key(env: Mapping[str, str]) -> str | None:
    key = env.get("HERALD_PROMETHEUS_KEY", "").strip()
    if key and len(key) < 32:
        raise ConfigurationError("HERALD_PROMETHEUS_KEY must be at least 32 characters long.")
    return key or None


def _secret_key(env: Mapping[str, str], setting: str) -> bytes | None:
    text = env.get(setting, "").strip()
    return parse_secret_key(text, setting) if text else None


def _public_hosts(env: Mapping[str, str]) -> PublicHosts:
    """HERALD_PUBLIC_HOSTS, plus the app's own host name, which Azure sets as WEBSITE_HOSTNAME."""
    hosts: set[tuple[str, int | None]] = set()
    for setting in ("HERALD_PUBLIC_HOSTS", "WEBSITE_HOSTNAME"):
        try:
            hosts |= PublicHosts.parse(_split_list(env.get(setting, ""))).hosts
        except ValueError as error:
            raise ConfigurationError(f"{setting}: {error}.") from error
    return PublicHosts(frozenset(hosts))


def _bearer(env: Mapping[str, str]) -> BearerSettings | None:
    """HERALD_ENTRA_TENANT_ID and HERALD_AUTH_ISSUER name the trusted issuers; the rest say how
    their tokens are read. No issuer: bearer tokens are refused."""
    tenants = _split_list(env.get("HERALD_ENTRA_TENANT_ID", ""))
    for tenant in tenants:
        if not _TENANT.fullmatch(tenant):
            raise ConfigurationError(
                f"HERALD_ENTRA_TENANT_ID: {tenant!r} is not a tenant id or domain name."
            )
    issuers = [entra_issuer(tenant) for tenant in tenants]
    for issuer in _split_list(env.get("HERALD_AUTH_ISSUER", "")):
        _https_url(issuer, "HERALD_AUTH_ISSUER")
        issuers.append(issuer)
    if not issuers:
        given = [name for name in _BEARER_DETAILS if env.get(name, "").strip()]
        if given:
            raise ConfigurationError(
                f"{given[0]} is set but no issuer is: set HERALD_ENTRA_TENANT_ID or "
                "HERALD_AUTH_ISSUER too."
            )
        return None
    audiences = _split_list(env.get("HERALD_AUTH_AUDIENCE", ""))
    if not audiences:
        raise ConfigurationError(
            "HERALD_AUTH_AUDIENCE must name the audience of Herald's tokens (the app "
            "registration's client id) when an issuer is trusted."
        )
    jwks_uri = env.get("HERALD_AUTH_JWKS_URI", "").strip() or None
    if jwks_uri is not None:
        _https_url(jwks_uri, "HERALD_AUTH_JWKS_URI")
        if len(issuers) > 1:
            raise ConfigurationError(
                "HERALD_AUTH_JWKS_URI can name the keys of one issuer only; drop it to find "
                "each issuer's keys by discovery."
            )
    return BearerSettings(
        issuers=tuple(dict.fromkeys(issuers)),
        audiences=audiences,
        jwks_uri=jwks_uri,
        roles_claim=env.get("HERALD_AUTH_ROLES_CLAIM", "").strip() or DEFAULT_ROLES_CLAIM,
        role_prefix=env.get("HERALD_AUTH_ROLE_PREFIX", "").strip() or DEFAULT_ROLE_PREFIX,
        leeway_seconds=_seconds(env, "HERALD_AUTH_LEEWAY_SECONDS", DEFAULT_LEEWAY_SECONDS),
        refresh_cooldown_seconds=_seconds(
            env, "HERALD_AUTH_REFRESH_COOLDOWN_SECONDS", DEFAULT_REFRESH_COOLDOWN_SECONDS
        ),
        ca_file=env.get("HERALD_AUTH_CA_FILE", "").strip() or None,
    )


def _https_url(value: str, setting: str) -> None:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(f"{setting}: {value!r} is not an https URL.")


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


@cache
def get_settings() -> Settings:
    """The process's settings, read on first use (never at import time)."""
    return Settings.from_env()
