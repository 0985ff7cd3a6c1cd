"""NH shared access signatures: connection strings, token generation and verification.

Tokens look like ``SharedAccessSignature sr=<uri>&sig=<b64 hmac>&se=<epoch>&skn=<policy>``, with
the parameters in any order. The signature covers ``sr`` exactly as sent (still URL-encoded, in
whichever hex case the SDK chose) plus ``"\\n"`` plus ``se``, keyed with the UTF-8 bytes of the key
string (never base64-decoded). ``sr`` differs by SDK: the namespace root (JS), the full request
URL with its query (.NET, Java) or the hub URL (Python sample); :func:`verify_sas` accepts any of
them as long as its host is one the deployment answers to (:class:`PublicHosts`) and its path is a
prefix of the request's path, ignoring scheme, case, ``sr``'s query and a default port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from urllib.parse import quote, unquote, unquote_plus, urlsplit

from shared.errors import BadRequestError, ForbiddenError, UnauthorizedError

TOKEN_SCHEME = "SharedAccessSignature"
KEY_BYTES = 32

_JS_SAFE = "-_.!~*'()"  # what encodeURIComponent leaves alone
_DOTNET_SAFE = "-_.!*()"  # what HttpUtility.UrlEncode leaves alone
_REQUIRED_PARAMS = ("sr", "sig", "se", "skn")
# A port the URI's scheme implies is no port at all: azure-sb signs https://host:443/.
_DEFAULT_PORTS = MappingProxyType({"https": 443, "http": 80})
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class AccessRight(StrEnum):
    """A claim a SAS policy or a bearer token's roles grant; Manage implies Send and Listen."""

    LISTEN = "Listen"
    SEND = "Send"
    MANAGE = "Manage"


def grants(rights: Iterable[AccessRight], right: AccessRight) -> bool:
    """Whether ``rights`` include ``right``, Manage standing for all three."""
    held = frozenset(rights)
    return right in held or AccessRight.MANAGE in held


def require_right(rights: Iterable[AccessRight], required: AccessRight) -> None:
    """NH's 403 when ``rights`` lack ``required``."""
    if not grants(rights, required):
        raise ForbiddenError(f"{required.value} claim is required for this operation.")


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
        return grants(self.rights, right)

    def __repr__(self) -> str:
        rights = ",".join(sorted(self.rights))
        return f"SasPolicy(name={self.name!r}, rights={rights!r}, keys=***)"


@dataclass(frozen=True)
class PublicHosts:
    """The hosts a deployment answers to: a token's audience (``sr``) must name one of them.

    Each is a lower-case host name and a port, None for the default one (443 or 80). With no
    host, or only loopback ones (Core Tools set ``WEBSITE_HOSTNAME=localhost:7071``), the
    deployment is a development one and accepts any loopback host on any port instead.
    """

    hosts: frozenset[tuple[str, int | None]] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> PublicHosts:
        """From ``host`` or ``host:port`` entries (``[::1]:7072`` for IPv6).

        Raises :class:`ValueError` naming the first entry that is not a bare host and port.
        """
        hosts = set()
        for entry in entries:
            found = _host_port_path(entry.strip())
            if found is None or found[2] or any(c in entry for c in "@?#"):
                raise ValueError(f"{entry!r} is not a host name with an optional :port")
            host, port, _ = found
            hosts.add((host, None if port in _DEFAULT_PORTS.values() else port))
        return cls(frozenset(hosts))

    @property
    def development(self) -> bool:
        return all(host in _LOOPBACK for host, _ in self.hosts)

    def accepts(self, host: str, port: int | None) -> bool:
        if self.development:
            return host in _LOOPBACK
        return (host, port) in self.hosts


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
    public_hosts: PublicHosts,
    policies: Mapping[str, SasPolicy],
    required: AccessRight,
    now: float,
) -> SasPolicy:
    """Check an ``Authorization`` header against a hub's policies; answer the policy it used.

    ``request_url`` is the URL as received; only its path counts, since its host is whatever
    the client put in its Host header. Order of checks: format, policy name, signature (primary
    or secondary key), expiry (``now`` after ``se``), audience (``sr`` names one of
    ``public_hosts`` and covers the request path), then the right. Every failure but the last is
    :class:`UnauthorizedError` (401); a valid token whose policy lacks ``required`` is
    :class:`ForbiddenError` (403).
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
    mismatch = _audience_mismatch(token.resource_uri, request_url, public_hosts)
    if mismatch:
        raise UnauthorizedError(f"40104: Invalid authorization token audience. {mismatch}")
    require_right(policy.rights, required)
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


def _audience_mismatch(resource_uri: str, request_url: str, public_hosts: PublicHosts) -> str:
    """Why ``sr`` does not fit the request, or "" when it does.

    ``sr``'s host must be a public host and its path (query dropped) a path-boundary prefix of
    the request's path; scheme and case do not count, and a default port is no port.
    """
    audience = _audience(resource_uri)
    if audience is None:
        return "The token's sr is not a URI with a host."
    host, port, prefix = audience
    if not public_hosts.accepts(host, port):
        shown = f"{host}:{port}" if port is not None else host
        return (
            f"The token's sr names {shown!r}, which is not a host this deployment answers to "
            "(HERALD_PUBLIC_HOSTS)."
        )
    path = unquote(urlsplit(request_url).path).lower()
    if not _covers(prefix, path):
        return "The token's sr does not cover the request path."
    return ""


def _covers(prefix: str, path: str) -> bool:
    """``/hub`` covers ``/hub`` and ``/hub/x`` but not ``/hubother``."""
    if not path.startswith(prefix):
        return False
    rest = path[len(prefix) :]
    return not rest or prefix.endswith("/") or rest.startswith("/")


def _audience(resource_uri: str) -> tuple[str, int | None, str] | None:
    """``sr``'s host, port (None when absent or the scheme's default) and lower-case path."""
    scheme, sep, rest = resource_uri.partition("://")
    if not (sep and scheme.isascii() and scheme.isalpha()):
        scheme, rest = "", resource_uri
    found = _host_port_path(rest)
    if found is None:
        return None
    host, port, path = found
    if port == _DEFAULT_PORTS.get(scheme.lower()):
        port = None
    return host, port, unquote(path).lower() or "/"


def _host_port_path(authority_and_path: str) -> tuple[str, int | None, str] | None:
    """``host[:port][/path]`` split, the host lower-cased; None when either is unusable."""
    parts = urlsplit(f"//{authority_and_path}")
    try:
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname, port, parts.path


def _lower_escapes(encoded: str) -> str:
    pieces = encoded.split("%")
    return pieces[0] + "".join("%" + piece[:2].lower() + piece[2:] for piece in pieces[1:])


def _malformed(reason: str) -> UnauthorizedError:
    return UnauthorizedError(f"40105: Malformed authorization token: {reason}.")
