"""``herald`` (or ``python -m shared.admin``): create and manage hubs, keys, credentials and
policies, and move installations in and out.

Hub commands talk to Azure Storage with the app's own settings (``AzureWebJobsStorage`` and
``HERALD_SECRET_KEY``), read from the environment, then from ``local.settings.json``, then
from the running local stack (``.runtime/stack.json``). ``import`` and ``export`` call
Herald's HTTP API with a connection string, or a bearer token (``--bearer-token`` with
``--endpoint``); the running local stack's CA is trusted for them.
Secrets are masked unless a command exists to print them (``connection-strings``,
``sas-token``). Every failure is one line on standard error and a non-zero exit.
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

from azure.core.exceptions import ServiceRequestError

from shared.auth.sas import (
    AccessRight,
    SasPolicy,
    format_connection_string,
    generate_key,
    generate_sas_token,
)
from shared.auth.user_token import UserTokenAlgorithm, UserTokenIssuer
from shared.cli.connect import add_connection_options, explain, open_client
from shared.cli.credential_flags import FORMATS, add_credential_options, credential_document
from shared.cli.local_stack import RUNTIME_DIR, LocalStack
from shared.cli.transfer import export_lines, import_lines, run_job
from shared.config import Settings
from shared.engine import Engine
from shared.errors import BadRequestError, HeraldError, NotFoundError
from shared.hubs.model import FULL_POLICY, LISTEN_POLICY, Hub, TagPolicy
from shared.pns.base import Platform
from shared.pns.credentials import read_credential
from shared.pns.options import PnsOptions
from shared.pns.registry import build_sender


def load_local_environment(directory: Path, stack: LocalStack | None) -> None:
    """Fill unset settings from local.settings.json (the running local stack's, else the one
    in ``directory``) and the stack's storage."""
    settings_file = Path(stack.settings_file) if stack else directory / "local.settings.json"
    if settings_file.is_file():
        for key, value in json.loads(settings_file.read_text()).get("Values", {}).items():
            if value and not os.environ.get(key):
                os.environ[key] = str(value)
    if stack is not None and not os.environ.get("AzureWebJobsStorage"):
        os.environ["AzureWebJobsStorage"] = stack.storage


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


def _endpoint(args: argparse.Namespace, settings: Settings) -> str | None:
    """--endpoint, else the running local stack's, else the deployment's first public host."""
    if args.endpoint:
        return str(args.endpoint)
    if args.stack is not None:
        return str(args.stack.endpoint)
    hosts = sorted(settings.public_hosts.hosts, key=str)
    if hosts:
        host, port = hosts[0]
        return f"sb://{host}/" if port is None else f"sb://{host}:{port}/"
    return None


_NO_ENDPOINT = "give --endpoint sb://<the host clients reach Herald by>/ for connection strings"


async def _create(engine: Engine, args: argparse.Namespace) -> Any:
    hub = Hub.new(args.hub, shard_count=args.shards, max_tags=args.max_tags)
    await engine.hubs.create_hub(hub)
    endpoint = _endpoint(args, engine.settings)
    if endpoint is None:
        return {"hub": describe(hub), "note": f"No local stack runs here: {_NO_ENDPOINT}."}
    return {"hub": describe(hub), "connectionStrings": connection_strings(hub, endpoint)}


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


def _policy(hub: Hub, name: str) -> SasPolicy:
    policy = hub.policies.get(name)
    if policy is None:
        names = ", ".join(sorted(hub.policies))
        raise NotFoundError(f"The hub {hub.name!r} has no policy {name!r}; it has {names}.")
    return policy


async def _rotate(engine: Engine, args: argparse.Namespace) -> Any:
    def rotate(hub: Hub) -> Hub:
        policy = _policy(hub, args.policy)
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
    hub = await engine.hubs.get_hub(args.hub, fresh=True)
    endpoint = _endpoint(args, engine.settings)
    if endpoint is None:
        raise BadRequestError(f"No local stack runs here: {_NO_ENDPOINT}.")
    return connection_strings(hub, endpoint)


async def _token(engine: Engine, args: argparse.Namespace) -> Any:
    hub = await engine.hubs.get_hub(args.hub, fresh=True)
    policy = _policy(hub, args.policy)
    expiry = int(time.time()) + args.ttl
    return generate_sas_token(args.uri, key_name=policy.name, key=policy.primary_key, expiry=expiry)


async def _set_credential(engine: Engine, args: argparse.Namespace) -> Any:
    platform = Platform(args.platform)
    credential = read_credential(platform, await asyncio.to_thread(credential_document, args))
    # The sender as a send would build it: this also checks what the sender checks, such as
    # the Baidu and Xiaomi endpoints' hosts. It connects to nothing until a send.
    await build_sender(platform, credential, PnsOptions.from_settings(engine.settings)).aclose()
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


class _Failed(Exception):
    """The command ran and reported its result, but part of the work failed."""

    def __init__(self, result: Any) -> None:
        super().__init__("part of the work failed")
        self.result = result


class _Unreachable(Exception):
    """Herald's HTTP API could not be used at all; the message says why, in one line."""


_JOB_TYPES = {
    "create": "ImportCreateRegistrations",
    "update": "ImportUpdateRegistrations",
    "upsert": "ImportUpsertRegistrations",
    "delete": "ImportDeleteRegistrations",
}


async def _job(args: argparse.Namespace, job_type: str, import_file_uri: str | None) -> Any:
    """Run ``job_type`` as an NH job between the registry and the container ``--job`` names."""
    async with open_client(args, args.stack) as client:
        try:
            summary, completed = await run_job(client, job_type, args.job, import_file_uri)
        except Exception as error:
            raise _Unreachable(explain(error, client.url) or error) from error
    if not completed or summary["failed"]:
        raise _Failed(summary)
    return summary


