"""Who may call: NH SAS tokens (per-hub policies), bearer tokens (JWTs from the deployment's
trusted issuers, such as Entra ID) and user tokens (JWTs from a hub's issuer)."""

from shared.auth.bearer import BearerSettings, bearer_token
from shared.auth.issuers import BearerVerifier
from shared.auth.sas import (
    AccessRight,
    ConnectionString,
    PublicHosts,
    SasPolicy,
    SasToken,
    SrEncoding,
    format_connection_string,
    generate_key,
    generate_sas_token,
    parse_connection_string,
    parse_sas_token,
    verify_sas,
)
from shared.auth.user_token import (
    USER_TOKEN_HEADER,
    UserTokenAlgorithm,
    UserTokenIssuer,
    verify_user_token,
)

__all__ = [
    "USER_TOKEN_HEADER",
    "AccessRight",
    "BearerSettings",
    "BearerVerifier",
    "ConnectionString",
    "PublicHosts",
    "SasPolicy",
    "SasToken",
    "SrEncoding",
    "UserTokenAlgorithm",
    "UserTokenIssuer",
    "bearer_token",
    "format_connection_string",
    "generate_key",
    "generate_sas_token",
    "parse_connection_string",
    "parse_sas_token",
    "verify_sas",
    "verify_user_token",
]
