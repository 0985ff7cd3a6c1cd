"""Settings: identity-based storage, connection strings, and one clear error per bad setting."""

from __future__ import annotations

import json
import logging

import pytest
from azure.identity.aio import DefaultAzureCredential

from shared.auth.bearer import BearerSettings
from shared.config import Settings, StorageSettings
from shared.errors import ConfigurationError
from shared.hubs.secrets import new_secret_key
from shared.log_format import JsonFormatter
from shared.store.clients import StorageClients


def test_an_account_name_means_its_endpoints_and_the_managed_identity() -> None:
    storage = StorageSettings.from_env(
        {"AzureWebJobsStorage__accountName": "heraldprod", "AzureWebJobsStorage__clientId": "c1"}
    )
    assert storage.connection_string is None
    assert storage.table_endpoint == "https://heraldprod.table.core.windows.net"
    assert storage.queue_endpoint == "https://heraldprod.queue.core.windows.net"
    assert storage.managed_identity_client_id == "c1"


def test_service_uris_override_the_account_defaults() -> None:
    storage = StorageSettings.from_env(
        {
            "AzureWebJobsStorage__tableServiceUri": "https://t.example/",
            "AzureWebJobsStorage__queueServiceUri": "https://q.example",
        }
    )
    assert (storage.table_endpoint, storage.queue_endpoint) == (
        "https://t.example",
        "https://q.example",
    )


def test_a_connection_string_wins_and_is_not_shown() -> None:
    storage = StorageSettings.from_env(
        {
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "AzureWebJobsStorage__accountName": "x",
        }
    )
    assert storage.connection_string == "UseDevelopmentStorage=true"
    assert "UseDevelopmentStorage" not in repr(storage)


def test_no_storage_setting_names_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="AzureWebJobsStorage__accountName"):
        StorageSettings.from_env({})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HERALD_SECRET_KEY", "too-short"),
        ("HERALD_PENDING_GRACE_SECONDS", "soon"),
        ("HERALD_NOTIFICATION_TTL_SECONDS", "-1"),
        ("HERALD_PAGES_IN_FLIGHT", "0"),
        ("HERALD_PUBLIC_HOSTS", "https://push.example.com/"),
        ("WEBSITE_HOSTNAME", "app.azurewebsites.net/x"),
    ],
)
def test_a_bad_setting_is_named(name: str, value: str) -> None:
    env = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", name: value}
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env(env)


def test_secrets_stay_out_of_repr() -> None:
    key = new_secret_key()
    settings = Settings.from_env(
        {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "HERALD_SECRET_KEY": key}
    )
    assert key not in repr(settings)


async def test_identity_clients_use_the_default_credential_without_connecting() -> None:
    storage = StorageSettings.from_env({"AzureWebJobsStorage__accountName": "heraldprod"})
    clients = StorageClients.build(storage)
    try:
        assert isinstance(clients.credential, DefaultAzureCredential)
        assert clients.tables.url.startswith("https://heraldprod.table.core.windows.net")
        assert clients.queues.url.startswith("https://heraldprod.queue.core.windows.net")
    finally:
        await clients.aclose()


def test_pages_in_flight_defaults_to_four_and_is_read() -> None:
    storage = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    assert Settings.from_env(storage).pages_in_flight == 4
    assert Settings.from_env({**storage, "HERALD_PAGES_IN_FLIGHT": "2"}).pages_in_flight == 2


def test_public_hosts_are_the_configured_ones_plus_azures_own_host_name() -> None:
    storage = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    assert Settings.from_env(storage).public_hosts.development
    settings = Settings.from_env(
        {
            **storage,
            "HERALD_PUBLIC_HOSTS": "push.example.com, push.example.com:8443",
            "WEBSITE_HOSTNAME": "herald-abc.azurewebsites.net",
        }
    )
    assert settings.public_hosts.hosts == {
        ("push.example.com", None),
        ("push.example.com", 8443),
        ("herald-abc.azurewebsites.net", None),
    }
    assert not settings.public_hosts.development


def test_storage_clients_look_for_a_proxy_only_when_one_is_set() -> None:
    storage = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    assert not StorageSettings.from_env(storage).proxy_from_env
    for name in ("HTTPS_PROXY", "http_proxy", "ALL_PROXY"):
        assert StorageSettings.from_env({**storage, name: "http://proxy:3128"}).proxy_from_env
    identity = {"AzureWebJobsStorage__accountName": "a", "https_proxy": "http://p:1"}
    assert StorageSettings.from_env(identity).proxy_from_env


