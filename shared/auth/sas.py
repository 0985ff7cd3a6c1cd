"""NH shared access signatures: connection strings, token generation and verification.

Tokens look like ``SharedAccessSignature sr=<uri>&sig=<b64 hmac>&se=<epoch>&skn=<policy>``, with
the parameters in any order. The signature covers ``sr`` exactly as sent (still URL-encoded, in
whichever hex case the SDK chose) plus ``"\\n"`` plus ``se``, keyed with the UTF-8 bytes of the key
string (never base64-decoded). ``sr`` differs by SDK: the namespace root (JS), the full request
URL with its query (.NET, Java) or the hub URL (Python sample); :func:`verify_sas` accepts any of
them as long as it is a prefix of the request URL, ignoring scheme, case and ``sr``'s query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, unquote, unquote_plus

from shared.errors import BadRequestError, ForbiddenError, UnauthorizedError

TOKEN_SCHEME = "SharedAccessSignature"
KEY_BYTES = 32

_JS_SAFE = "-_.!~*'()"  # what encodeURIComponent leaves alone
_DOTNET_SAFE = "-_.!*()"  # what HttpUtility.UrlEncode leaves alone
_REQUIRED_PARAMS = ("sr", "sig", "se", "skn")


class AccessRight(StrEnum):
    """A claim a SAS policy grants; Manage implies Send and Listen."""

    LISTEN = "Listen"
    SEND = "Send"
    MANAGE = "Manage"


class SrEncoding(StrEnum):
    """How an SDK URL-encodes the (lower-cased) resource URI it signs."""

    JS = "js"  # encodeURIComponent: %3A, upper-case hex
    DOTNET = "dotnet"  # HttpUtility.UrlEncode: %3a, lower-case hex, space as '+'


@dataclass(frozen=True, repr=False)
class SasPolicy:
    """A named hub policy with its rights and two keys, either of which verifies a token."""

    name: str
    rights: frozenset[AccessRight]
    primary_key: str
    secondary_key: str

    def grants(self, right: AccessRight) -> bool:
        return right in self.rights or AccessRight.MANAGE in self.rights

    def __repr__(self) -> str:
        rights = ",".join(sorted(self.rights))
        return f"SasPolicy(name={self.name!r}, rights={rights!r}, keys=***)"


@dataclass(frozen=True, repr=False)
class ConnectionString:
    """``Endpoint=sb://host/;SharedAccessKeyName=...;SharedAccessKey=...``."""

    endpoint: str
    key_name: str
    key: str

    def __str__(self) -> str:
        return (
            f"Endpoint={self.endpoint};SharedAccessKeyName={self.key_name};"
            f"SharedAccessKey={self.key}"
        )

    def __repr__(self) -> str:
        return f"ConnectionString(endpoint={self.endpoint!r}, key_name={self.key_name!r}, key=***)"


@dataclass(frozen=True)
class SasToken:
    """The parameters of a SAS token; ``sr`` and ``sig`` are kept exactly as sent."""

    raw_sr: str
    raw_sig: str
    expiry: int
    key_name: str

    @property
    def resource_uri(self) -> str:
        return unquote_plus(self.raw_sr)


def parse_connection_string(text: str) -> ConnectionString:
    """Parse a connection string the way the JS SDK does (``;``-separated, first ``=`` splits).

    Key names match case-insensitively, empty parts (a trailing ``;``) are skipped and unknown
    parts such as ``EntityPath`` are ignored. Raises :class:`BadRequestError` naming what is wrong.
    """
    parts: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise BadRequestError(f"Connection string part {name.strip()!r} has no '='.")
        parts[name.strip().lower()] = value.strip()
    missing = [
        name
        for name in ("Endpoint", "SharedAccessKeyName", "SharedAccessKey")
        if not parts.get(name.lower())
    ]
    if missing:
        raise BadRequestError(f"Connection string is missing {', '.join(missing)}.")
    return ConnectionString(
        endpoint=parts["endpoint"],
        key_name=parts["sharedaccesskeyname"],
        key=parts["sharedaccesskey"],
    )


def format_connection_string(endpoint: str, key_name: str, key: str) -> str:
    """The connection string for ``endpoint`` (``sb://host/`` or ``http://host:port/``).

    A missing trailing slash is added: the Java SDK appends the hub name to the endpoint as is.
    """
    endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
    return str(ConnectionString(endpoint=endpoint, key_name=key_name, key=key))


