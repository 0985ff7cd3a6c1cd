"""SAS tokens: the reference's concrete examples, then properties of generate and verify."""

from __future__ import annotations

import base64
from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.auth.sas import (
    AccessRight,
    PublicHosts,
    SasPolicy,
    SrEncoding,
    format_connection_string,
    generate_key,
    generate_sas_token,
    parse_connection_string,
    parse_sas_token,
    verify_sas,
)
from shared.errors import BadRequestError, ForbiddenError, UnauthorizedError

HOST = "localhost:18443"
DEVELOPMENT = PublicHosts()  # nothing configured: loopback hosts on any port
PUBLIC = PublicHosts.parse(["push.example.com", "herald.azurewebsites.net", "alt.example:8443"])
REQUEST_URL = f"https://{HOST}/myhub/installations/inst-1?api-version=2020-06"
FULL = SasPolicy(
    name="DefaultFullSharedAccessSignature",
    rights=frozenset({AccessRight.LISTEN, AccessRight.SEND, AccessRight.MANAGE}),
    primary_key="c2VjcmV0a2V5",
    secondary_key="b3RoZXJrZXk=",
)
LISTEN = SasPolicy(
    name="DefaultListenSharedAccessSignature",
    rights=frozenset({AccessRight.LISTEN}),
    primary_key="bGlzdGVua2V5",
    secondary_key="bGlzdGVuMg==",
)
MANAGE_ONLY = SasPolicy(
    name="manage", rights=frozenset({AccessRight.MANAGE}), primary_key="bWFu", secondary_key=""
)
POLICIES = {policy.name: policy for policy in (FULL, LISTEN, MANAGE_ONLY)}
EXPIRY = 1795559761
# A token the JS SDK 2.1.0 produced (reference §4.2): sr is the namespace root.
JS_TOKEN = (
    "SharedAccessSignature sr=https%3A%2F%2Flocalhost%3A18443%2F"
    "&sig=dnfyXDseCyHwGJNRrJFamSKOvasjweP%2BOqMxSMVNS0A%3D&se=1795559761"
    "&skn=DefaultFullSharedAccessSignature"
)


def verify(
    header: str | None,
    *,
    request_url: str = REQUEST_URL,
    required: AccessRight = AccessRight.LISTEN,
    now: float = EXPIRY - 100,
    policies: dict[str, SasPolicy] = POLICIES,
    public_hosts: PublicHosts = DEVELOPMENT,
) -> SasPolicy:
    return verify_sas(
        header,
        request_url=request_url,
        public_hosts=public_hosts,
        policies=policies,
        required=required,
        now=now,
    )


def token(
    uri: str = f"https://{HOST}/",
    policy: SasPolicy = FULL,
    *,
    key: str | None = None,
    encoding: SrEncoding = SrEncoding.JS,
) -> str:
    return generate_sas_token(
        uri,
        key_name=policy.name,
        key=policy.primary_key if key is None else key,
        expiry=EXPIRY,
        encoding=encoding,
    )


def test_generates_the_js_sdk_token_byte_for_byte() -> None:
    assert token() == JS_TOKEN


def test_verifies_the_js_sdk_token_against_any_url_under_the_namespace() -> None:
    assert verify(JS_TOKEN) is FULL
    assert verify(JS_TOKEN, request_url=f"https://{HOST}/otherhub/messages/") is FULL


def test_dotnet_token_signs_the_full_url_with_lower_case_escapes() -> None:
    dotnet = token(REQUEST_URL, encoding=SrEncoding.DOTNET)
    assert dotnet.startswith(
        "SharedAccessSignature sr=https%3a%2f%2flocalhost%3a18443%2fmyhub%2finstallations"
        "%2finst-1%3fapi-version%3d2020-06&sig="
    )
    assert verify(dotnet) is FULL


