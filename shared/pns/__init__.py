"""Senders for the push services, one module per PNS, behind the Sender protocol in ``base``.

Public entry points: :func:`build_sender` (platform + credentials dict -> Sender),
:func:`check_device_url` (the SSRF guard for WNS channels and Web Push endpoints),
:class:`PnsOptions`, and the per-PNS credential classes.
"""

from shared.pns.adm import AdmCredentials
from shared.pns.apns import ApnsCredentials
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage, Sender, WebPushKeys
from shared.pns.fcm import FcmCredentials
from shared.pns.options import PnsOptions
from shared.pns.registry import build_sender
from shared.pns.urls import check_device_url
from shared.pns.webpush import WebPushCredentials
from shared.pns.wns import WnsCredentials

__all__ = [
    "AdmCredentials",
    "ApnsCredentials",
    "FcmCredentials",
    "Outcome",
    "OutcomeKind",
    "Platform",
    "PnsOptions",
    "PushMessage",
    "Sender",
    "WebPushCredentials",
    "WebPushKeys",
    "WnsCredentials",
    "build_sender",
    "check_device_url",
]
