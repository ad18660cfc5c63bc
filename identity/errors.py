"""Errors of staff-token validation, one class per cause.

The broker maps every `TokenError` to UNAUTHENTICATED with a short message and
logs the subclass name; the token itself is never logged.
"""

from __future__ import annotations


class TokenError(Exception):
    """Base of every reason a staff token is refused."""


class MalformedToken(TokenError):
    """Not a well-formed JWS compact token (or absurdly large)."""


class BadSignature(TokenError):
    """The signature does not verify under any trusted issuer key (or the key is unknown)."""


class DisallowedAlgorithm(TokenError):
    """The header names an algorithm outside the allow-list (`none`, HS256 key confusion...)."""


class ExpiredToken(TokenError):
    """The token's `exp` is past (beyond the allowed clock leeway)."""


class NotYetValid(TokenError):
    """The token's `nbf` or `iat` is in the future (beyond the allowed clock leeway)."""


class TokenTooLongLived(TokenError):
    """`exp - iat` exceeds the maximum lifetime: staff tokens must be short-lived."""


class WrongIssuer(TokenError):
    """`iss` is not the trusted identity provider."""


class WrongAudience(TokenError):
    """`aud` does not name this broker."""


class MissingClaim(TokenError):
    """A required claim is absent or of the wrong type."""


class UnknownRole(TokenError):
    """The `role` claim is not a role of `mash.vocab.Role`."""


class WrongOrganisation(TokenError):
    """`org` is not the MASH this broker serves."""


class UnboundToken(TokenError):
    """The token carries no usable `cnf.x5t#S256`: it is not bound to a client certificate."""


class WrongCertificate(TokenError):
    """The token is bound to another client certificate than the one it was presented over."""
