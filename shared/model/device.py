"""A device document of the registry: an installation or a registration.

Both live in the installations table and the tag index and are sent to, pruned, expired,
listed and exported the same way; only their JSON (and the API that writes them) differs.
Which one a row holds follows from its key (``shared.model.registration.registration_key``).
"""

from __future__ import annotations

from shared.model.channels import InstallationPlatform
from shared.model.installation import Installation, parse_installation
from shared.model.registration import Registration, parse_registration, registration_id_of

Device = Installation | Registration


def parse_device(data: object, *, device_id: str, max_tags: int) -> Device:
    """The document stored under ``device_id``, from its JSON form. Template limits are not
    applied: a stored row met the limits of its day."""
    registration_id = registration_id_of(device_id)
    if registration_id is not None:
        return parse_registration(
            data, max_tags=max_tags, registration_id=registration_id, template_limits=None
        )
    return parse_installation(
        data, max_tags=max_tags, installation_id=device_id, template_limits=None
    )


def handle_key(device: Device) -> str:
    """The handle as the registry indexes it (its ``Handle`` column, NH's handle filters):
    APNs tokens in upper case, as NH keeps them; a browser subscription's endpoint."""
    if device.platform is InstallationPlatform.APNS:
        return device.handle.upper()
    return device.handle
