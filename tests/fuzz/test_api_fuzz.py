"""Fuzz Herald over HTTP from its API description, and the installations API by hand.

Schemathesis drives every operation in docs/openapi.yaml (installations, registrations and
their feeds, sends with $batch, test and direct sends, scheduled sends and their cancelling,
telemetry, feedback, the feedback container and its Blob calls, jobs, health) with valid and
invalid data: never a 5xx, a 4xx is NH's
XML error (Blob Storage's for the Blob calls), every answer is one the description allows, and
a rejected send stores no notification. Hypothesis then aims arbitrary and near-valid bodies,
JSON Patch documents, content types and headers at one stored installation, and checks that
whatever is rejected leaves it exactly as it was (``lastUpdate`` included, so even an
identical rewrite would show). Sends, raw header bytes and any path are fuzzed in
test_send_fuzz.py.
"""

from __future__ import annotations

import json
import string
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
import schemathesis
from fuzz.answers import FUZZ_EXAMPLES, StoredSends, assert_answer, assert_nh_answer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi import checks

from shared.auth.user_token import USER_TOKEN_HEADER, UserTokenAlgorithm, UserTokenIssuer
from support.processes import REPO, HostProcess
from support.stack import NhCaller, create_hub

SPEC = REPO / "docs" / "openapi.yaml"
SCHEMA_EXAMPLES = max(15, FUZZ_EXAMPLES // 4)  # per operation; twenty-four operations
VICTIM = "victim-1"
SEND_OPERATIONS = frozenset({"sendNotification", "sendDirectBatch", "scheduleNotification"})
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HUB = f"fuzz{uuid.uuid4().hex[:12]}"
ISSUER = UserTokenIssuer(
    issuer="https://idp.fuzz.test",
    audience="herald",
    algorithm=UserTokenAlgorithm.HS256,
    key="fuzz-user-token-secret-of-32-bytes!",
)
# Loaded at import: schemathesis' fixture-based loader does not work under pytest 9.
api_schema = schemathesis.openapi.from_path(SPEC)
api_schema.config.update(parameters={"hub": HUB})
api_schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    max_examples=SCHEMA_EXAMPLES,
)


CONFORMANCE = [
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def check_answer(response: httpx.Response, what: str) -> None:
    assert_nh_answer(
        response.status_code, response.headers.get("content-type", ""), response.content, what
    )


@pytest.fixture(scope="module")
async def fuzz_caller(app: HostProcess, azurite: str) -> NhCaller:
    # Two shards: each accepted send is walked in the background, shard by shard.
    hub = await create_hub(azurite, HUB, user_token_issuer=ISSUER, shard_count=2)
    return NhCaller(app.url, hub, lifetime=3600)


@pytest.fixture(scope="module")
def stored_sends(fuzz_caller: NhCaller, azurite: str) -> Iterator[StoredSends]:
    sends = StoredSends(azurite, HUB)
    yield sends
    sends.close()


@pytest.fixture(scope="module")
def http(fuzz_caller: NhCaller) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{fuzz_caller.base_url}/{HUB}", params={"api-version": "2020-06"}, timeout=30
    ) as client:
        yield client


# --- schemathesis: every operation of docs/openapi.yaml --------------------------------------


