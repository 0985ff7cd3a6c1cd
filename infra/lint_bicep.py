"""Herald's own checks on the Bicep templates, over the syntax tree pycep-parser produces.

checkov checks generic security rules; this checks the rules that are ours. Each hosting plan
(``hostingPlan`` = flex | consumption) is one scenario: parameters take their defaults with
that plan, simple expressions (ternaries, ``==``, ``!``, ``concat``, variable references,
property access) are evaluated, and conditional resources are kept or dropped. Anything that
cannot be known before deployment evaluates to ``UNKNOWN`` and is never taken for a pass.

Usage: ``python infra/lint_bicep.py [--parameters FILE] FILE.bicep...``; exit status 1 on any
finding. pycep-parser reads identifiers and string literals alike as Python strings, so a
string equal to a parameter, variable or loop-variable name is taken as a reference to it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycep import BicepParser

ROLE_IDS = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}
# Settings Flex rejects or ignores: the runtime and the deployment live in functionAppConfig.
FLEX_FORBIDDEN_SETTINGS = frozenset(
    {
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "FUNCTIONS_WORKER_RUNTIME_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "ENABLE_ORYX_BUILD",
        "AzureWebJobsStorage",
    }
)
REQUIRED_SETTINGS = ("APPLICATIONINSIGHTS_CONNECTION_STRING", "HERALD_FEEDBACK_SCHEDULE")
PLANS = ("flex", "consumption")
_KV_REFERENCE = "@Microsoft.KeyVault("


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


@dataclass
class _Scope:
    """Evaluates pycep expression trees with the parameters of one scenario."""

    params: dict[str, Any]
    variables: Mapping[str, Any]
    locals_: dict[str, Any] = field(default_factory=dict)
    _busy: set[str] = field(default_factory=set)

    def with_local(self, name: str, value: Any) -> _Scope:
        return _Scope(self.params, self.variables, {**self.locals_, name: value})

    def eval(self, node: Any) -> Any:
        if isinstance(node, str):
            return self._name(node)
        if isinstance(node, list):
            return [self.eval(item) for item in node]
        if isinstance(node, dict):
            if set(node) == {"operator"}:
                return self._operator(node["operator"])
            if set(node) == {"function"}:
                return self._function(node["function"])
            return {key: self.eval(value) for key, value in node.items()}
        return node

    def _name(self, text: str) -> Any:
        if text in self.locals_:
            return self.locals_[text]
        if text in self.params:
            return self.params[text]
        if text in self.variables and text not in self._busy:
            self._busy.add(text)
            try:
                return self.eval(self.variables[text]["value"])
            finally:
                self._busy.discard(text)
        return text

    def _operator(self, op: Mapping[str, Any]) -> Any:
        kind, args = op["type"], op["operands"]
        if kind == "conditional":
            cond = self.eval(args["condition"])
            if not isinstance(cond, bool):
                return UNKNOWN
            return self.eval(args["true_value"] if cond else args["false_value"])
        if kind == "not":
            value = self.eval(args["bool_value"])
            return (not value) if isinstance(value, bool) else UNKNOWN
        if kind == "property_accessor":
            return self._access(self.eval(args["operand_1"]), args["operand_2"])
        values = [self.eval(args[k]) for k in ("operand_1", "operand_2") if k in args]
        if UNKNOWN in values or len(values) != 2:
            return UNKNOWN
        left, right = values
        table = {
            "equals": lambda: left == right,
            "not_equals": lambda: left != right,
            "and": lambda: left and right,
            "or": lambda: left or right,
        }
        return table[kind]() if kind in table else UNKNOWN

    def _access(self, base: Any, path: Any) -> Any:
        # pycep nests `a.b.c` as accessor(a, accessor(b, c)).
        while (
            isinstance(path, dict) and path.get("operator", {}).get("type") == "property_accessor"
        ):
            base = (
                base.get(path["operator"]["operands"]["operand_1"], UNKNOWN)
                if isinstance(base, dict)
                else UNKNOWN
            )
            path = path["operator"]["operands"]["operand_2"]
        if isinstance(base, dict) and isinstance(path, str):
            return base.get(path, UNKNOWN)
        return UNKNOWN

    def _function(self, fn: Mapping[str, Any]) -> Any:
        args = [self.eval(value) for value in fn["parameters"].values()]
        if fn["type"] == "empty" and isinstance(args[0], str | list | dict):
            return len(args[0]) == 0
        if fn["type"] == "concat" and all(isinstance(a, list) for a in args):
            return [item for arg in args for item in arg]
        if fn["type"] == "subscription_resource_id":
            return {"roleDefinitionType": args[0], "roleDefinitionName": args[1]}
        return UNKNOWN


@dataclass(frozen=True)
class _Resource:
    name: str
    type: str
    body: Mapping[str, Any]
    scope: _Scope


def _instances(template: Mapping[str, Any], scope: _Scope) -> Iterator[_Resource]:
    """Every resource deployed in this scenario, loops expanded (one per loop item)."""
    for name, res in template["resources"].items():
        config = res["config"]
        if "loop_type" in config:
            detail = config["loop_type"]["detail"]
            items = scope.eval(detail["array_name"])
            items = items if isinstance(items, list) else [UNKNOWN]
            for item in items:
                inner = scope.with_local(detail["item_name"], item)
                if config.get("condition") is None or inner.eval(config["condition"]) is not False:
                    yield _Resource(name, res["type"], config["config"], inner)
        elif set(config) == {"condition", "config"}:
            if scope.eval(config["condition"]) is not False:
                yield _Resource(name, res["type"], config["config"], scope)
        else:
            yield _Resource(name, res["type"], config, scope)


def _get(res: _Resource, *path: str) -> Any:
    node: Any = res.body
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return res.scope.eval(node)


def _check_site(res: _Resource, plan: str) -> Iterator[str]:
    if _get(res, "properties", "httpsOnly") is not True:
        yield "httpsOnly must be true"
    if _get(res, "properties", "siteConfig", "minTlsVersion") != "1.2":
        yield "siteConfig.minTlsVersion must be '1.2'"
    if _get(res, "properties", "siteConfig", "ftpsState") != "Disabled":
        yield "siteConfig.ftpsState must be 'Disabled'"
    if "SystemAssigned" not in str(_get(res, "identity", "type")):
        yield "needs a system-assigned managed identity"
    settings = _get(res, "properties", "siteConfig", "appSettings")
    if not isinstance(settings, list):
        yield "appSettings cannot be evaluated to a list"
        return
    names = {s.get("name"): s.get("value") for s in settings if isinstance(s, dict)}
    yield from (f"app setting {n} is missing" for n in REQUIRED_SETTINGS if n not in names)
    for key in ("HERALD_SECRET_KEY", "HERALD_SECRET_KEY_PREVIOUS"):
        required = key == "HERALD_SECRET_KEY"
        if (required or key in names) and not str(names.get(key)).startswith(_KV_REFERENCE):
            yield f"{key} must be a Key Vault reference"
    if ("HERALD_AUTH_AUDIENCE" in names) != ("HERALD_AUTH_ISSUER" in names):
        yield "HERALD_AUTH_AUDIENCE and HERALD_AUTH_ISSUER are set together or not at all"
    app_config = _get(res, "properties", "functionAppConfig")
    if plan == "flex":
        runtime = app_config.get("runtime", {}) if isinstance(app_config, dict) else {}
        if runtime.get("name") != "python":
            yield "functionAppConfig.runtime.name must be 'python'"
        if not str(runtime.get("version")).startswith("3."):
            yield "functionAppConfig.runtime.version must be a Python 3 version"
        for bad in sorted(FLEX_FORBIDDEN_SETTINGS & names.keys()):
            yield f"app setting {bad} must not be set on Flex"
        deployment = app_config.get("deployment", {}) if isinstance(app_config, dict) else {}
        auth = deployment.get("storage", {}).get("authentication", {}).get("type")
        if auth not in ("SystemAssignedIdentity", "UserAssignedIdentity"):
            yield "the Flex package container must be reached with a managed identity"
        if "AzureWebJobsStorage__accountName" not in names:
            yield "AzureWebJobsStorage__accountName (identity-based host storage) is missing"
    else:
        if app_config not in (None, UNKNOWN) and app_config != {}:
            yield "functionAppConfig is for Flex only"
        if not str(_get(res, "properties", "siteConfig", "linuxFxVersion")).startswith("Python|"):
            yield "siteConfig.linuxFxVersion must be 'Python|<version>'"
        if names.get("FUNCTIONS_WORKER_RUNTIME") != "python":
            yield "FUNCTIONS_WORKER_RUNTIME must be 'python'"
        if names.get("FUNCTIONS_EXTENSION_VERSION") != "~4":
            yield "FUNCTIONS_EXTENSION_VERSION must be '~4'"


def _check_storage(res: _Resource, plan: str) -> Iterator[str]:
    if _get(res, "properties", "minimumTlsVersion") != "TLS1_2":
        yield "minimumTlsVersion must be 'TLS1_2'"
    if _get(res, "properties", "supportsHttpsTrafficOnly") is not True:
        yield "supportsHttpsTrafficOnly must be true"
    if _get(res, "properties", "allowBlobPublicAccess") is not False:
        yield "allowBlobPublicAccess must be false"
    if plan == "flex" and _get(res, "properties", "allowSharedKeyAccess") is not False:
        yield "allowSharedKeyAccess must be false on the Flex path"


def _check_role(res: _Resource, plan: str) -> Iterator[str]:
    role = _get(res, "properties", "roleDefinitionId")
    role_id = role.get("roleDefinitionName") if isinstance(role, dict) else None
    if role_id not in ROLE_IDS:
        yield f"role definition {role_id!r} is not one of the known built-in roles"
    if _get(res, "properties", "principalType") != "ServicePrincipal":
        yield "principalType must be 'ServicePrincipal'"


def _check_vault(res: _Resource, plan: str) -> Iterator[str]:
    if _get(res, "properties", "enableRbacAuthorization") is not True:
        yield "Key Vault must use RBAC authorization"


_CHECKS = {
    "Microsoft.Web/sites": _check_site,
    "Microsoft.Storage/storageAccounts": _check_storage,
    "Microsoft.Authorization/roleAssignments": _check_role,
    "Microsoft.KeyVault/vaults": _check_vault,
}


def _scenario_params(
    template: Mapping[str, Any], given: Mapping[str, Any], plan: str
) -> dict[str, Any]:
    params = {n: p.get("default", UNKNOWN) for n, p in template["parameters"].items()}
    scope = _Scope(params, template["variables"])
    params = {name: scope.eval(value) for name, value in params.items()}
    return {**params, **given, "hostingPlan": plan}


def lint_template(template: Mapping[str, Any], given: Mapping[str, Any] | None = None) -> list[str]:
    """All findings for one parsed template, each prefixed with its scenario and resource."""
    if "hostingPlan" not in template["parameters"]:
        return ["parameter hostingPlan (flex | consumption) is missing"]
    findings: list[str] = []
    for plan in PLANS:
        scope = _Scope(_scenario_params(template, given or {}, plan), template["variables"])
        resources = list(_instances(template, scope))
        for res in resources:
            check = _CHECKS.get(res.type)
            findings += [
                f"[{plan}] {res.name}: {msg}" for msg in (check(res, plan) if check else ())
            ]
        granted = {
            _role_id(res)
            for res in resources
            if res.type == "Microsoft.Authorization/roleAssignments"
        }
        findings += [
            f"[{plan}] role {title} is never granted"
            for rid, title in ROLE_IDS.items()
            if rid not in granted
        ]
        if not any(res.type == "Microsoft.Web/sites" for res in resources):
            findings.append(f"[{plan}] no function app is deployed")
    return findings


def _role_id(res: _Resource) -> Any:
    role = _get(res, "properties", "roleDefinitionId")
    return role.get("roleDefinitionName") if isinstance(role, dict) else None


def lint_parameters(template: Mapping[str, Any], parameters: Mapping[str, Any]) -> list[str]:
    """The parameters file names only declared parameters and gives every required one."""
    declared = template["parameters"]
    given = parameters.get("parameters", {})
    findings = [
        f"parameters file sets undeclared parameter {n}" for n in given if n not in declared
    ]
    for name, spec in declared.items():
        secure = any(d.get("type") == "secure" for d in spec.get("decorators", []))
        if spec.get("default") is None and name not in given and not secure:
            findings.append(f"parameters file lacks required parameter {name}")
    return findings


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parameters", type=Path, help="an ARM deploymentParameters JSON file")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    given = json.loads(args.parameters.read_text()) if args.parameters else {}
    values = {k: v.get("value") for k, v in given.get("parameters", {}).items()}
    failed = False
    for path in args.files:
        template = BicepParser().parse(file_path=path)
        findings = lint_template(template, values)
        if args.parameters:
            findings += lint_parameters(template, given)
        for finding in findings:
            print(f"{path}: {finding}")
        failed = failed or bool(findings)
    print("lint_bicep: " + ("FAILED" if failed else f"{len(args.files)} file(s) clean"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
