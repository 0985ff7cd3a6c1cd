"""infra/lint_bicep.py passes the real template and catches each rule broken on purpose."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from infra import lint_bicep as lint
from infra.check_function_json import function_folders
from shared.store.tables import ALL_TABLES

INFRA = Path(__file__).resolve().parents[2] / "infra"
TEMPLATE = (INFRA / "main.bicep").read_text(encoding="utf-8")

_PARSER = BicepParser()  # building the grammar costs more than a parse


def _parse(text: str) -> Any:
    return _PARSER.parse(text=text)


def _mutated(old: str, new: str) -> str:
    assert TEMPLATE.count(old) == 1, f"the mutation target {old!r} must occur once"
    return TEMPLATE.replace(old, new)


def test_the_real_template_is_clean() -> None:
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    template = _parse(TEMPLATE)
    values = {k: v["value"] for k, v in parameters["parameters"].items()}
    assert lint.lint_template(template, values) == []
    assert lint.lint_parameters(template, parameters) == []


_WORKER_RUNTIME_ON_FLEX = """    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            _WORKER_RUNTIME_ON_FLEX,
            _WORKER_RUNTIME_ON_FLEX + "  {\n    name: 'FUNCTIONS_WORKER_RUNTIME'\n"
            "    value: 'python'\n  }\n",
            "[flex] app: app setting FUNCTIONS_WORKER_RUNTIME must not be set on Flex",
        ),
        (
            "allowSharedKeyAccess: !isFlex",
            "allowSharedKeyAccess: true",
            "[flex] storage: allowSharedKeyAccess must be false on the Flex path",
        ),
        ("    httpsOnly: true", "    httpsOnly: false", "[flex] app: httpsOnly must be true"),
        (
            "      minTlsVersion: '1.2'",
            "      minTlsVersion: '1.0'",
            "[consumption] app: siteConfig.minTlsVersion must be '1.2'",
        ),
        (
            "    name: 'python'\n    version: pythonVersion",
            "    name: 'node'\n    version: pythonVersion",
            "[flex] app: functionAppConfig.runtime.name must be 'python'",
        ),
        (
            "'Python|${pythonVersion}'",
            "'Node|20'",
            "[consumption] app: siteConfig.linuxFxVersion must be 'Python|<version>'",
        ),
        (
            "keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'",
            "keyVaultSecretsUser: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635'",
            "[flex] vaultRole: role definition '8e3af657-a8ff-443c-a75c-2fe8c4bcb635' is not",
        ),
        (
            "  roles.storageTableDataContributor\n]",
            "]",
            "[consumption] role Storage Table Data Contributor is never granted",
        ),
        (
            "        type: 'SystemAssignedIdentity'",
            "        type: 'StorageAccountConnectionString'",
            "[flex] app: the Flex package container must be reached with a managed identity",
        ),
        (
            "enableRbacAuthorization: true",
            "enableRbacAuthorization: false",
            "[flex] vault: Key Vault must use RBAC authorization",
        ),
        (
            "value: '@Microsoft.KeyVault(SecretUri=${secretUri})'",
            "value: 'plain-text-key'",
            "[flex] app: HERALD_SECRET_KEY must be a Key Vault reference",
        ),
    ],
)
def test_the_lint_reports_a_broken_rule(old: str, new: str, expected: str) -> None:
    findings = lint.lint_template(_parse(_mutated(old, new)))
    assert any(f.startswith(expected) for f in findings), findings


def test_the_parameters_file_must_match_the_template() -> None:
    template = _parse(TEMPLATE)
    parameters = {"parameters": {"baseNmae": {"value": "x"}}}
    assert lint.lint_parameters(template, parameters) == [
        "parameters file sets undeclared parameter baseNmae",
        "parameters file lacks required parameter baseName",
    ]


def test_the_template_creates_every_queue_the_functions_use() -> None:
    created = set(_parse(TEMPLATE)["variables"]["queueNames"]["value"])
    bindings = [
        binding
        for folder in function_folders(INFRA.parent)
        for binding in json.loads((folder / "function.json").read_text(encoding="utf-8"))[
            "bindings"
        ]
        if binding.get("type") in ("queue", "queueTrigger")
        and not binding["queueName"].startswith("%")  # a setting: its value is unknown here
    ]
    # The host moves a trigger's failed messages to <queue>-poison; alerts watch those.
    needed = {b["queueName"] for b in bindings} | {
        f"{b['queueName']}-poison" for b in bindings if b["type"] == "queueTrigger"
    }
    assert bindings, "no function uses a queue: this test would prove nothing"
    assert needed <= created, f"infra/main.bicep lacks the queues {sorted(needed - created)}"


def test_a_rotation_adds_the_previous_key_as_a_key_vault_reference() -> None:
    rotating = {"previousSecretVersion": "0123456789abcdef"}
    assert lint.lint_template(_parse(TEMPLATE), rotating) == []
    broken = _mutated(
        "value: '@Microsoft.KeyVault(SecretUri=${secretUri}${previousSecretVersion})'",
        "value: previousSecretVersion",
    )
    findings = lint.lint_template(_parse(broken), rotating)
    assert "[flex] app: HERALD_SECRET_KEY_PREVIOUS must be a Key Vault reference" in findings


def test_an_audience_adds_the_bearer_settings_together() -> None:
    bearer = {"authAudience": "00000000-0000-0000-0000-000000000001"}
    assert lint.lint_template(_parse(TEMPLATE), bearer) == []
    broken = _mutated("    name: 'HERALD_AUTH_ISSUER'\n", "    name: 'HERALD_AUTH_ISSUERS'\n")
    findings = lint.lint_template(_parse(broken), bearer)
    assert (
        "[flex] app: HERALD_AUTH_AUDIENCE and HERALD_AUTH_ISSUER are set together or not at all"
        in findings
    )
    assert lint.lint_template(_parse(broken), {}) == []  # no audience, no bearer settings


def test_the_template_creates_every_table_the_store_uses() -> None:
    created = set(_parse(TEMPLATE)["variables"]["tableNames"]["value"])
    missing = set(ALL_TABLES) - created
    assert not missing, f"infra/main.bicep lacks the tables {sorted(missing)}"
