"""Hypothesis strategies for valid installations (and their parts), shared by the model tests."""

from __future__ import annotations

import base64
import string
from dataclasses import replace

from hypothesis import strategies as st

from shared.model.channels import BrowserPushChannel, InstallationPlatform, PushChannel
from shared.model.installation import Installation
from shared.model.templates import InstallationTemplate

TAG_ALPHABET = string.ascii_letters + string.digits + "_@#.:-"
ID_ALPHABET = string.ascii_letters + string.digits + "._-"

tags = st.text(alphabet=TAG_ALPHABET, min_size=1, max_size=120)
installation_ids = st.text(alphabet=ID_ALPHABET, min_size=1, max_size=64)
user_ids = st.text(alphabet=TAG_ALPHABET + "=", min_size=1, max_size=40)
template_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30
).filter(lambda name: not name.startswith("$"))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_hosts = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=12).map(
    lambda name: f"https://{name}.notify.windows.com/?token={name}"
)
_browser = st.builds(
    BrowserPushChannel,
    endpoint=_hosts,
    p256dh=st.binary(min_size=64, max_size=64).map(lambda b: _b64url(b"\x04" + b)),
    auth=st.binary(min_size=16, max_size=16).map(_b64url),
)
_tokens = st.text(alphabet=string.ascii_letters + string.digits + ":_-", min_size=1, max_size=60)

CHANNELS: dict[InstallationPlatform, st.SearchStrategy[PushChannel]] = {
    InstallationPlatform.APNS: st.binary(min_size=1, max_size=40).map(bytes.hex),
    InstallationPlatform.WNS: _hosts,
    InstallationPlatform.BROWSER: _browser,
}


def _template(platform: InstallationPlatform) -> st.SearchStrategy[InstallationTemplate]:
    if platform is InstallationPlatform.WNS:
        body, headers = (
            "<toast><visual>$(msg)</visual></toast>",
            st.just({"X-WNS-Type": "wns/toast"}),
        )
    else:
        body, headers = '{"aps":{"alert":"$(msg)"}}', st.sampled_from([{}, {"apns-priority": "10"}])
    return st.builds(
        InstallationTemplate,
        body=st.just(body),
        headers=headers,
        expiry=st.none() | st.just("$(expiry)"),
        tags=st.frozensets(tags, max_size=3).map(lambda found: tuple(sorted(found))),
    )


@st.composite
def installations(draw: st.DrawFn) -> Installation:
    platform = draw(st.sampled_from(InstallationPlatform))
    channel = draw(CHANNELS.get(platform, _tokens))
    templates = draw(st.dictionaries(template_names, _template(platform), max_size=2))
    return Installation(
        installation_id=draw(installation_ids),
        platform=platform,
        push_channel=channel,
        user_id=draw(st.none() | user_ids),
        tags=tuple(sorted(draw(st.frozensets(tags, max_size=5)))),
        templates={
            # GET lists a template's name among its tags, so it is never a tag of its own.
            name: replace(template, tags=tuple(tag for tag in template.tags if tag != name))
            for name, template in templates.items()
        },
        push_variables=draw(st.dictionaries(template_names, st.text(max_size=10), max_size=2)),
    )