@api_schema.parametrize()
@settings(max_examples=SCHEMA_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_schema_driven_requests_never_get_a_5xx(
    case: schemathesis.Case, fuzz_caller: NhCaller, stored_sends: StoredSends
) -> None:
    is_send = case.operation.definition.raw.get("operationId") in SEND_OPERATIONS
    before = stored_sends.count() if is_send else 0
    response = case.call(base_url=fuzz_caller.base_url, headers=fuzz_caller.headers())
    headers = {k.lower(): v[0] for k, v in response.headers.items()}
    assert_answer(
        case.method, response.request.url or "", response.status_code, headers, response.content
    )
    if is_send and response.status_code >= 300:
        assert stored_sends.count() == before, "a rejected send stored a notification"
    # The answer is one docs/openapi.yaml describes: status, media type and JSON shape.
    case.validate_response(response, checks=CONFORMANCE)


# --- hypothesis: near-valid and arbitrary input at one stored installation -------------------

P256DH = "BO" + "A" * 85
AUTH = "AAECAwQFBgcICQoLDA0ODw"
VALID_BODIES: list[dict[str, Any]] = [
    {
        "installationId": VICTIM,
        "platform": "browser",
        "pushChannel": {
            "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
            "p256dh": P256DH,
            "auth": AUTH,
        },
        "tags": ["a", "b:c"],
        "userId": "alice",
        "templates": {"t1": {"body": '{"title":"$(msg)"}', "tags": ["x"]}},
        "pushVariables": {"v": "1"},
    },
    {
        "installationId": VICTIM,
        "platform": "apns",
        "pushChannel": "00fe11",
        "templates": {"T 2": {"body": '{"aps":{"alert":"$(m)"}}', "expiry": "$(exp)"}},
    },
    {
        "installationId": VICTIM,
        "platform": "wns",
        "pushChannel": "https://db5.notify.windows.com/?token=abc",
        "templates": {"w": {"body": "<toast/>", "headers": {"X-WNS-Type": "wns/toast"}}},
        "secondaryTiles": {"tile1": {"pushChannel": "https://db5.notify.windows.com/?t=1"}},
    },
    {"installationId": VICTIM, "platform": "FCMV1", "pushChannel": "tok-1", "tags": ["z"]},
]
FIELDS = [
    "installationId",
    "platform",
    "pushChannel",
    "userId",
    "tags",
    "templates",
    "pushVariables",
    "secondaryTiles",
    "expirationTime",
    "pushChannelExpired",
    "lastUpdate",
    "PLATFORM",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
tag_like = st.text(alphabet=string.ascii_letters + string.digits + "_@#.:-$ {}/~", max_size=130)
domain_values = st.one_of(
    tag_like,
    st.lists(tag_like, max_size=70),
    st.sampled_from(["apns", "browser", "wns", "fcmv1", "gcm", "adm", "baidu", "xiaomi", "x"]),
    st.sampled_from(
        [
            "http://169.254.169.254/latest",
            "https://fcm.googleapis.com:8443/x",
            "https://user@fcm.googleapis.com/x",
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://fcm.googleapis.com.evil.test/x",
            "9999-12-31T23:59:59.9999999Z",
            "2026-02-30T00:00:00",
            '{"endpoint":"https://fcm.googleapis.com/x","p256dh":"BO","auth":"AA"}',
            "\ud800",
            "",
        ]
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "endpoint": tag_like | json_values,
            "p256dh": st.sampled_from([P256DH, "AO" + "A" * 85, "B" * 87, "!!"]) | json_values,
            "auth": st.sampled_from([AUTH, "AAEC", AUTH + "=="]) | json_values,
        },
    ),
    st.dictionaries(
        st.text(max_size=10),
        st.fixed_dictionaries(
            {},
            optional={
                "body": st.sampled_from(['{"a":1}', "<toast/>", "[1]", "", " "]) | json_values,
                "headers": st.dictionaries(st.text(max_size=10), json_values, max_size=3),
                "expiry": json_values,
                "tags": json_values,
            },
        ),
        max_size=3,
    ),
    json_values,
)


@st.composite
def near_valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body = json.loads(json.dumps(draw(st.sampled_from(VALID_BODIES))))
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            body.pop(field, None)
        else:
            body[field] = draw(domain_values)
    return body


PATCH_PATHS = [
    "/tags",
    "/tags/-",
    "/tags/a",
    "/userId",
    "/pushChannel",
    "/expirationTime",
    "/pushVariables",
    "/pushVariables/v",
    "/templates",
    "/templates/t1",
    "/templates/t1/body",
    "/templates/t1/headers",
    "/templates/t1/headers/h",
    "/templates/t1/expiry",
    "/templates/t1/tags",
    "/templates/t1/tags/x",
    "/templates/new",
    "/templates/new/body",
    "/secondaryTiles/tile1/pushChannel",
    "/secondaryTiles/tile1/templates/w/body",
    "/platform",
    "/installationId",
    "/TAGS",
    "/tags/a~1b",
    "/",
    "",
    "tags",
    "/tags//x",
]
patch_operations = st.fixed_dictionaries(
    {},
    optional={
        "op": st.sampled_from(["add", "remove", "replace", "ADD", "move", "copy", "test"])
        | json_values,
        "path": st.sampled_from(PATCH_PATHS) | st.text(max_size=20) | json_values,
        "value": domain_values,
        "from": st.sampled_from(PATCH_PATHS),
    },
)
patch_documents = st.lists(patch_operations, max_size=5) | json_values


def as_json(value: object) -> bytes:
    """JSON as a client might send it: ASCII escapes (lone surrogates too), NaN as NaN."""
    return json.dumps(value).encode()


def send(
    http: httpx.Client, method: str, path: str, headers: dict[str, str], body: bytes
) -> httpx.Response:
    sent = {"Content-Type": "application/json", **headers}
    return http.request(method, path, content=body, headers=sent)


def describe(request: httpx.Request) -> str:
    """The request as a reproduction recipe (without the SAS token)."""
    headers = {k: v for k, v in request.headers.raw if k.lower() != b"authorization"}
    return f"{request.method} {request.url} headers={headers} body={request.content[:2000]!r}"


def restore_victim(http: httpx.Client, caller: NhCaller) -> dict[str, Any]:
    """The victim as stored now, re-created if a fuzzed request removed or replaced it."""
    got = http.get(f"/installations/{VICTIM}", headers=caller.headers())
    if got.status_code == 200:
        stored: dict[str, Any] = got.json()
        return stored
    put = http.put(f"/installations/{VICTIM}", json=VALID_BODIES[0], headers=caller.headers())
    assert put.status_code == 200, put.text
    return restore_victim(http, caller)


def assert_write_was_atomic(
    http: httpx.Client, caller: NhCaller, before: dict[str, Any], answer: httpx.Response
) -> None:
    """A write that answered anything but 200 changed nothing, not even ``lastUpdate``."""
    check_answer(answer, describe(answer.request))
    if answer.status_code != 200:
        after = http.get(f"/installations/{VICTIM}", headers=caller.headers())
        assert after.status_code == 200
        assert after.json() == before, f"a rejected write changed the installation: {answer.text}"


def test_the_seed_bodies_are_valid(http: httpx.Client, fuzz_caller: NhCaller) -> None:
    """Near-valid means one mutation away from these, so each must be accepted as it is."""
    for body in VALID_BODIES:
        answer = send(http, "PUT", f"/installations/{VICTIM}", fuzz_caller.headers(), as_json(body))
        assert answer.status_code == 200, answer.text


@st.composite
def callers(draw: st.DrawFn, full: NhCaller) -> dict[str, str]:
    """Full or Listen-only SAS, with no user token, the victim's user's, or another user's."""
    caller = draw(st.sampled_from([full, full.as_listen()]))
    user = draw(st.sampled_from([None, "alice", "mallory"]))
    return caller.headers() | ({} if user is None else {USER_TOKEN_HEADER: user_token(user)})


def user_token(user: str) -> str:
    claims = {"iss": ISSUER.issuer, "aud": ISSUER.audience, "sub": user, "exp": time.time() + 3600}
    return jwt.encode(claims, ISSUER.key, algorithm=ISSUER.algorithm.value)


@FUZZ_SETTINGS
@given(body=near_valid_bodies() | json_values, data=st.data())
def test_a_rejected_put_writes_nothing(
    body: Any, data: st.DataObject, http: httpx.Client, fuzz_caller: NhCaller
) -> None:
    before = restore_victim(http, fuzz_caller)
    headers = data.draw(callers(fuzz_caller))
    answer = send(http, "PUT", f"/installations/{VICTIM}", headers, as_json(body))
    assert_write_was_atomic(http, fuzz_caller, before, answer)


@FUZZ_SETTINGS
@given(patch=patch_documents, data=st.data())
def test_a_rejected_patch_writes_nothing(
    patch: Any, data: st.DataObject, http: httpx.Client, fuzz_caller: NhCaller
) -> None:
    before = restore_victim(http, fuzz_caller)
    headers = data.draw(callers(fuzz_caller))
    answer = send(http, "PATCH", f"/installations/{VICTIM}", headers, as_json(patch))
    assert_write_was_atomic(http, fuzz_caller, before, answer)


RESERVED_HEADERS = frozenset(
    {"authorization", "content-type", "content-length", "transfer-encoding", "host", "expect"}
)
header_names = (
    st.sampled_from(
        ["X-Herald-User-Token", "User-Agent", "TrackingId", "x-ms-version", "Accept", "If-Match"]
    )
    | st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=20)
).filter(lambda name: name.lower() not in RESERVED_HEADERS)
header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=200,
) | st.sampled_from(["dotnet/4.2", "application/x-ndjson", "eyJhbGciOiJub25lIn0.e30.", "2099-13"])


