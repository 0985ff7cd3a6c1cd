"""A PNS credential as an operator writes it, read into the form a hub stores.

Three shapes are accepted, so that a user moving from Notification Hubs pastes what they have:
Herald's own field names; NH's property names (``keyId``, ``appName``, ``clientEmail``, ...);
and NH's ARM shape, ``{"apnsCredential": {"properties": {...}}}``, alone or as part of a
hub's ``properties``. Reading builds the sender's credentials object, so keys are parsed and
required fields checked here, offline, rather than at the first send.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol

from shared.errors import BadRequestError
from shared.pns import adm, apns, baidu, fcm, webpush, wns, xiaomi
from shared.pns.base import Platform


class _Credentials(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class _Reader(Protocol):
    def __call__(self, data: Mapping[str, object], /) -> _Credentials: ...


READERS: Mapping[Platform, _Reader] = MappingProxyType(
    {
        Platform.APNS: apns.ApnsCredentials.from_dict,
        Platform.FCMV1: fcm.FcmCredentials.from_dict,
        Platform.WNS: wns.WnsCredentials.from_dict,
        Platform.BROWSER: webpush.WebPushCredentials.from_dict,
        Platform.ADM: adm.AdmCredentials.from_dict,
        Platform.BAIDU: baidu.BaiduCredentials.from_dict,
        Platform.XIAOMI: xiaomi.XiaomiCredentials.from_dict,
    }
)

# The property that holds each platform's credential in NH's ARM templates.
NH_PROPERTIES: Mapping[Platform, str] = MappingProxyType(
    {
        Platform.APNS: "apnsCredential",
        Platform.FCMV1: "fcmV1Credential",
        Platform.WNS: "wnsCredential",
        Platform.BROWSER: "browserCredential",
        Platform.ADM: "admCredential",
        Platform.BAIDU: "baiduCredential",
        Platform.XIAOMI: "xiaomiCredential",
    }
)
_RETIRED = MappingProxyType(
    {
        "gcmCredential": "Google retired the legacy FCM API that gcmCredential uses; give the "
        "project's service account as fcmV1Credential (platform fcmv1).",
        "mpnsCredential": "Microsoft retired MPNS; Windows devices are reached through WNS.",
    }
)


def credential_fields(platform: Platform, document: object) -> Mapping[str, object]:
    """The credential's own fields, with NH's ARM wrapping taken off."""
    if not isinstance(document, Mapping):
        raise BadRequestError("A credential is a JSON object.")
    if "properties" in document and isinstance(document["properties"], Mapping):
        document = document["properties"]  # a hub's or a credential's ARM properties
    wrapped = [key for key in document if key in _RETIRED or key in NH_PROPERTIES.values()]
    if not wrapped:
        return document
    wanted = NH_PROPERTIES[platform]
    if wanted not in document:
        retired = next((key for key in wrapped if key in _RETIRED), None)
        if retired is not None:
            raise BadRequestError(_RETIRED[retired])
        raise BadRequestError(
            f"The document holds {', '.join(sorted(wrapped))} but no {wanted} for {platform.value}."
        )
    return credential_fields(platform, document[wanted])


def read_credential(platform: Platform, document: object) -> dict[str, Any]:
    """The credential in Herald's field names, checked as far as it can be offline; raises
    BadRequestError naming the field at fault."""
    return READERS[platform](credential_fields(platform, document)).to_dict()