def test_python_sample_parameter_order_and_hub_level_sr_verify() -> None:
    sr = quote(f"https://{HOST}/myhub", safe="").lower()
    sig = parse_sas_token(token(f"https://{HOST}/myhub", encoding=SrEncoding.DOTNET)).raw_sig
    assert sr == parse_sas_token(token(f"https://{HOST}/myhub", encoding=SrEncoding.DOTNET)).raw_sr
    reordered = f"SharedAccessSignature sig={sig}&se={EXPIRY}&skn={FULL.name}&sr={sr}"
    assert verify(reordered) is FULL


def test_secondary_key_verifies_so_keys_rotate_without_downtime() -> None:
    old = token(key=FULL.secondary_key)
    assert verify(old) is FULL
    rotated = SasPolicy(FULL.name, FULL.rights, generate_key(), FULL.primary_key)
    with pytest.raises(UnauthorizedError, match="signature"):
        verify(old, policies={FULL.name: rotated})
    assert verify(token(), policies={FULL.name: rotated}) == rotated


def test_an_empty_secondary_key_never_verifies() -> None:
    with pytest.raises(UnauthorizedError, match="signature"):
        verify(token(policy=MANAGE_ONLY, key=""))


def test_expiry_is_inclusive_of_se_and_fails_after() -> None:
    assert verify(JS_TOKEN, now=EXPIRY) is FULL
    with pytest.raises(UnauthorizedError, match="ExpiredToken"):
        verify(JS_TOKEN, now=EXPIRY + 0.5)


@pytest.mark.parametrize(
    ("sr", "url"),
    [
        ("https://elsewhere:18443/", REQUEST_URL),
        (f"https://{HOST}/myhub", f"https://{HOST}/myhubother/installations/x"),
        (f"https://{HOST}/myhub/installations/inst-2", REQUEST_URL),
    ],
)
def test_wrong_audience_is_401(sr: str, url: str) -> None:
    with pytest.raises(UnauthorizedError, match="40104"):
        verify(token(sr), request_url=url)


def test_audience_ignores_scheme_case_and_query() -> None:
    header = token(f"sb://{HOST}/MyHub/installations/inst-1?api-version=2015-01")
    assert verify(header, request_url=f"http://{HOST.upper()}/myhub/Installations/inst-1") is FULL


@pytest.mark.parametrize("public_hosts", [DEVELOPMENT, PUBLIC], ids=["development", "public"])
def test_a_host_of_the_callers_choosing_is_not_an_audience(public_hosts: PublicHosts) -> None:
    # The request URL carries whatever Host header the caller sent; it must not vouch for sr.
    evil = "http://evil.example/myhub/installations/inst-1"
    with pytest.raises(UnauthorizedError, match=r"40104.*'evil\.example'"):
        verify(token("http://evil.example/myhub"), request_url=evil, public_hosts=public_hosts)


@pytest.mark.parametrize(
    "sr",
    [
        "https://push.example.com:443/myhub/installations/inst-1?api-version=2016-07",  # azure-sb
        "http://push.example.com:80/myhub",
        "https://push.example.com/",
        "sb://PUSH.example.com/myhub",
        "https://herald.azurewebsites.net:443/",
        "https://alt.example:8443/myhub",
    ],
)
def test_a_default_port_is_no_port_and_the_request_host_does_not_count(sr: str) -> None:
    # The request may reach the app under another name (a proxy, the front end's Host header).
    for url in ("https://push.example.com/myhub/installations/inst-1", REQUEST_URL):
        assert verify(token(sr), request_url=url, public_hosts=PUBLIC) is FULL


@pytest.mark.parametrize(
    "sr",
    [
        "https://push.example.com:8443/",  # a port the public host does not have
        "http://push.example.com:443/",  # 443 is not http's default
        "https://push.example.com:80/",  # nor 80 https's
        "https://alt.example/",  # alt.example is public on 8443 only
        "https://alt.example:443/",
        "https://push.example.com:bad/",
        "https://localhost:18443/",  # loopback stops counting once public hosts are set
        "https://127.0.0.1/",
        "/myhub",
    ],
)
def test_an_audience_on_another_host_or_port_is_401(sr: str) -> None:
    with pytest.raises(UnauthorizedError, match="40104"):
        verify(token(sr), public_hosts=PUBLIC)