content_types = st.sampled_from(
    [
        "application/json",
        "application/json-patch+json",
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=utf-16",
        "",
    ]
)
raw_bodies = (
    st.binary(max_size=300)
    | st.builds(lambda b: json.dumps(b).encode(), near_valid_bodies())
    | st.builds(
        lambda n: b'{"pushVariables":{"v":"' + b"x" * n + b'"}}', st.integers(60_000, 200_000)
    )
    | st.builds(lambda n: b"[" * n, st.integers(1, 5000))
)


@FUZZ_SETTINGS
@given(
    method=st.sampled_from(["PUT", "PATCH", "GET", "DELETE"]),
    body=raw_bodies,
    content_type=content_types,
    headers=st.dictionaries(header_names, header_values, max_size=4),
    api_version=st.none() | st.sampled_from(["2015-01", "2020-06", "2020-13", "abc", ""]),
)
def test_raw_requests_with_odd_headers_and_bodies(
    method: str,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    api_version: str | None,
    http: httpx.Client,
    fuzz_caller: NhCaller,
) -> None:
    before = restore_victim(http, fuzz_caller)
    sent: dict[str, str | bytes] = {
        **{name: value.strip(" \t").encode("latin-1") for name, value in headers.items()},
        "Content-Type": content_type,
        **fuzz_caller.headers(),
    }
    params = {} if api_version is None else {"api-version": api_version}
    # A DELETE that succeeds is allowed to remove the victim; only failed writes must be no-ops.
    answer = http.request(
        method, f"/installations/{VICTIM}", content=body, headers=sent, params=params
    )
    if method in ("PUT", "PATCH"):
        assert_write_was_atomic(http, fuzz_caller, before, answer)
    else:
        check_answer(answer, f"{method} {sent} {body[:200]!r}")


