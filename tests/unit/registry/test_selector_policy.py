"""Every selector a Listen-only device writes passes the hub's tag policy, by PUT or by PATCH."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import ForbiddenError, HeraldError, UnauthorizedError
from shared.hubs.model import FULL_POLICY, LISTEN_POLICY, Hub, TagPolicy
from shared.model.channels import InstallationPlatform
from shared.model.installation import Installation
from shared.model.patch import apply_patch, parse_patch
from shared.model.templates import InstallationTemplate
from shared.registry import access
from shared.registry.view import index_of

# Few names, so that tags, template tags and template names often collide with the policy.
_NAMES = ("news", "vip", "user:bob", "topic:a", "topic:b", "lang:en", "genericMessage")
_POLICIES = (
    TagPolicy(),
    TagPolicy(allow=("*",), reserved=("user:", "vip")),
    TagPolicy(allow=("topic:*", "lang:*"), reserved=()),
    TagPolicy(allow=("topic:*", "genericMessage"), reserved=("topic:b",)),
)
_HUB = Hub.new("policyhub")
_DEVICE = access.Caller(_HUB.policies[LISTEN_POLICY].rights)
_BACKEND = access.Caller(_HUB.policies[FULL_POLICY].rights)

_names = st.sampled_from(_NAMES)
_tag_sets = st.frozensets(_names, max_size=3).map(lambda found: tuple(sorted(found)))
_templates = st.dictionaries(
    _names,
    st.builds(InstallationTemplate, body=st.just('{"aps":{"alert":"$(m)"}}'), tags=_tag_sets),
    max_size=2,
).map(
    lambda found: {
        name: replace(t, tags=tuple(tag for tag in t.tags if tag != name))
        for name, t in found.items()
    }
)
_installations = st.builds(
    Installation,
    installation_id=st.just("phone"),
    platform=st.just(InstallationPlatform.APNS),
    push_channel=st.sampled_from(("00aa", "00bb")),
    user_id=st.none() | st.sampled_from(("alice", "bob")),
    tags=_tag_sets,
    templates=_templates,
)
_patches = st.lists(
    st.one_of(
        st.builds(lambda n: {"op": "add", "path": "/tags", "value": n}, _names),
        st.builds(
            lambda n: {"op": "add", "path": f"/templates/{n}", "value": {"body": '{"a":"b"}'}},
            _names,
        ),
        st.builds(
            lambda n, t: {"op": "add", "path": f"/templates/{n}/tags", "value": [t]},
            _names,
            _names,
        ),
        st.builds(lambda n: {"op": "remove", "path": f"/templates/{n}"}, _names),
        st.just({"op": "replace", "path": "/pushChannel", "value": "00cc"}),
    ),
    min_size=1,
    max_size=4,
)


def _reachable_by(installation: Installation) -> set[str]:
    """The selectors a send can reach ``installation`` by: its index rows."""
    return set(index_of(installation))


def _assert_within_policy(hub: Hub, written: Installation) -> None:
    assert written.user_id is None
    for selector in _reachable_by(written):
        assert not selector.startswith("$")
        assert hub.tag_policy.permits(selector), selector


@given(st.sampled_from(_POLICIES), st.none() | _installations, _installations)
def test_what_a_device_puts_is_reachable_only_by_selectors_its_policy_allows(
    policy: TagPolicy, stored: Installation | None, new: Installation
) -> None:
    hub = replace(_HUB, tag_policy=policy)
    try:
        access.check_write(_DEVICE, hub, stored, new)
    except (ForbiddenError, UnauthorizedError):
        return
    _assert_within_policy(hub, new)


@given(st.sampled_from(_POLICIES), _installations, _patches)
def test_what_a_device_patches_is_reachable_only_by_selectors_its_policy_allows(
    policy: TagPolicy, stored: Installation, operations: list[dict[str, object]]
) -> None:
    hub = replace(_HUB, tag_policy=policy)
    try:
        patched = apply_patch(stored, parse_patch(operations), max_tags=60)
        access.check_write(_DEVICE, hub, stored, patched)
    except HeraldError:
        return
    _assert_within_policy(hub, patched)


def _with(**fields: object) -> Installation:
    base = Installation("phone", InstallationPlatform.APNS, "00aa")
    return replace(base, **fields)  # type: ignore[arg-type]


_GUARDED = replace(_HUB, tag_policy=TagPolicy(allow=("*",), reserved=("user:", "vip")))


@pytest.mark.parametrize(
    "new",
    [
        _with(templates={"vip": InstallationTemplate('{"a":"b"}')}),
        _with(templates={"t": InstallationTemplate('{"a":"b"}', tags=("user:bob",))}),
        _with(tags=("vip",)),
    ],
    ids=["template-name", "template-tag", "tag"],
)
def test_a_reserved_selector_is_refused_wherever_it_sits(new: Installation) -> None:
    with pytest.raises(ForbiddenError):
        access.check_write(_DEVICE, _GUARDED, None, new)
    access.check_write(_BACKEND, _GUARDED, None, new)


@pytest.mark.parametrize(
    "stored",
    [_with(tags=("vip",)), _with(templates={"vip": InstallationTemplate('{"a":"b"}')})],
    ids=["tag", "template-name"],
)
def test_an_installation_the_backend_tagged_is_the_backends(stored: Installation) -> None:
    takeover = _with(push_channel="00ff", tags=stored.tags, templates=stored.templates)
    for attempt in (
        lambda: access.check_write(_DEVICE, _GUARDED, stored, takeover),
        lambda: access.check_write(_DEVICE, _GUARDED, stored, _with(push_channel="00ff")),
        lambda: access.check_read(_DEVICE, _GUARDED, stored),
        lambda: access.check_delete(_DEVICE, _GUARDED, stored),
    ):
        with pytest.raises(ForbiddenError, match="Send or Manage key"):
            attempt()
    access.check_write(_BACKEND, _GUARDED, stored, takeover)
    access.check_read(_BACKEND, _GUARDED, stored)
    access.check_delete(_BACKEND, _GUARDED, stored)


def test_a_users_token_lets_the_device_keep_what_the_backend_gave_that_user() -> None:
    stored = _with(user_id="bob", tags=("vip",))
    bob = access.Caller(_HUB.policies[LISTEN_POLICY].rights, user="bob")
    mallory = access.Caller(_HUB.policies[LISTEN_POLICY].rights, user="mallory")
    access.check_write(bob, _GUARDED, stored, replace(stored, push_channel="00ff"))
    with pytest.raises(ForbiddenError):
        access.check_write(bob, _GUARDED, stored, replace(stored, tags=("vip", "user:carol")))
    with pytest.raises(ForbiddenError):
        access.check_read(mallory, _GUARDED, stored)
    with pytest.raises(UnauthorizedError):
        access.check_delete(_DEVICE, _GUARDED, stored)
