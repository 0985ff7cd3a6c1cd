"""Platform -> sender factory: the one place that knows which module serves which PNS."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from shared.errors import BadRequestError
from shared.pns import adm, apns, baidu, fcm, webpush, wns, xiaomi
from shared.pns.base import Platform, Sender
from shared.pns.options import PnsOptions

SenderFactory = Callable[[Mapping[str, object], PnsOptions], Sender]

FACTORIES: Mapping[Platform, SenderFactory] = MappingProxyType(
    {
        Platform.APNS: apns.build,
        Platform.FCMV1: fcm.build,
        Platform.WNS: wns.build,
        Platform.BROWSER: webpush.build,
        Platform.ADM: adm.build,
        Platform.BAIDU: baidu.build,
        Platform.XIAOMI: xiaomi.build,
    }
)


def build_sender(
    platform: Platform, credentials: Mapping[str, object], options: PnsOptions
) -> Sender:
    """A sender for one platform's credentials (their dict form); raises BadRequestError for
    credentials that do not parse. Nothing connects until the first send."""
    factory = FACTORIES.get(platform)
    if factory is None:
        raise BadRequestError(f"No sender for platform '{platform}'.")
    return factory(credentials, options)
