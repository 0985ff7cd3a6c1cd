"""Hypothesis strategies for valid registrations of every kind, as NH clients describe them."""

from __future__ import annotations

import string
from datetime import UTC, datetime

from hypothesis import strategies as st
from unit.model.strategies import CHANNELS, tags, user_ids

from shared.model.channels import InstallationPlatform, PushChannel
from shared.model.registration import Registration, RegistrationTemplate

REGISTRATION_ID_ALPHABET = string.ascii_letters + string.digits + "._-"

registration_ids = st.text(alphabet=REGISTRATION_ID_ALPHABET, min_size=1, max_size=64)
# Names as a client writes them in XML: what XML 1.0 carries, no whitespace at either end.
names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufffe\uffff"),
    min_size=1,
    max_size=30,
).filter(lambda name: name == name.strip())
_tokens = st.text(alphabet=string.ascii_letters + string.digits + ":_-", min_size=1, max_size=60)
_baidu = st.tuples(
    st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=20),
    st.text(alphabet=string.digits, min_size=1, max_size=19),
).map(lambda parts: f"{parts[0]}-{parts[1]}")
_expirations = st.none() | st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))


def channels(platform: InstallationPlatform) -> st.SearchStrategy[PushChannel]:
    if platform is InstallationPlatform.APNS:
        return CHANNELS[platform].map(str.upper)  # NH keeps device tokens in upper case
    if platform is InstallationPlatform.BAIDU:
        return _baidu
    return CHANNELS.get(platform, _tokens)


def templates(platform: InstallationPlatform) -> st.SearchStrategy[RegistrationTemplate | None]:
    body: st.SearchStrategy[str] = st.just('{"data":{"message":"$(msg)"}}')
    headers: st.SearchStrategy[dict[str, str]] = st.just({})
    extras: dict[str, st.SearchStrategy[object]] = {}
    if platform is InstallationPlatform.APNS:
        body = st.just('{"aps":{"alert":"$(msg)"}}')
        headers = st.sampled_from([{}, {"apns-priority": "10"}, {"apns-push-type": "alert"}])
        extras = {
            "expiry": st.none() | st.just("$(expiry)"),
            "priority": st.none() | st.sampled_from(["5", "10", "$(priority)"]),
        }
    elif platform is InstallationPlatform.WNS:
        body = st.just("<toast><visual>$(msg)</visual></toast>")
        headers = st.just({"X-WNS-Type": "wns/toast"}) | st.just(
            {"X-WNS-Type": "wns/tile", "X-WNS-Tag": "t1"}
        )
    elif platform is InstallationPlatform.BROWSER:
        body = st.sampled_from(["hello $(msg)", '{"title":"$(msg)"}', "a ]]> b"])
    elif platform is InstallationPlatform.BAIDU:
        body = st.just('{"title":"t","description":"$(msg)"}')
        extras = {"message_type": st.none() | st.sampled_from([0, 1])}
    return st.none() | st.builds(
        RegistrationTemplate,
        body=body,
        headers=headers,
        name=st.none() | names,
        **extras,  # type: ignore[arg-type]
    )


@st.composite
def registrations(draw: st.DrawFn) -> Registration:
    platform = draw(st.sampled_from(InstallationPlatform))
    return Registration(
        registration_id=draw(registration_ids),
        platform=platform,
        push_channel=draw(channels(platform)),
        tags=tuple(sorted(draw(st.frozensets(tags, max_size=5)))),
        user_id=draw(st.none() | user_ids),
        push_variables=draw(st.dictionaries(names, st.text(max_size=10), max_size=2)),
        template=draw(templates(platform)),
        expiration_time=draw(_expirations),
        secondary_tile_name=draw(st.none() | names)
        if platform is InstallationPlatform.WNS
        else None,
    )