@pytest.mark.parametrize(
    "sr", ["https://localhost:7072/", "http://127.0.0.1:7071/myhub", "https://[::1]:9/"]
)
def test_development_accepts_loopback_on_any_port_even_beside_core_tools_host(sr: str) -> None:
    # Core Tools set WEBSITE_HOSTNAME=localhost:7071: a loopback-only list is still development.
    core_tools = PublicHosts.parse(["localhost:7071"])
    for public_hosts in (DEVELOPMENT, core_tools):
        assert public_hosts.development
        assert verify(token(sr), public_hosts=public_hosts) is FULL
    assert not PUBLIC.development


@pytest.mark.parametrize(
    "entry", ["https://push.example.com", "push.example.com/hub", "user@host", "h:99999", "h:x"]
)
def test_a_public_host_entry_is_a_host_and_port_only(entry: str) -> None:
    with pytest.raises(ValueError, match="not a host name"):
        PublicHosts.parse([entry])


def test_a_public_host_entry_drops_a_default_port_and_case() -> None:
    parsed = PublicHosts.parse(["Push.Example.COM:443", "a.example:80", "[::1]:7072"])
    assert parsed.hosts == {("push.example.com", None), ("a.example", None), ("::1", 7072)}


def test_a_full_url_sr_matches_a_percent_escaped_path() -> None:
    # .NET signs the request URL as sent, escapes and all; the request arrives escaped too.
    url = f"https://{HOST}/myhub/installations/phone%40home?api-version=2020-06"
    assert verify(token(url, encoding=SrEncoding.DOTNET), request_url=url) is FULL


def test_missing_right_is_403_naming_the_claim() -> None:
    listen = token(policy=LISTEN)
    assert verify(listen, required=AccessRight.LISTEN) is LISTEN
    with pytest.raises(ForbiddenError, match="Send claim is required"):
        verify(listen, required=AccessRight.SEND)


@pytest.mark.parametrize("right", list(AccessRight))
def test_manage_implies_every_right(right: AccessRight) -> None:
    assert verify(token(policy=MANAGE_ONLY), required=right) is MANAGE_ONLY


def test_missing_header_is_401() -> None:
    for header in (None, "", "   "):
        with pytest.raises(UnauthorizedError, match="MissingToken"):
            verify(header)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",
        "SharedAccessSignature",
        "SharedAccessSignature sr=a&se=1&skn=x",
        f"SharedAccessSignature sr=a&sr=a&sig=b&se={EXPIRY}&skn=x",
        "SharedAccessSignature sr=a&sig=b&se=soon&skn=x",
        "SharedAccessSignature sr=a&sig&se=1&skn=x",
    ],
)
def test_malformed_token_is_401(header: str) -> None:
    with pytest.raises(UnauthorizedError, match="Malformed"):
        verify(header)


def test_unknown_policy_is_401_naming_it() -> None:
    with pytest.raises(UnauthorizedError, match="'nobody' does not exist"):
        verify(token(policy=SasPolicy("nobody", frozenset(), "k", "k")))


def test_policy_repr_masks_keys() -> None:
    shown = repr(FULL)
    assert FULL.primary_key not in shown
    assert FULL.secondary_key not in shown
    assert "DefaultFullSharedAccessSignature" in shown


def test_connection_string_round_trip_and_tolerance() -> None:
    text = format_connection_string(f"sb://{HOST}", FULL.name, FULL.primary_key)
    assert text == (
        f"Endpoint=sb://{HOST}/;SharedAccessKeyName={FULL.name};SharedAccessKey={FULL.primary_key}"
    )
    parsed = parse_connection_string(text + ";")
    assert (parsed.endpoint, parsed.key_name, parsed.key) == (
        f"sb://{HOST}/",
        FULL.name,
        FULL.primary_key,
    )
    assert FULL.primary_key not in repr(parsed)
    shuffled = parse_connection_string("sharedaccesskey=k==;ENDPOINT=sb://h/;SharedAccessKeyName=n")
    assert (shuffled.endpoint, shuffled.key_name, shuffled.key) == ("sb://h/", "n", "k==")


