"""Who is calling, and what a Listen-only caller may do to an installation or a registration.

A caller proves its rights with a SAS token signed with a hub policy's key, or with a bearer
token whose roles grant them (:mod:`shared.auth.bearer`); from then on only the rights count.
Send and Manage rights are the backend's: it may set any tag and any user. A caller holding
only Listen is a device, and NH lets it claim any tag and any ``userId``; Herald does not.
Every *selector* of an installation (anything a send can reach it by: its tags, its templates'
tags and names, and ``$UserId``) passes one check, whether it arrives by PUT or by PATCH:

- ``$UserId:{u}`` needs a user token (``X-Herald-User-Token``) whose subject is ``u``;
- any other selector must be one the hub's tag policy lets a device set.

An installation holding a selector a device could not have set is the backend's (or its
user's): a Listen-only caller may read, change or delete it only with that user's token, and
not at all when the backend gave it a reserved tag without a user. So knowing an
installation's id is never enough to take it over (docs/push-to-user.md). A registration is
judged by the same rules: its tags are its selectors, and its ``$UserId:{u}`` tag its user.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.auth.bearer import bearer_token
from shared.auth.issuers import BearerVerifier
from shared.auth.sas import AccessRight, PublicHosts, grants, require_right, verify_sas
from shared.auth.user_token import USER_TOKEN_HEADER, verify_user_token
from shared.errors import ForbiddenError, UnauthorizedError
from shared.http import HttpRequestData
from shared.hubs.model import Hub
from shared.model.device import Device
from shared.model.installation import Installation, installation_id_tag


@dataclass(frozen=True)
class Caller:
    rights: frozenset[AccessRight]
    user: str | None = None  # the verified user-token subject, if a token came
    policy: str | None = None  # the SAS policy the token was signed with; None for a bearer

    @property
    def listen_only(self) -> bool:
        return not grants(self.rights, AccessRight.SEND)


async def authenticate(
    request: HttpRequestData,
    hub: Hub,
    required: AccessRight,
    *,
    public_hosts: PublicHosts,
    bearer: BearerVerifier | None,
) -> Caller:
    """The caller of ``request`` once its SAS or bearer token and its user token check out.

    401 for a missing or invalid token, 403 for a valid one without ``required`` on ``hub``.
    """
    now = time.time()
    header = request.header("authorization")
    token = bearer_token(header)
    if token is None:
        policy = verify_sas(
            header,
            request_url=request.url,
            public_hosts=public_hosts,
            policies=hub.policies,
            required=required,
            now=now,
        )
        rights, policy_name = policy.rights, policy.name
    else:
        if bearer is None:
            raise UnauthorizedError(
                "BearerToken: this deployment trusts no token issuer (HERALD_ENTRA_TENANT_ID, "
                "HERALD_AUTH_ISSUER); sign with a SAS key."
            )
        rights = (await bearer.verify(token, now=now)).rights_on(hub.name)
        require_right(rights, required)
        policy_name = None
    return Caller(frozenset(rights), _user(request, hub, now), policy_name)


def _user(request: HttpRequestData, hub: Hub, now: float) -> str | None:
    token = request.header(USER_TOKEN_HEADER)
    if not token:
        return None
    if hub.user_token_issuer is None:
        raise UnauthorizedError(f"This hub has no user-token issuer; drop {USER_TOKEN_HEADER}.")
    return verify_user_token(token, issuer=hub.user_token_issuer, now=now)


def _require_user(caller: Caller, user: str, action: str) -> None:
    if caller.user is None:
        raise UnauthorizedError(f"{action} needs a user token ({USER_TOKEN_HEADER}) for {user!r}.")
    if caller.user != user:
        raise ForbiddenError(f"{action} is allowed only to {user!r}; the user token is another's.")


def selectors(device: Device) -> frozenset[str]:
    """Every tag a send can select ``device`` by, but an installation's own ``$InstallationId``."""
    return device.all_tags - {installation_id_tag(device.device_id)}


def _noun(device: Device) -> str:
    return "installation" if isinstance(device, Installation) else "registration"


def _device_settable(hub: Hub, selector: str) -> bool:
    """Whether a device may set ``selector`` under the hub's tag policy (users aside)."""
    return not selector.startswith("$") and hub.tag_policy.permits(selector)


def _require_owner(caller: Caller, hub: Hub, stored: Device, action: str) -> None:
    """A Listen-only caller may touch ``stored`` only if a device could have written it."""
    if stored.user_id is not None:
        _require_user(caller, stored.user_id, action)
    reserved = sorted(
        s for s in selectors(stored) - set(stored.system_tags) if not _device_settable(hub, s)
    )
    if reserved and stored.user_id is None:
        raise ForbiddenError(
            f"{action} needs a Send or Manage key: the backend gave it the tag {reserved[0]!r}."
        )


def may_read(caller: Caller, hub: Hub, stored: Device) -> bool:
    try:
        check_read(caller, hub, stored)
    except (UnauthorizedError, ForbiddenError):
        return False
    return True


def check_read(caller: Caller, hub: Hub, stored: Device) -> None:
    if caller.listen_only:
        _require_owner(caller, hub, stored, f"Reading this {_noun(stored)}")


def check_write(caller: Caller, hub: Hub, stored: Device | None, new: Device) -> None:
    if not caller.listen_only:
        return
    kept: frozenset[str] = frozenset()
    if stored is not None:
        _require_owner(caller, hub, stored, f"Changing this {_noun(stored)}")
        kept = selectors(stored)
    if new.user_id is not None:
        _require_user(caller, new.user_id, "Setting userId")
    user_tags = set(new.system_tags)
    for selector in sorted(selectors(new) - kept - user_tags):
        if not _device_settable(hub, selector):
            raise ForbiddenError(
                f"The tag or template name {selector!r} may not be set with a Listen key "
                "on this hub."
            )


def check_delete(caller: Caller, hub: Hub, stored: Device) -> None:
    if caller.listen_only:
        _require_owner(caller, hub, stored, f"Deleting this {_noun(stored)}")
