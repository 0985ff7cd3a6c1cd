"""Hub credentials and app settings that point Herald's senders at the PNS simulators.

The simulators (``python -m emulator.pns``) print their endpoints as JSON and keep generated
credentials in their state directory; this turns both into what a hub and the app expect.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shared.pns.base import Platform


def hub_credentials(
    endpoints: Mapping[str, str], state_dir: Path
) -> dict[Platform, dict[str, Any]]:
    generated = json.loads((state_dir / "credentials.json").read_text())
    service_account = json.loads((state_dir / "fcm-service-account.json").read_text())
    return {
        Platform.APNS: {
            "bundle_id": generated["apns_topic"],
            "endpoint": endpoints["apns"],
            "key_id": generated["apns_key_id"],
            "team_id": generated["apns_team_id"],
            "signing_key": generated["apns_private_key"],
        },
        Platform.FCMV1: {**service_account, "endpoint": endpoints["fcm"]},
        Platform.WNS: {
            "client_id": generated["wns_package_sid"],
            "client_secret": generated["wns_client_secret"],
            "token_endpoint": endpoints["wns_token_uri"],
        },
        Platform.BROWSER: {
            "subject": generated["vapid_subject"],
            "private_key": generated["vapid_private_key"],
            "public_key": generated["vapid_public_key"],
        },
        Platform.ADM: {
            "client_id": generated["adm_client_id"],
            "client_secret": generated["adm_client_secret"],
            "endpoint": endpoints["adm"],
            "token_endpoint": endpoints["adm_token_uri"],
        },
        # NH's credential property names, as a hub moved from NH would hold them.
        Platform.BAIDU: {
            "BaiduApiKey": generated["baidu_api_key"],
            "BaiduSecretKey": generated["baidu_secret_key"],
            "BaiduEndPoint": endpoints["baidu"],
        },
        Platform.XIAOMI: {
            "AppSecret": generated["xiaomi_app_secret"],
            "Endpoint": endpoints["xiaomi"],
        },
    }


def app_settings(endpoints: Mapping[str, str]) -> dict[str, str]:
    """Trust the simulators' CA, and let device URLs and the Baidu and Xiaomi endpoints name
    the simulator hosts."""
    names = ("wns_channel_base", "webpush", "baidu", "xiaomi")
    hosts = sorted({urlsplit(endpoints[k]).netloc for k in names})
    return {
        "HERALD_PNS_CA_FILE": endpoints["ca_file"],
        "HERALD_PNS_ALLOWED_TEST_HOSTS": ",".join(hosts),
    }
