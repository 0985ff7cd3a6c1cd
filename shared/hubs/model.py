"""A hub: its SAS policies, PNS credentials, tag policy, user-token issuer and limits."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.auth.sas import AccessRight, SasPolicy, generate_key
from shared.auth.user_token import UserTokenAlgorithm, UserTokenIssuer
from shared.errors import BadRequestError
from shared.pns.base import Platform

HUB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,48}[A-Za-z0-9]|[A-Za-z0-9]")
LISTEN_POLICY = "DefaultListenSharedAccessSignature"
FULL_POLICY = "DefaultFullSharedAccessSignature"
DEFAULT_SHARDS = 16
DEFAULT_MAX_TAGS = 200  # NH allows 60; a tag costs one index row, so more cost nothing unused
DEFAULT_MAX_EXPRESSION_TAGS = 20  # NH allows 6 once && or ! appear


# The Functions host owns these first path segments, so a hub cannot be reached under them.
RESERVED_HUB_NAMES = frozenset({"admin", "runtime", "health"})


def validate_hub_name(name: str) -> str:
    if name.lower() in RESERVED_HUB_NAMES:
        raise BadRequestError(f"The hub name {name!r} is reserved; choose another.")
    if not HUB_NAME.fullmatch(name):
        raise BadRequestError(
            f"Invalid hub name {name[:60]!r}: 1 to 50 letters, digits, '.', '-' or '_', "
            "starting and ending with a letter or digit."
        )
    return name


@dataclass(frozen=True)
class TagPolicy:
    """Which tags a client holding only a Listen key may put on an installation.

    ``allow`` holds glob patterns (``*`` matches anything); ``reserved`` holds prefixes that
    only Send/Manage keys may set (``user:`` keeps devices from claiming each other's user tags).
    ``$UserId`` is governed by user tokens, not by this policy.
    """

    allow: tuple[str, ...] = ("*",)
    reserved: tuple[str, ...] = ()

    def permits(self, tag: str) -> bool:
        if any(tag.startswith(prefix) for prefix in self.reserved):
            return False
        return any(fnmatch.fnmatchcase(tag, pattern) for pattern in self.allow)

    def to_json(self) -> dict[str, Any]:
        return {"allow": list(self.allow), "reserved": list(self.reserved)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TagPolicy:
        return cls(allow=tuple(data.get("allow", ("*",))), reserved=tuple(data.get("reserved", ())))


@dataclass(frozen=True, repr=False)
class Hub:
    name: str
    policies: Mapping[str, SasPolicy]
    credentials: Mapping[Platform, Mapping[str, Any]] = field(default_factory=dict)
    tag_policy: TagPolicy = field(default_factory=TagPolicy)
    user_token_issuer: UserTokenIssuer | None = None
    shard_count: int = DEFAULT_SHARDS
    max_tags: int = DEFAULT_MAX_TAGS
    max_expression_tags: int = DEFAULT_MAX_EXPRESSION_TAGS

    def __repr__(self) -> str:
        platforms = ",".join(sorted(self.credentials))
        return f"Hub(name={self.name!r}, policies={sorted(self.policies)}, pns={platforms!r})"

    @classmethod
    def new(cls, name: str, **settings: Any) -> Hub:
        """A hub with NH's two default policies, each with fresh primary and secondary keys."""
        policies = {
            LISTEN_POLICY: SasPolicy(
                LISTEN_POLICY, frozenset({AccessRight.LISTEN}), generate_key(), generate_key()
            ),
            FULL_POLICY: SasPolicy(
                FULL_POLICY,
                frozenset({AccessRight.LISTEN, AccessRight.SEND, AccessRight.MANAGE}),
                generate_key(),
                generate_key(),
            ),
        }
        return cls(name=validate_hub_name(name), policies=policies, **settings)

    def settings_json(self) -> dict[str, Any]:
        """Everything but the secrets."""
        issuer = self.user_token_issuer
        return {
            "shardCount": self.shard_count,
            "maxTags": self.max_tags,
            "maxExpressionTags": self.max_expression_tags,
            "tagPolicy": self.tag_policy.to_json(),
            "userTokenIssuer": None
            if issuer is None
            else {
                "issuer": issuer.issuer,
                "audience": issuer.audience,
                "algorithm": issuer.algorithm.value,
            },
        }

    def secrets_json(self) -> dict[str, Any]:
        return {
            "policies": {
                p.name: {
                    "rights": sorted(p.rights),
                    "primaryKey": p.primary_key,
                    "secondaryKey": p.secondary_key,
                }
                for p in self.policies.values()
            },
            "credentials": {platform.value: dict(c) for platform, c in self.credentials.items()},
            "userTokenKey": None if self.user_token_issuer is None else self.user_token_issuer.key,
        }

    @classmethod
    def from_json(cls, name: str, settings: Mapping[str, Any], secrets: Mapping[str, Any]) -> Hub:
        issuer = settings.get("userTokenIssuer")
        return cls(
            name=name,
            policies={
                policy_name: SasPolicy(
                    policy_name,
                    frozenset(AccessRight(r) for r in policy["rights"]),
                    policy["primaryKey"],
                    policy["secondaryKey"],
                )
                for policy_name, policy in secrets["policies"].items()
            },
            credentials={Platform(p): c for p, c in secrets.get("credentials", {}).items()},
            tag_policy=TagPolicy.from_json(settings.get("tagPolicy", {})),
            user_token_issuer=None
            if issuer is None
            else UserTokenIssuer(
                issuer=issuer["issuer"],
                audience=issuer["audience"],
                algorithm=UserTokenAlgorithm(issuer["algorithm"]),
                key=secrets["userTokenKey"],
            ),
            shard_count=int(settings.get("shardCount", DEFAULT_SHARDS)),
            max_tags=int(settings.get("maxTags", DEFAULT_MAX_TAGS)),
            max_expression_tags=int(settings.get("maxExpressionTags", DEFAULT_MAX_EXPRESSION_TAGS)),
        )
