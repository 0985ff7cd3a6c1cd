"""How the command line reaches Herald's HTTP API, and what it says when it cannot.

A connection string names ``sb://host:port/`` (or ``--endpoint`` does, beside a bearer token);
the client speaks https to it. When that is the running local stack's endpoint, the stack's
development CA is trusted without being asked, and ``--http`` goes to the stack's plain-http
port. Every failure to connect becomes one sentence that says what to do.
"""

from __future__ import annotations

import argparse
import re
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from shared.auth.sas import parse_connection_string
from shared.cli.local_stack import LocalStack
from shared.client import HeraldClient, HeraldClientError
from shared.errors import BadRequestError

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_DETAIL = re.compile(r"<Detail>(.*?)(?:\.?TrackingId:.*)?</Detail>", re.DOTALL)
_RIGHTS_HINT = {
    401: "check the connection string's key (rotated, or another hub's?) or the token",
    403: "the caller lacks the right this needs: use the Full policy's connection string "
    "(DefaultFullSharedAccessSignature), or a token with the role",
}


def add_connection_options(parser: argparse.ArgumentParser, *, right: str) -> None:
    """The options every command that calls Herald's HTTP API takes."""
    caller = parser.add_mutually_exclusive_group(required=True)
    caller.add_argument(
        "--connection-string",
        metavar="STRING",
        help=f"a connection string of a policy with the {right} right, such as "
        "FULL_CONNECTION_STRING as `make run` prints it",
    )
    caller.add_argument(
        "--bearer-token",
        metavar="TOKEN",
        help=f"instead, a token from a trusted issuer (Entra ID) whose roles grant {right} on "
        "the hub, with --endpoint; '-' reads it from standard input (off the command line)",
    )
    parser.add_argument("--endpoint", help="with --bearer-token: Herald's sb:// or https:// URL")
    parser.add_argument(
        "--ca-file",
        type=Path,
        help="a CA certificate (PEM) to trust for https; the running local stack's own "
        "(.runtime/tls/ca.pem) is trusted without it",
    )
    parser.add_argument(
        "--http",
        action="store_true",
        help="plain http: to the local stack's http port, or to the endpoint's own host and port",
    )


def open_client(args: argparse.Namespace, stack: LocalStack | None) -> HeraldClient:
    """A client for the hub in ``args``, reaching the endpoint its connection string (or
    --endpoint) names, and signing as the connection string or carrying the bearer token."""
    if args.connection_string is not None:
        endpoint = parse_connection_string(args.connection_string).endpoint
    elif args.endpoint:
        endpoint = args.endpoint
    else:
        raise BadRequestError("--bearer-token needs --endpoint, the URL Herald answers at.")
    local = stack if stack is not None and _same_place(endpoint, stack.endpoint) else None
    caller = {
        "connection_string": args.connection_string,
        "endpoint": endpoint,
        "bearer_token": args.bearer_token,
    }
    if args.http:
        base = local.url.rstrip("/") + "/" if local else None
        return HeraldClient(hub=args.hub, plain_http=True, base_url=base, **caller)
    ca_file = args.ca_file or (Path(local.ca_file) if local else None)
    verify: bool | ssl.SSLContext = True
    if ca_file is not None:
        verify = ssl.create_default_context(cafile=str(ca_file))
    return HeraldClient(hub=args.hub, verify=verify, **caller)


def _same_place(endpoint: str, other: str) -> bool:
    """Both name one loopback port (localhost and 127.0.0.1 alike)."""
    mine, theirs = urlsplit(endpoint), urlsplit(other)
    loopback = mine.hostname in _LOOPBACK and theirs.hostname in _LOOPBACK
    return loopback and mine.port == theirs.port


def explain(error: Exception, client_url: str) -> str | None:
    """One sentence for a failure to talk to Herald, or None when ``error`` is not one."""
    if isinstance(error, HeraldClientError):
        found = _DETAIL.search(error.detail)
        detail = (found.group(1) if found else error.detail).strip() or "no detail"
        hint = _RIGHTS_HINT.get(error.status)
        return f"Herald answered {error.status}: {detail}" + (f"; {hint}." if hint else "")
    if isinstance(error, httpx.ConnectError):
        if "CERTIFICATE_VERIFY_FAILED" in str(error):
            return (
                f"{client_url} presented a certificate this machine does not trust: for the "
                "local stack run the command in the repository (it trusts .runtime/tls/ca.pem), "
                "otherwise pass --ca-file."
            )
        return f"nothing answers at {client_url} ({error}): is Herald running (`make run`)?"
    if isinstance(error, httpx.RemoteProtocolError):
        return (
            f"{client_url} closed the connection without answering: if it serves https, "
            "leave out --http."
        )
    if isinstance(error, httpx.TimeoutException):
        return f"{client_url} did not answer in time ({type(error).__name__})."
    if isinstance(error, httpx.HTTPError):
        return f"talking to {client_url} failed: {type(error).__name__}: {error}"
    return None