_STORAGE = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
_TENANT = "0f0e0d0c-1111-2222-3333-444455556666"


def test_no_issuer_means_no_bearer_tokens() -> None:
    assert Settings.from_env(_STORAGE).bearer is None


def test_a_tenant_means_entra_id_s_v2_issuer_and_the_defaults() -> None:
    bearer = Settings.from_env(
        {**_STORAGE, "HERALD_ENTRA_TENANT_ID": _TENANT, "HERALD_AUTH_AUDIENCE": "c1, api://c1"}
    ).bearer
    assert bearer == BearerSettings(
        issuers=(f"https://login.microsoftonline.com/{_TENANT}/v2.0",),
        audiences=("c1", "api://c1"),
    )
    assert (bearer.roles_claim, bearer.role_prefix, bearer.jwks_uri) == ("roles", "Herald.", None)


def test_issuers_from_tenants_and_urls_are_all_trusted_and_the_rest_is_read() -> None:
    bearer = Settings.from_env(
        {
            **_STORAGE,
            "HERALD_ENTRA_TENANT_ID": _TENANT,
            "HERALD_AUTH_ISSUER": "https://id.example.com/, https://id.example.com/",
            "HERALD_AUTH_AUDIENCE": "herald",
            "HERALD_AUTH_ROLES_CLAIM": "groups",
            "HERALD_AUTH_ROLE_PREFIX": "Push.",
            "HERALD_AUTH_LEEWAY_SECONDS": "5",
            "HERALD_AUTH_REFRESH_COOLDOWN_SECONDS": "0",
            "HERALD_AUTH_CA_FILE": "/tmp/ca.pem",
        }
    ).bearer
    assert bearer is not None
    assert bearer.issuers == (
        f"https://login.microsoftonline.com/{_TENANT}/v2.0",
        "https://id.example.com/",
    )
    assert (bearer.roles_claim, bearer.role_prefix) == ("groups", "Push.")
    assert (bearer.leeway_seconds, bearer.refresh_cooldown_seconds) == (5.0, 0.0)
    assert bearer.ca_file == "/tmp/ca.pem"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"HERALD_ENTRA_TENANT_ID": _TENANT}, "HERALD_AUTH_AUDIENCE"),
        ({"HERALD_AUTH_AUDIENCE": "herald"}, "HERALD_AUTH_AUDIENCE is set but no issuer"),
        ({"HERALD_ENTRA_TENANT_ID": "a/b", "HERALD_AUTH_AUDIENCE": "x"}, "HERALD_ENTRA_TENANT_ID"),
        ({"HERALD_AUTH_ISSUER": "http://id.example", "HERALD_AUTH_AUDIENCE": "x"}, "ISSUER"),
        (
            {
                "HERALD_AUTH_ISSUER": "https://a.example,https://b.example",
                "HERALD_AUTH_AUDIENCE": "x",
                "HERALD_AUTH_JWKS_URI": "https://a.example/keys",
            },
            "one issuer only",
        ),
        (
            {
                "HERALD_AUTH_ISSUER": "https://a.example",
                "HERALD_AUTH_AUDIENCE": "x",
                "HERALD_AUTH_JWKS_URI": "ftp://a.example/keys",
            },
            "HERALD_AUTH_JWKS_URI",
        ),
        (
            {
                "HERALD_AUTH_ISSUER": "https://a.example",
                "HERALD_AUTH_AUDIENCE": "x",
                "HERALD_AUTH_LEEWAY_SECONDS": "-1",
            },
            "HERALD_AUTH_LEEWAY_SECONDS",
        ),
    ],
)
def test_a_bad_or_half_done_bearer_setting_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        Settings.from_env({**_STORAGE, **env})


def test_log_format_is_text_or_json_and_json_lines_parse() -> None:
    assert Settings.from_env({"AzureWebJobsStorage": "x"}).log_format == "text"
    assert (
        Settings.from_env({"AzureWebJobsStorage": "x", "HERALD_LOG_FORMAT": "JSON"}).log_format
        == "json"
    )
    with pytest.raises(ConfigurationError, match="HERALD_LOG_FORMAT must be one of text, json"):
        Settings.from_env({"AzureWebJobsStorage": "x", "HERALD_LOG_FORMAT": "xml"})
    record = logging.LogRecord(
        "shared.sends", logging.WARNING, "f", 1, "Send %s: «%d»", ("n1", 2), None
    )
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"], line["message"]) == (
        "WARNING",
        "shared.sends",
        "Send n1: «2»",
    )
    assert line["time"].endswith("+00:00")