@pytest.mark.parametrize(
    "text", ["", "Endpoint=sb://h/", "Endpoint=sb://h/;SharedAccessKeyName=n", "garbage"]
)
def test_incomplete_connection_string_is_400(text: str) -> None:
    with pytest.raises(BadRequestError):
        parse_connection_string(text)


def test_generated_keys_look_like_nh_keys() -> None:
    keys = {generate_key() for _ in range(20)}
    assert len(keys) == 20
    for key in keys:
        assert len(key) == 44
        assert len(base64.b64decode(key, validate=True)) == 32


_URL_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~", min_size=1, max_size=20)


@settings(deadline=None)
@given(
    hub=_URL_TEXT,
    suffix=_URL_TEXT,
    key=st.text(min_size=1, max_size=60),
    expiry=st.integers(min_value=0, max_value=10**11),
    encoding=st.sampled_from(SrEncoding),
    full_url=st.booleans(),
)
def test_generate_then_verify_round_trips(
    hub: str, suffix: str, key: str, expiry: int, encoding: SrEncoding, full_url: bool
) -> None:
    url = f"https://ns.example.net/{hub}/installations/{suffix}?api-version=2020-06"
    policy = SasPolicy("p", frozenset({AccessRight.SEND}), key, "")
    header = generate_sas_token(
        url if full_url else "https://ns.example.net/",
        key_name="p",
        key=key,
        expiry=expiry,
        encoding=encoding,
    )
    found = verify_sas(
        header,
        request_url=url,
        public_hosts=PublicHosts.parse(["ns.example.net"]),
        policies={"p": policy},
        required=AccessRight.SEND,
        now=expiry,
    )
    assert found is policy


_HOST_LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


@settings(deadline=None)
@given(
    public=st.lists(_HOST_LABEL, min_size=1, max_size=3),
    signed=_HOST_LABEL,
    scheme=st.sampled_from(["https", "http", "sb", ""]),
    port=st.sampled_from([None, 80, 443, 8443]),
)
def test_an_audience_is_accepted_exactly_when_it_names_a_public_host_and_port(
    public: list[str], signed: str, scheme: str, port: int | None
) -> None:
    hosts = PublicHosts.parse(f"{name}.example" for name in public)
    authority = f"{signed}.example" + (f":{port}" if port else "")
    sr = f"{scheme}://{authority}/" if scheme else f"{authority}/"
    default = {"https": 443, "http": 80}.get(scheme)
    expected = signed in public and port in (None, default)
    if expected:
        assert verify(token(sr), public_hosts=hosts) is FULL
    else:
        with pytest.raises(UnauthorizedError, match="40104"):
            verify(token(sr), public_hosts=hosts)


@settings(deadline=None)
@given(index=st.integers(min_value=0, max_value=31), delta=st.integers(min_value=1, max_value=255))
def test_any_single_byte_change_to_the_signature_fails(index: int, delta: int) -> None:
    parsed = parse_sas_token(JS_TOKEN)
    digest = bytearray(base64.b64decode(unquote(parsed.raw_sig)))
    digest[index] = (digest[index] + delta) % 256
    forged_sig = quote(base64.b64encode(bytes(digest)).decode(), safe="")
    forged = JS_TOKEN.replace(parsed.raw_sig, forged_sig)
    with pytest.raises(UnauthorizedError, match="signature"):
        verify(forged)


@settings(deadline=None)
@given(st.one_of(st.text(max_size=200), st.text(max_size=200).map(JS_TOKEN[:22].__add__)))
def test_arbitrary_headers_only_ever_raise_unauthorized(header: str) -> None:
    with pytest.raises(UnauthorizedError):
        verify(header)


@settings(deadline=None)
@given(position=st.integers(min_value=22, max_value=len(JS_TOKEN) - 1), char=st.characters())
def test_tampering_with_any_character_never_raises_anything_else(position: int, char: str) -> None:
    tampered = JS_TOKEN[:position] + char + JS_TOKEN[position + 1 :]
    try:
        verify(tampered)
    except (UnauthorizedError, ForbiddenError):
        return
