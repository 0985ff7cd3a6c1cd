"""A hub that guards push to user: a user-token issuer and a tag policy reserving ``user:``."""

from __future__ import annotations

import time
from dataclasses import replace

import jwt

from shared.auth.user_token import UserTokenAlgorithm, UserTokenIssuer
from shared.hubs.model import TagPolicy
from support.stack import NhCaller, replace_hub

ISSUER_SECRET = "issuer-secret-" + "x" * 32


def user_token(subject: str, *, secret: str = ISSUER_SECRET) -> str:
    """A user token the guarded hub's issuer signed (with another ``secret``: a forgery)."""
    claims = {
        "iss": "https://id.example",
        "aud": "herald",
        "sub": subject,
        "exp": int(time.time()) + 300,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


async def guard(nh: NhCaller, azurite: str) -> NhCaller:
    """``nh``'s hub with the issuer and the tag policy; a caller for it."""
    hub = replace(
        nh.hub,
        tag_policy=TagPolicy(allow=("*",), reserved=("user:",)),
        user_token_issuer=UserTokenIssuer(
            issuer="https://id.example",
            audience="herald",
            algorithm=UserTokenAlgorithm.HS256,
            key=ISSUER_SECRET,
        ),
    )
    await replace_hub(azurite, hub)
    return NhCaller(nh.base_url, hub)
