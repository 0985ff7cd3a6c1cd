"""Pure parts of the simulators, checked over many inputs."""

from __future__ import annotations

import http_ece
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.pns._ece import EceError, decrypt, public_bytes
from emulator.pns._fcm_schema import SchemaError, validate_message
from emulator.pns.state import FaultKind, FaultSpec, Sim, SimState
from emulator.pns.webpush import _vapid_params

_UA_KEY = ec.generate_private_key(ec.SECP256R1())
_AUTH = b"0123456789abcdef"


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=1, max_size=3993))
def test_decrypts_what_http_ece_encrypts(plaintext: bytes) -> None:
    body = http_ece.encrypt(
        plaintext,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=public_bytes(_UA_KEY.public_key()),
        auth_secret=_AUTH,
        version="aes128gcm",
    )
    assert decrypt(body, _UA_KEY, _AUTH) == plaintext


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_never_decrypts(body: bytes) -> None:
    with pytest.raises(EceError):
        decrypt(body, _UA_KEY, _AUTH)


_KEYS = st.text(min_size=1, max_size=20).filter(lambda k: not k.startswith(("google", "gcm")))


@given(st.dictionaries(_KEYS.filter(lambda k: k not in ("from", "message_type")), st.text()))
def test_string_data_is_valid(data: dict[str, str]) -> None:
    message, dry = validate_message({"message": {"topic": "t", "data": data}})
    assert (message["data"], dry) == (data, False)


@given(
    st.dictionaries(_KEYS, st.text(), max_size=3),
    _KEYS,
    st.one_of(st.integers(), st.booleans(), st.none(), st.lists(st.text(), max_size=2)),
)
def test_any_non_string_data_value_is_refused(
    data: dict[str, str], key: str, value: object
) -> None:
    with pytest.raises(SchemaError):
        validate_message({"message": {"token": "x" * 30, "data": {**data, key: value}}})


@given(st.sampled_from(["vapid t=a.b.c,k=KEY", "vapid t=a.b.c, k=KEY", "VAPID  t=a.b.c ,  k=KEY"]))
def test_vapid_header_spacing_is_tolerated(header: str) -> None:
    params = _vapid_params(header)
    assert (params["t"], params["k"]) == ("a.b.c", "KEY")


@given(st.lists(st.sampled_from("abcd"), max_size=40), st.integers(0, 4))
def test_first_n_faults_per_handle_are_exact(handles: list[str], first_n: int) -> None:
    state = SimState()
    state.set_faults(Sim.APNS, FaultSpec(first_n=first_n, first_n_kind=FaultKind.THROTTLE))
    faults: dict[str, int] = {}
    for handle in handles:
        kind, _ = state.draw_fault(Sim.APNS, handle)
        faults[handle] = faults.get(handle, 0) + (kind is FaultKind.THROTTLE)
    for handle in set(handles):
        assert faults[handle] == min(handles.count(handle), first_n)


@given(st.integers(), st.floats(0, 1), st.lists(st.sampled_from("xyz"), max_size=30))
def test_seeded_draws_repeat(seed: int, rate: float, handles: list[str]) -> None:
    def run() -> list[FaultKind | None]:
        state = SimState()
        state.set_faults(Sim.FCM, FaultSpec(error_rate=rate, seed=seed))
        return [state.draw_fault(Sim.FCM, h)[0] for h in handles]

    assert run() == run()