async def _export(args: argparse.Namespace) -> Any:
    if args.job is not None:
        return await _job(args, "ExportRegistrations", None)
    if args.out is None:
        raise BadRequestError("give --out FILE, or --job CONTAINER_SAS_URI to run an NH job.")
    async with open_client(args, args.stack) as client:
        try:
            return await export_lines(client, args.out)
        except Exception as error:
            raise _Unreachable(explain(error, client.url) or error) from error


async def _import(args: argparse.Namespace) -> Any:
    if args.job is not None:
        if args.input_uri is None:
            raise BadRequestError("--job needs --input-uri: the import file's SAS URI.")
        return await _job(args, _JOB_TYPES[args.mode], args.input_uri)
    if args.input is None:
        raise BadRequestError("give --input FILE, or --job and --input-uri to run an NH job.")
    if not args.input.is_file():
        raise BadRequestError(f"{args.input}: no such file.")
    async with open_client(args, args.stack) as client:
        try:
            summary, complete = await import_lines(client, args.input)
        except Exception as error:
            raise _Unreachable(explain(error, client.url) or error) from error
    if not complete:
        raise _Failed(summary)
    return summary


Command = Callable[[Engine, argparse.Namespace], Awaitable[Any]]
_ENDPOINT_HELP = (
    "the endpoint the connection strings name, sb://host[:port]/ (default: the running local "
    "stack's, else the first of HERALD_PUBLIC_HOSTS)"
)


def _program() -> str:
    return "herald" if Path(sys.argv[0]).name == "herald" else "python -m shared.admin"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=_program(), description=__doc__)
    parser.add_argument(
        "--stack-dir",
        type=Path,
        default=RUNTIME_DIR,
        help="where `make run` describes the local stack (default: %(default)s)",
    )
    parser.add_argument("--debug", action="store_true", help="show a failure's traceback")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, run: Command, help_text: str, **options: Any) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, **options)
        sub.set_defaults(run=run)
        if name not in ("list", "reseal"):
            sub.add_argument("hub")
        return sub

    create = command("create", _create, "create a hub with NH's two default policies")
    create.add_argument("--shards", type=int, default=16)
    create.add_argument("--max-tags", type=int, default=200)
    create.add_argument("--endpoint", help=_ENDPOINT_HELP)
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
    strings.add_argument("--endpoint", help=_ENDPOINT_HELP)
    token = command("sas-token", _token, "print a SAS token for the Authorization header")
    token.add_argument(
        "--policy",
        default=LISTEN_POLICY,
        help=f"the policy whose key signs it (default: %(default)s, which may only register "
        f"devices; {FULL_POLICY} may also send and manage)",
    )
    token.add_argument("--uri", required=True, help="the resource URI the token covers")
    token.add_argument("--ttl", type=int, default=3600, help="seconds (default: %(default)s)")
    credential = command(
        "set-credential",
        _set_credential,
        "set a hub's credential for one push service, checked before it is stored",
        epilog=FORMATS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_credential_options(credential)
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
    for name, transfer_run, direction, right, what in (
        ("export", _export, "--out", "Manage", "write every installation to FILE"),
        ("import", _import, "--input", "Listen", "create or update each installation of FILE"),
    ):
        transfer = commands.add_parser(
            name, help=f"{name} installations as JSON lines, or registrations as an NH job",
            description=f"{what}, one JSON line each, through Herald's HTTP API; or, with "
            "--job, run NH's registrations job between the hub and a Blob container (Manage). "
            "Shows progress and ends with counts.",
        )  # fmt: skip
        transfer.set_defaults(run=None, transfer=transfer_run)
        transfer.add_argument("hub")
        transfer.add_argument(
            direction, type=Path, metavar="FILE", help="the JSON-lines file (without --job)"
        )
        transfer.add_argument(
            "--job",
            metavar="CONTAINER_SAS_URI",
            help="run an NH job instead: the SAS URI (read, write, list) of the Blob container "
            "that receives its output and failure files",
        )
        add_connection_options(transfer, right=right)
    imports = commands.choices["import"]
    imports.add_argument(
        "--input-uri", metavar="FILE_SAS_URI", help="with --job: the import file's SAS URI"
    )
    imports.add_argument(
        "--mode",
        choices=sorted(_JOB_TYPES),
        default="upsert",
        help="with --job: what each line does (default: %(default)s)",
    )
    return parser


async def _run(args: argparse.Namespace) -> Any:
    if args.run is None:  # export and import speak HTTP and need no storage settings
        return await args.transfer(args)
    engine = Engine.build(Settings.from_env())
    try:
        return await args.run(engine, args)
    finally:
        await engine.aclose()


def _failure(error: BaseException) -> str:
    """One line for what went wrong, saying what to do where that is known."""
    if isinstance(error, HeraldError):
        return error.detail
    if isinstance(error, _Unreachable):
        return str(error)
    if isinstance(error, ServiceRequestError):
        return (
            f"cannot reach storage ({error.message.splitlines()[0]}): is the local stack "
            "running (`make run`), or is AzureWebJobsStorage set?"
        )
    if isinstance(error, OSError):
        return str(error)
    return f"{type(error).__name__}: {error} (--debug shows where)"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "bearer_token", None) == "-":  # kept off the command line and out of ps
        args.bearer_token = sys.stdin.readline().strip()
    args.stack = LocalStack.read(args.stack_dir)
    load_local_environment(Path.cwd(), args.stack)
    try:
        result = asyncio.run(_run(args))
    except _Failed as failed:
        print(json.dumps(failed.result, indent=2, ensure_ascii=False))
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"error: {_failure(error)}", file=sys.stderr)
        return 1
    print(result if isinstance(result, str) else json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
