"""Who is calling, and what a Listen-only caller may do to an installation.

Send and Manage keys are the backend's: they may set any tag and any user. A client holding
only a Listen key is a device, and NH lets it claim any tag and any ``userId``; Herald does not:

- a tag it adds must pass the hub's tag policy (tags already on the installation may stay);
- ``userId`` needs a user token (``X-Herald-User-Token``) whose subject is that user;
- an installation that belongs to a user can be read, changed or deleted by a Listen-only
  caller only with that user's token, so one device cannot take over another's registration.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.auth.sas import AccessRight, PublicHosts, SasPolicy, verify_sas
from shared.auth.user_token import USER_TOKEN_HEADER, verify_user_token
from shared.errors import ForbiddenError, UnauthorizedError
from shared.http import HttpRequestData
from shared.hubs.model import Hub
from shared.model.installation import Installation


@dataclass(frozen=True)
class Caller:
    policy: SasPolicy
    user: str | None  # the verified user-token subject, if a token came

    @property
    def listen_only(self) -> bool:
        return not (self.policy.grants(AccessRight.SEND) or self.policy.grants(AccessRight.MANAGE))


def authenticate(
    request: HttpRequestData, hub: Hub, required: AccessRight, *, public_hosts: PublicHosts
) -> Caller:
    now = time.time()
    policy = verify_sas(
        request.header("authorization"),
        request_url=request.url,
        public_hosts=public_hosts,
        policies=hub.policies,
        required=required,
        now=now,
    )
    token = request.header(USER_TOKEN_HEADER)
    user = None
    if token:
        if hub.user_token_issuer is None:
            raise UnauthorizedError(f"This hub has no user-token issuer; drop {USER_TOKEN_HEADER}.")
        user = verify_user_token(token, issuer=hub.user_token_issuer, now=now)
    return Caller(policy, user)


def _require_user(caller: Caller, user: str, action: str) -> None:
    if caller.user is None:
        raise UnauthorizedError(f"{action} needs a user token ({USER_TOKEN_HEADER}) for {user!r}.")
    if caller.user != user:
        raise ForbiddenError(f"{action} is allowed only to {user!r}; the user token is another's.")


def check_read(caller: Caller, stored: Installation) -> None:
    if caller.listen_only and stored.user_id is not None:
        _require_user(caller, stored.user_id, "Reading this user's installation")


def check_write(caller: Caller, hub: Hub, stored: Installation | None, new: Installation) -> None:
    if not caller.listen_only:
        return
    if stored is not None and stored.user_id is not None:
        _require_user(caller, stored.user_id, "Changing this user's installation")
    if new.user_id is not None:
        _require_user(caller, new.user_id, "Setting userId")
    kept = _client_tags(stored) if stored is not None else frozenset()
    for tag in sorted(_client_tags(new) - kept):
        if not hub.tag_policy.permits(tag):
            raise ForbiddenError(f"The tag {tag!r} may not be set with a Listen key on this hub.")


def check_delete(caller: Caller, stored: Installation) -> None:
    if caller.listen_only and stored.user_id is not None:
        _require_user(caller, stored.user_id, "Deleting this user's installation")


def _client_tags(installation: Installation) -> frozenset[str]:
    tags = set(installation.tags)
    for template in installation.templates.values():
        tags.update(template.tags)
    return frozenset(tags)
