"""Micro-benchmark of the PKI hot path: sign, verify, peer identity, token validation.

Run: `.venv/bin/python bench/certs_crypto.py [--seconds S]`. Prints operations
per second and microseconds per operation, with a baseline measured in the
same run (a bare cryptography Ed25519 verify with no trust-store checks), so
the overhead of our checks is visible on whatever machine runs it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certs import pki, tls
from certs.authority import thumbprint_of_file
from certs.signing import DISCLOSURE_DOMAIN, SigningKey, TrustStore
from identity.tokens import TokenValidator, init_dev_issuer, issue_token
from mash.home import Home


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of `fn` over about `seconds`."""
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            fn()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


class _Ctx:
    def __init__(self, pem: bytes) -> None:
        self._auth = {"x509_pem_cert": [pem]}

    def auth_context(self) -> dict[str, list[bytes]]:
        return self._auth


def main(argv: list[str] | None = None) -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(prog="mash bench crypto")
    parser.add_argument("--seconds", type=float, default=1.0)
    s = parser.parse_args(argv).seconds
    home = Home.at(tempfile.mkdtemp(prefix="mash-bench-"))
    pki.init_pki(home, agencies=["police"])
    init_dev_issuer(home)
    key = SigningKey.load(home.signing_key("adapter-police"))
    store = TrustStore.load(home.trust_store)
    payload = b"x" * 1024
    sig = key.sign(DISCLOSURE_DOMAIN, payload)
    raw = Ed25519PrivateKey.generate()
    raw_sig, raw_pub = raw.sign(payload), raw.public_key()
    ctx = _Ctx(home.tls_cert("adapter-police").read_bytes())
    token = issue_token(home, sub="sw-1", role="mash_social_worker")
    validator = TokenValidator.from_home(home)
    device = thumbprint_of_file(home.tls_cert("client-staff"))
    cases: dict[str, Callable[[], object]] = {
        "baseline: bare Ed25519 verify (1 KiB)": lambda: raw_pub.verify(raw_sig, payload),
        "SigningKey.sign (1 KiB)": lambda: key.sign(DISCLOSURE_DOMAIN, payload),
        "TrustStore.verify (1 KiB)": lambda: store.verify(
            DISCLOSURE_DOMAIN, payload, sig, key.key_id,
            expected_owner="adapter-police", purpose="disclosure-signing"),
        "peer_identity (cached cert, revocation check)": lambda: tls.peer_identity(ctx, store),
        "TokenValidator.validate (cached)": lambda: validator.validate(token, device),
        "TokenValidator.validate (uncached)": lambda: TokenValidator.from_home(home)
        .validate(token, device),
    }
    for name, fn in cases.items():
        r = rate(fn, s)
        print(f"{name:<48} {r:>10,.0f}/s  {1e6 / r:>8.1f} us")


if __name__ == "__main__":
    main()
