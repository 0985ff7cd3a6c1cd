"""Registrations as the registry keeps them: keys, implied registrations, index rows, views."""

from __future__ import annotations

import json

from hypothesis import given
from unit.model.strategies import installation_ids, installations, template_names
from unit.registrations.strategies import registrations

from shared.model.channels import InstallationPlatform
from shared.model.device import handle_key, parse_device
from shared.model.installation import Installation
from shared.model.registration import (
    Registration,
    RegistrationTemplate,
    id_field,
    implied_registration_id,
    implied_registrations,
    is_registration_id,
    parse_implied_id,
    registration_id_of,
    registration_key,
)
from shared.model.validation import is_installation_id
from shared.registry.view import TEMPLATE_ONLY, delivery_view, index_of


@given(registrations())
def test_a_registration_key_is_never_an_installation_id(registration: Registration) -> None:
    key = registration.device_id
    assert not is_installation_id(key)
    assert registration_id_of(key) == registration.registration_id
    assert id_field(key) == ("registrationId", registration.registration_id)
    stored = json.loads(json.dumps(registration.to_wire()))
    assert parse_device(stored, device_id=key, max_tags=60) == registration


@given(installation_ids)
def test_an_installation_id_is_never_a_registration_key(installation_id: str) -> None:
    assert registration_id_of(installation_id) is None
    assert id_field(installation_id) == ("installationId", installation_id)


@given(installation_ids, template_names)
def test_implied_ids_name_their_installation_and_template(iid: str, name: str) -> None:
    for template in (None, name):
        implied = implied_registration_id(iid, template)
        assert not is_registration_id(implied)  # no client can take it
        assert parse_implied_id(implied) == (iid, template)
    assert parse_implied_id(registration_key(iid)) is None
    assert parse_implied_id(iid) is None


@given(installations())
def test_an_installation_implies_a_native_and_one_per_template(installation: Installation) -> None:
    implied = implied_registrations(installation)
    assert len(implied) == 1 + len(installation.templates)
    native, *templated = implied
    id_tag = f"$InstallationId:{{{installation.installation_id}}}"
    assert native.template is None
    assert id_tag in native.all_tags
    assert native.all_tags == installation.native_tags
    for registration in templated:
        assert registration.template is not None
        assert registration.template.name is not None
        name = registration.template.name
        assert registration.all_tags == installation.template_tags(name)
        assert parse_implied_id(registration.registration_id) == (
            installation.installation_id,
            name,
        )


def test_native_and_template_registrations_are_reached_by_their_own_sends() -> None:
    native = Registration("n", InstallationPlatform.APNS, "00FE", tags=("a",), user_id="u")
    template = Registration(
        "t", InstallationPlatform.APNS, "00FE", tags=("a",),
        template=RegistrationTemplate('{"aps":{}}', name="greet", priority="10"),
    )  # fmt: skip
    assert index_of(native) == {"a": ("",), "$UserId:{u}": ("",)}
    assert index_of(template) == {"a": ("greet",)}
    assert TEMPLATE_ONLY not in delivery_view(native)
    view = delivery_view(template)
    assert view[TEMPLATE_ONLY] is True
    assert view["templates"]["greet"]["headers"] == {"apns-priority": "10"}
    unnamed = Registration(
        "u", InstallationPlatform.FCMV1, "tok", template=RegistrationTemplate('{"data":{}}')
    )
    assert list(delivery_view(unnamed)["templates"]) == ["$template"]


def test_the_handle_column_keeps_apns_tokens_in_upper_case() -> None:
    installation = Installation("i", InstallationPlatform.APNS, "00fe")
    assert handle_key(installation) == "00FE"
    assert handle_key(Registration("r", InstallationPlatform.FCMV1, "aBc")) == "aBc"