def generate_key() -> str:
    """A fresh policy key: 32 random bytes, base64 (44 characters), as NH's keys look."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def generate_sas_token(
    resource_uri: str,
    *,
    key_name: str,
    key: str,
    expiry: int,
    encoding: SrEncoding = SrEncoding.JS,
) -> str:
    """A token as the SDKs build it: ``sr`` is the lower-cased URI, URL-encoded, then signed.

    ``expiry`` is the ``se`` value in Unix seconds (the JS SDK uses now + 3600, .NET now + 1200).
    """
    lowered = resource_uri.lower()
    if encoding is SrEncoding.JS:
        raw_sr = quote(lowered, safe=_JS_SAFE)
    else:
        raw_sr = quote(lowered, safe=_DOTNET_SAFE + " ").replace(" ", "+")
        raw_sr = _lower_escapes(raw_sr)
    signature = _sign(key, raw_sr, str(expiry))
    sig = quote(signature, safe="")
    if encoding is SrEncoding.DOTNET:
        sig = _lower_escapes(sig)
    return f"{TOKEN_SCHEME} sr={raw_sr}&sig={sig}&se={expiry}&skn={quote(key_name, safe='')}"


def parse_sas_token(header: str | None) -> SasToken:
    """Split an ``Authorization`` value into its parameters; any defect is a 401."""
    if header is None or not header.strip():
        raise UnauthorizedError("MissingToken: The authorization header was not provided.")
    if not header.isascii():
        raise _malformed("it must be ASCII (URL-encoded)")
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != TOKEN_SCHEME.lower() or not rest.strip():
        raise _malformed(f"the scheme must be '{TOKEN_SCHEME}'")
    params: dict[str, str] = {}
    for pair in rest.strip().split("&"):
        name, sep, value = pair.partition("=")
        if not sep or not value:
            raise _malformed(f"parameter {name!r} has no value")
        if name in params:
            raise _malformed(f"parameter {name!r} appears twice")
        params[name] = value
    missing = [name for name in _REQUIRED_PARAMS if name not in params]
    if missing:
        raise _malformed(f"missing {', '.join(missing)}")
    expiry = params["se"]
    if not (expiry.isascii() and expiry.isdigit()) or len(expiry) > 12:
        raise _malformed("se must be a Unix time in seconds")
    return SasToken(
        raw_sr=params["sr"],
        raw_sig=params["sig"],
        expiry=int(expiry),
        key_name=unquote(params["skn"]),
    )


def verify_sas(
    header: str | None,
    *,
    request_url: str,
    policies: Mapping[str, SasPolicy],
    required: AccessRight,
    now: float,
) -> SasPolicy:
    """Check an ``Authorization`` header against a hub's policies; answer the policy it used.

    ``request_url`` is the URL as received (scheme optional, query ignored). Order of checks:
    format, policy name, signature (primary or secondary key), expiry (``now`` after ``se``),
    audience, then the right. Every failure but the last is :class:`UnauthorizedError` (401);
    a valid token whose policy lacks ``required`` is :class:`ForbiddenError` (403).
    """
    token = parse_sas_token(header)
    policy = policies.get(token.key_name)
    if policy is None:
        raise UnauthorizedError(
            "40103: Invalid authorization token signature. "
            f"The shared access policy {token.key_name!r} does not exist on this hub."
        )
    if not _signature_matches(token, policy):
        raise UnauthorizedError("40103: Invalid authorization token signature.")
    if now > token.expiry:
        raise UnauthorizedError(f"ExpiredToken: The token expired at {token.expiry} (Unix time).")
    if not _audience_matches(token.resource_uri, request_url):
        raise UnauthorizedError(
            "40104: Invalid authorization token audience. "
            "The token's sr does not cover the request URL."
        )
    if not policy.grants(required):
        raise ForbiddenError(f"{required.value} claim is required for this operation.")
    return policy


def _sign(key: str, raw_sr: str, expiry: str) -> str:
    digest = hmac.new(key.encode(), f"{raw_sr}\n{expiry}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _signature_matches(token: SasToken, policy: SasPolicy) -> bool:
    presented = unquote(token.raw_sig).encode()
    matches = False
    for key in (policy.primary_key, policy.secondary_key):
        # Both keys are always tried, so timing does not tell which one matched.
        expected = _sign(key, token.raw_sr, str(token.expiry)).encode()
        matches |= bool(key) and hmac.compare_digest(expected, presented)
    return matches


def _audience_matches(resource_uri: str, request_url: str) -> bool:
    """``sr`` (scheme and query dropped) must be a path-boundary prefix of the request URL."""
    audience = _strip_scheme(resource_uri).split("?", 1)[0].lower()
    target = _strip_scheme(unquote(request_url)).split("?", 1)[0].lower()
    if not audience or not target.startswith(audience):
        return False
    rest = target[len(audience) :]
    return not rest or audience.endswith("/") or rest.startswith("/")


def _strip_scheme(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if sep and scheme and scheme.isascii() and scheme.isalpha():
        return rest
    return url


def _lower_escapes(encoded: str) -> str:
    pieces = encoded.split("%")
    return pieces[0] + "".join("%" + piece[:2].lower() + piece[2:] for piece in pieces[1:])


def _malformed(reason: str) -> UnauthorizedError:
    return UnauthorizedError(f"40105: Malformed authorization token: {reason}.")
