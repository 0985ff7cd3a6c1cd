"""The installation registry's pure logic: the installation model, validation and JSON Patch."""

from shared.model.channels import BrowserPushChannel, InstallationPlatform
from shared.model.installation import (
    Installation,
    installation_id_tag,
    parse_installation,
    user_id_tag,
)
from shared.model.patch import PatchOp, PatchOperation, apply_patch, parse_patch
from shared.model.templates import InstallationTemplate, SecondaryTile
from shared.model.validation import NH_MAX_TAGS, validate_installation_id

__all__ = [
    "NH_MAX_TAGS",
    "BrowserPushChannel",
    "Installation",
    "InstallationPlatform",
    "InstallationTemplate",
    "PatchOp",
    "PatchOperation",
    "SecondaryTile",
    "apply_patch",
    "installation_id_tag",
    "parse_installation",
    "parse_patch",
    "user_id_tag",
    "validate_installation_id",
]
