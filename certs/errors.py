"""Errors of the PKI part, one class per cause.

Callers catch the base class of the family they handle (`SignatureError` when
verifying a message, `PeerError` when authenticating a TLS peer) and log the
subclass name; what a remote party sees is short and generic.
"""

from __future__ import annotations


class CertsError(Exception):
    """Base of every error raised by `certs`."""

    _code: str | None = None

    @property
    def code(self) -> str:
        """Machine-readable reason code for summaries and audit events (`wrong_signer`, ...)."""
        name = type(self).__name__
        return self._code or "".join("_" + c.lower() if c.isupper() else c for c in name)[1:]


# --- message signatures -------------------------------------------------------------------
class SignatureError(CertsError):
    """A signed message could not be verified; the message must be dropped."""


class UnknownKey(SignatureError):
    """The key id is not pinned in the trust store."""


class WrongSigner(SignatureError):
    """The key is pinned, but for another owner or another purpose."""


class KeyNotValid(SignatureError):
    """The key is pinned, but the verification time is outside its validity window."""


class InvalidSignature(SignatureError):
    """The signature does not match the bytes under the pinned key."""


# --- TLS peers ----------------------------------------------------------------------------
class PeerError(CertsError):
    """A TLS peer could not be identified; the call must be refused."""


class PeerNotAuthenticated(PeerError):
    """The call carries no verified client certificate with a mash:// identity."""


class CertificateRevoked(PeerError):
    """The peer's certificate serial is on the revocation list."""


# --- PKI files ----------------------------------------------------------------------------
class PkiError(CertsError):
    """The PKI files on disk are missing, malformed or inconsistent."""


class InvalidName(PkiError, ValueError):
    """A service, agency or client name is not a safe identifier."""


class TrustStoreError(PkiError):
    """The trust store file cannot be read or is malformed."""
