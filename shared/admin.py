"""``python -m shared.admin``: create and manage hubs, keys, credentials and policies.

Hub commands talk to Azure Storage with the app's own settings (``AzureWebJobsStorage`` and
``HERALD_SECRET_KEY``), read from the environment, then from ``local.settings.json``, then
from the running local stack (``.runtime/stack.json``). Secrets are masked unless a command
exists to print them (``connection-strings``, ``sas-token``). ``export`` and ``import`` speak
the NH API over HTTP instead, signed with a connection string or carrying a bearer token
(``--bearer-token`` with ``--endpoint``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any

from shared.auth.sas import (
    AccessRight,
    SasPolicy,
    format_connection_string,
    generate_key,
    generate_sas_token,
)
from shared.auth.user_token import UserTokenAlgorithm, UserTokenIssuer
from shared.client import HeraldClient, HeraldClientError
from shared.config import Settings
from shared.engine import Engine
from shared.errors import BadRequestError
from shared.hubs.model import FULL_POLICY, LISTEN_POLICY, Hub, TagPolicy
from shared.pns.base import Platform

RUNTIME_STACK = Path(".runtime") / "stack.json"
DEFAULT_ENDPOINT = "sb://localhost:7071/"


def load_local_environment(directory: Path) -> None:
    """Fill unset settings from local.settings.json and the running local stack."""
    settings_file = directory / "local.settings.json"
    if settings_file.is_file():
        for key, value in json.loads(settings_file.read_text()).get("Values", {}).items():
            if value and not os.environ.get(key):
                os.environ[key] = str(value)
    stack = directory / RUNTIME_STACK
    if stack.is_file() and not os.environ.get("AzureWebJobsStorage"):
        os.environ["AzureWebJobsStorage"] = json.loads(stack.read_text())["storage"]


def _mask(secret: str) -> str:
    return secret[:4] + "…" if secret else ""


def describe(hub: Hub) -> dict[str, Any]:
    """A hub as JSON with every secret masked."""
    return {
        "name": hub.name,
        **hub.settings_json(),
        "policies": {
            p.name: {
                "rights": sorted(p.rights),
                "primaryKey": _mask(p.primary_key),
                "secondaryKey": _mask(p.secondary_key),
            }
            for p in hub.policies.values()
        },
        "credentials": {
            platform.value: {k: _mask(str(v)) for k, v in credential.items()}
            for platform, credential in hub.credentials.items()
        },
    }


def connection_strings(hub: Hub, endpoint: str) -> dict[str, str]:
    return {
        name: format_connection_string(endpoint, name, policy.primary_key)
        for name, policy in hub.policies.items()
    }


async def _create(engine: Engine, args: argparse.Namespace) -> Any:
    hub = Hub.new(args.hub, shard_count=args.shards, max_tags=args.max_tags)
    await engine.hubs.create_hub(hub)
    return {"hub": describe(hub), "connectionStrings": connection_strings(hub, args.endpoint)}


async def _show(engine: Engine, args: argparse.Namespace) -> Any:
    return describe(await engine.hubs.get_hub(args.hub, fresh=True))


async def _list(engine: Engine, _: argparse.Namespace) -> Any:
    return [describe(hub) async for hub in engine.hubs.list_hubs()]


async def _delete(engine: Engine, args: argparse.Namespace) -> Any:
    deleted = await engine.hubs.delete_hub(args.hub)
    return {
        "deleted": deleted.name,
        "deletedAt": deleted.deleted_at.astimezone(UTC).isoformat(),
        "rowsPurged": deleted.rows_purged,
        "purge": "The feedback processor deletes the hub's devices, sends and feedback over its "
        "next runs; the name can be used again once that ends.",
    }


async def _reseal(engine: Engine, _: argparse.Namespace) -> Any:
    names = [hub.name async for hub in engine.hubs.list_hubs()]
    for name in names:
        await _change(engine, name, lambda hub: hub)
    return {"resealed": names}


async def _change(engine: Engine, name: str, change: Callable[[Hub], Hub]) -> Hub:
    hub = change(await engine.hubs.get_hub(name, fresh=True))
    return await engine.hubs.replace_hub(hub)


async def _rotate(engine: Engine, args: argparse.Namespace) -> Any:
    def rotate(hub: Hub) -> Hub:
        policy = hub.policies[args.policy]
        if args.key == "primary":
            policy = replace(policy, primary_key=generate_key())
        else:
            policy = replace(policy, secondary_key=generate_key())
        return replace(hub, policies={**hub.policies, policy.name: policy})

    hub = await _change(engine, args.hub, rotate)
    return {
        "rotated": f"{args.policy} {args.key}",
        "policy": describe(hub)["policies"][args.policy],
    }


async def _add_policy(engine: Engine, args: argparse.Namespace) -> Any:
    rights = frozenset(AccessRight(r.strip().capitalize()) for r in args.rights.split(","))
    policy = SasPolicy(args.policy, rights, generate_key(), generate_key())
    hub = await _change(
        engine, args.hub, lambda h: replace(h, policies={**h.policies, policy.name: policy})
    )
    return describe(hub)["policies"][args.policy]


async def _strings(engine: Engine, args: argparse.Namespace) -> Any:
    return connection_strings(await engine.hubs.get_hub(args.hub, fresh=True), args.endpoint)


async def _token(engine: Engine, args: argparse.Namespace) -> Any:
    hub = await engine.hubs.get_hub(args.hub, fresh=True)
    policy = hub.policies[args.policy]
    expiry = int(time.time()) + args.ttl
    return generate_sas_token(args.uri, key_name=policy.name, key=policy.primary_key, expiry=expiry)


async def _set_credential(engine: Engine, args: argparse.Namespace) -> Any:
    text = await asyncio.to_thread(args.file.read_text if args.file else sys.stdin.read)
    credential = json.loads(text)
    platform = Platform(args.platform)
    hub = await _change(
        engine, args.hub, lambda h: replace(h, credentials={**h.credentials, platform: credential})
    )
    return describe(hub)["credentials"]


async def _tag_policy(engine: Engine, args: argparse.Namespace) -> Any:
    policy = TagPolicy(allow=tuple(args.allow or ("*",)), reserved=tuple(args.reserved or ()))
    hub = await _change(engine, args.hub, lambda h: replace(h, tag_policy=policy))
    return hub.tag_policy.to_json()


async def _user_issuer(engine: Engine, args: argparse.Namespace) -> Any:
    issuer = UserTokenIssuer(
        issuer=args.issuer,
        audience=args.audience,
        algorithm=UserTokenAlgorithm(args.algorithm),
        key=await asyncio.to_thread(args.key_file.read_text),
    )
    hub = await _change(engine, args.hub, lambda h: replace(h, user_token_issuer=issuer))
    return describe(hub)["userTokenIssuer"]


async def _export(args: argparse.Namespace) -> Any:
    count = 0
    async with _client(args) as client:
        with args.out.open("w") as out:
            async for line in client.export_lines():
                out.write(line + "\n")
                count += 1
    return {"exported": count, "to": str(args.out)}


async def _import(args: argparse.Namespace) -> Any:
    count = 0
    async with _client(args) as client:
        with args.input.open() as lines:
            for line in lines:
                if line.strip():
                    await client.put_document(json.loads(line))
                    count += 1
    return {"imported": count, "from": str(args.input)}


def _client(args: argparse.Namespace) -> HeraldClient:
    if args.bearer_token is not None and not args.endpoint:
        raise BadRequestError("--bearer-token needs --endpoint, the URL Herald answers at.")
    return HeraldClient(
        args.connection_string,
        args.hub,
        endpoint=args.endpoint,
        bearer_token=args.bearer_token,
        plain_http=args.http,
    )


Command = Callable[[Engine, argparse.Namespace], Awaitable[Any]]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shared.admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, run: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.set_defaults(run=run)
        if name not in ("list", "reseal"):
            sub.add_argument("hub")
        return sub

    create = command("create", _create, "create a hub with NH's two default policies")
    create.add_argument("--shards", type=int, default=16)
    create.add_argument("--max-tags", type=int, default=200)
    create.add_argument("--endpoint", default=DEFAULT_ENDPOINT)
    command("show", _show, "show a hub, secrets masked")
    command("list", _list, "list hubs")
    command("delete", _delete, "delete a hub and, over the next timer runs, all its data")
    command("reseal", _reseal, "seal every hub's secrets again with HERALD_SECRET_KEY")
    rotate = command("rotate-key", _rotate, "regenerate one key of a policy")
    rotate.add_argument("--policy", default=FULL_POLICY)
    rotate.add_argument("--key", choices=("primary", "secondary"), required=True)
    policy = command("add-policy", _add_policy, "add a SAS policy")
    policy.add_argument("policy")
    policy.add_argument("--rights", required=True, help="comma-separated: Listen,Send,Manage")
    strings = command("connection-strings", _strings, "print each policy's connection string")
    strings.add_argument("--endpoint", default=DEFAULT_ENDPOINT)
    token = command("sas-token", _token, "print a SAS token")
    token.add_argument("--policy", default=LISTEN_POLICY)
    token.add_argument("--uri", required=True, help="the resource URI the token covers")
    token.add_argument("--ttl", type=int, default=3600, help="seconds")
    credential = command("set-credential", _set_credential, "set a PNS credential from JSON")
    credential.add_argument("platform", choices=[p.value for p in Platform])
    credential.add_argument(
        "--file", type=Path, help="the credential JSON (default: standard input)"
    )
    tags = command("set-tag-policy", _tag_policy, "what Listen-key clients may tag")
    tags.add_argument("--allow", action="append", help="glob pattern (repeatable)")
    tags.add_argument("--reserved", action="append", help="prefix only backends may set")
    issuer = command("set-user-issuer", _user_issuer, "trust an identity provider's JWTs")
    issuer.add_argument("--issuer", required=True)
    issuer.add_argument("--audience", required=True)
    issuer.add_argument("--algorithm", choices=[a.value for a in UserTokenAlgorithm], required=True)
    issuer.add_argument(
        "--key-file", type=Path, required=True, help="HS256 secret or PEM public key"
    )
    for name, transfer_run, direction in (
        ("export", _export, "--out"),
        ("import", _import, "--input"),
    ):
        transfer = commands.add_parser(name, help=f"{name} installations as JSON lines (NH API)")
        transfer.set_defaults(run=None, transfer=transfer_run)
        transfer.add_argument("hub")
        signer = transfer.add_mutually_exclusive_group(required=True)
        signer.add_argument("--connection-string", help="a Manage policy's")
        signer.add_argument(
            "--bearer-token",
            help="a token from a trusted issuer (Entra ID) whose roles grant Manage on the hub; "
            "'-' reads it from standard input",
        )
        transfer.add_argument("--endpoint", help="with --bearer-token: https://host/ of Herald")
        transfer.add_argument(direction, type=Path, required=True)
        transfer.add_argument("--http", action="store_true", help="plain http (a local stack)")
    return parser


async def _run(args: argparse.Namespace) -> Any:
    if args.run is None:  # export and import speak HTTP and need no storage settings
        return await args.transfer(args)
    engine = Engine.build(Settings.from_env())
    try:
        return await args.run(engine, args)
    finally:
        await engine.aclose()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "bearer_token", None) == "-":  # kept off the command line and out of ps
        args.bearer_token = sys.stdin.readline().strip()
    load_local_environment(Path.cwd())
    from shared.errors import HeraldError

    try:
        result = asyncio.run(_run(args))
    except HeraldError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 1
    except HeraldClientError as error:  # Herald's answer to export or import
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(result if isinstance(result, str) else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
