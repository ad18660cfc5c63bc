"""Property tests: trust-store files round-trip, signatures bind every byte, names parse back,
and token validation never fails with anything but a `TokenError`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certs.errors import InvalidName, InvalidSignature
from certs.names import KeyPurpose, PeerKind, Principal
from certs.signing import QUERY_DOMAIN, PinnedKey, RevokedCert, SigningKey, TrustStore
from identity.errors import TokenError
from identity.tokens import TokenValidator, init_dev_issuer
from mash.home import Home

KEY = SigningKey.generate("broker-mash-demo")
STORE = TrustStore((PinnedKey(KEY.key_id, KEY.owner, "query-signing", KEY.public_bytes,
                              datetime(2020, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)),))
VERIFY = {"expected_owner": "broker-mash-demo", "purpose": "query-signing"}

names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1),
                     timezones=st.just(UTC)).map(lambda t: t.replace(microsecond=0))


@settings(max_examples=60)
@given(payload=st.binary(max_size=512), data=st.data())
def test_any_single_bit_flip_breaks_the_signature(payload: bytes, data: st.DataObject) -> None:
    sig = KEY.sign(QUERY_DOMAIN, payload)
    STORE.verify(QUERY_DOMAIN, payload, sig, KEY.key_id, **VERIFY)
    target = data.draw(st.sampled_from(["payload", "sig"]) if payload else st.just("sig"))
    blob = bytearray(payload if target == "payload" else sig)
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(InvalidSignature):
        if target == "payload":
            STORE.verify(QUERY_DOMAIN, bytes(blob), sig, KEY.key_id, **VERIFY)
        else:
            STORE.verify(QUERY_DOMAIN, payload, bytes(blob), KEY.key_id, **VERIFY)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(owners=st.lists(names, min_size=0, max_size=4), start=times,
       days=st.integers(0, 5000), serials=st.sets(st.integers(1, 2**159), max_size=3),
       reason=st.text(max_size=30))
def test_trust_store_file_roundtrips(tmp_path: Path, owners: list[str], start: datetime,
                                     days: int, serials: set[int], reason: str) -> None:
    keys = []
    for i, owner in enumerate(owners):
        k = SigningKey.generate(owner)
        keys.append(PinnedKey(k.key_id, owner, list(KeyPurpose)[i % 3].value, k.public_bytes,
                              start, start + timedelta(days=days)))
    revoked = tuple(RevokedCert(s, "client-x", start, reason) for s in sorted(serials))
    store = TrustStore(tuple(keys), revoked)
    path = tmp_path / "trust.toml"
    store.save(path)
    loaded = TrustStore.load(path)
    assert set(loaded.keys) == set(store.keys) and loaded.revoked == store.revoked


@given(kind=st.sampled_from(list(PeerKind)), name=names)
def test_principal_uri_and_cert_name_roundtrip(kind: PeerKind, name: str) -> None:
    p = Principal(kind, name)
    assert Principal.from_uri(p.uri) == p
    assert Principal.from_cert_name(p.cert_name) == p


@given(text=st.text(max_size=80))
def test_principal_parsing_is_strict(text: str) -> None:
    try:
        principal = Principal.from_uri(text)
    except InvalidName:
        return
    assert principal.uri == text  # only canonical URIs are accepted


@pytest.fixture(scope="module")
def token_validator(tmp_path_factory: pytest.TempPathFactory) -> TokenValidator:
    home = Home.at(tmp_path_factory.mktemp("idp"))
    init_dev_issuer(home)
    return TokenValidator.from_home(home)


_b64 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
               max_size=60)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.one_of(st.text(max_size=200),
                       st.tuples(_b64, _b64, _b64).map(".".join),
                       st.builds(lambda b, c: "eyJhbGciOiJFUzI1NiJ9." + b + "." + c, _b64, _b64)))
def test_token_validation_only_raises_token_errors(token_validator: TokenValidator,
                                                   token: str) -> None:
    with pytest.raises(TokenError):
        token_validator.validate(token, "A" * 43)


@given(text=st.text())
def test_toml_text_roundtrips_any_string(text: str) -> None:
    import tomllib

    from mash import tomlwrite

    assert tomllib.loads(tomlwrite.dumps({"v": text, "t": {"v": [text]}})) == {"v": text, "t": {"v": [text]}}