odd_ids = st.text(st.characters(exclude_categories=("Cs",)), max_size=300) | st.sampled_from(
    ["a" * 257, "a" * 256, "%2e%2e", "a%2Fb", "a:b", "ä", "$InstallationId", "con", "-", "_"]
)


@FUZZ_SETTINGS
@given(installation_id=odd_ids, method=st.sampled_from(["PUT", "PATCH", "GET", "DELETE"]))
def test_odd_installation_ids_get_a_clear_answer(
    installation_id: str, method: str, http: httpx.Client, fuzz_caller: NhCaller
) -> None:
    """Ids holding '/', control characters or dot segments included: whatever route (or
    none) the path then matches, the answer is NH's."""
    body = {"platform": "apns", "pushChannel": "00fe"} if method == "PUT" else []
    path = "/installations/" + quote(installation_id, safe="")
    answer = send(http, method, path, fuzz_caller.headers(), as_json(body))
    check_answer(answer, f"{method} {installation_id!r}")


def test_a_non_utf8_user_token_is_401(http: httpx.Client, fuzz_caller: NhCaller) -> None:
    """Found by fuzzing: this was a 500 blaming the hub's key."""
    headers = {**fuzz_caller.headers(), USER_TOKEN_HEADER.lower(): b"\x80"}
    answer = http.get(f"/installations/{VICTIM}", headers=headers)
    assert answer.status_code == 401
    check_answer(answer, describe(answer.request))


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_deeply_nested_json_is_400(method: str, http: httpx.Client, fuzz_caller: NhCaller) -> None:
    """Found by fuzzing: JSON's own recursion limit was a 500."""
    before = restore_victim(http, fuzz_caller)
    answer = send(http, method, f"/installations/{VICTIM}", fuzz_caller.headers(), b"[" * 5000)
    assert answer.status_code == 400
    assert_write_was_atomic(http, fuzz_caller, before, answer)


sas_like = st.builds(
    lambda parts: "SharedAccessSignature " + "&".join(f"{k}={v}" for k, v in parts),
    st.lists(
        st.tuples(
            st.sampled_from(["sr", "sig", "se", "skn", "SR", "x", ""]),
            # DEL is refused by the host's HTTP parser (400 text/plain) before Herald runs.
            st.text(
                alphabet=st.characters(
                    min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"
                ),
                max_size=60,
            ),
        ),
        max_size=6,
    ),
)


@FUZZ_SETTINGS
@given(
    authorization=sas_like | header_values,
    method=st.sampled_from(["PUT", "PATCH", "GET", "DELETE"]),
    listing=st.booleans(),
)
def test_forged_authorization_is_401_and_writes_nothing(
    authorization: str, method: str, listing: bool, http: httpx.Client, fuzz_caller: NhCaller
) -> None:
    before = restore_victim(http, fuzz_caller)
    path = "/installations" if listing else f"/installations/{VICTIM}"
    headers = {"Authorization": authorization.strip(" \t").encode("latin-1")}
    answer = http.request(method, path, content=as_json(VALID_BODIES[3]), headers=headers)
    what = f"Authorization: {authorization!r}; {describe(answer.request)}"
    check_answer(answer, what)
    assert answer.status_code in (400, 401), what
    assert restore_victim(http, fuzz_caller) == before


async def test_an_ancient_expiration_time_does_not_poison_the_hub(
    app: HostProcess,
    azurite: str,
) -> None:
    """Found by fuzzing: a year-500 expiry was stored, then every read of it was a 500."""
    caller = NhCaller(app.url, await create_hub(azurite, f"old{uuid.uuid4().hex[:12]}"))
    body = {"platform": "adm", "pushChannel": "tok", "expirationTime": "0500-01-01T00:00:00Z"}
    async with caller.client() as client:
        put = await client.put("/installations/old", json=body, headers=caller.headers())
        got = await client.get("/installations/old", headers=caller.headers())
        listing = await client.get("/installations", headers=caller.headers())
        deleted = await client.delete("/installations/old", headers=caller.headers())
    assert put.status_code in (200, 400)
    assert got.status_code == (200 if put.status_code == 200 else 404)
    assert (listing.status_code, deleted.status_code) == (200, 204)
