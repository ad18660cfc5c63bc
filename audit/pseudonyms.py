"""Keyed pseudonyms: find a person in the audit log without storing their identifiers.

A pseudonym is HMAC-SHA256, under a 32-byte log key held by the service, of a
normalised identifier: the NHS number (digits only), or the normalised full
name with the date of birth. Without the key a pseudonym cannot be linked to a
person (a plain hash of an NHS number could be reversed by trying them all).
The IG lead's search and SAR pseudonymise the identifiers they are given at
query time with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mash.files import PRIVATE_MODE, create_file
from mash.home import Home
from mash.v1 import mash_pb2

KEY_BYTES = 32
#: Hex digits kept of each HMAC: 128 bits, ample against collisions, half the index size.
PSEUDONYM_HEX = 32

_NON_LETTERS = re.compile(r"[^a-z]")
_NON_DIGITS = re.compile(r"\D")


class PseudonymKeyError(Exception):
    """The pseudonym key file is missing, unreadable, of the wrong size or too widely readable."""


def default_key_path(home: Home) -> Path:
    """Where a home keeps its pseudonym key (with the other secrets, not beside the logs)."""
    return home.pki_dir / "audit" / "pseudonym.key"


def normalise_nhs_number(value: str | None) -> str | None:
    """Digits of an NHS number ("943 476 5919" -> "9434765919"), or None unless exactly 10."""
    if not value:
        return None
    digits = _NON_DIGITS.sub("", value)
    return digits if len(digits) == 10 else None


def normalise_name(value: str | None) -> str | None:
    """Lower-case ASCII letters only ("O'Brien-Smith" -> "obriensmith", "Zoë" -> "zoe")."""
    if not value:
        return None
    if value.isascii():
        # Most names: NFKD and combining marks do nothing to ASCII (and this runs for
        # every name of every subject, in the broker and in every adapter, per lookup).
        return _NON_LETTERS.sub("", value.lower()) or None
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    letters = _NON_LETTERS.sub("", "".join(c for c in decomposed if not unicodedata.combining(c)))
    return letters or None


def normalise_dob(value: str | date | None) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date or an ISO string, or None if unusable."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return None


@dataclass(frozen=True)
class Pseudonymiser:
    """Makes keyed pseudonyms with one log key. Create with `load_or_create`."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise PseudonymKeyError(f"pseudonym key must be {KEY_BYTES} bytes")

    @classmethod
    def load_or_create(cls, path: Path) -> Pseudonymiser:
        """Load the key at `path`, or generate it (0600) if there is none yet."""
        path = Path(path)
        if not path.exists():
            # whole or not at all: if another process created it first, load theirs
            create_file(path, secrets.token_bytes(KEY_BYTES), mode=PRIVATE_MODE)
        return cls.load(path)

    @classmethod
    def load(cls, path: Path) -> Pseudonymiser:
        """Load an existing key; refuse one readable by group or others."""
        try:
            mode = path.stat().st_mode & 0o777
            key = path.read_bytes()
        except OSError as exc:
            raise PseudonymKeyError(f"cannot read pseudonym key {path.name}: {exc}") from None
        if mode & 0o077:
            raise PseudonymKeyError(f"pseudonym key {path.name} is readable by others "
                                    f"(mode {mode:o}); chmod 600 it")
        return cls(key)

    @classmethod
    def for_home(cls, home: Home) -> Pseudonymiser:
        """The home's pseudonymiser (key created on first use)."""
        return cls.load_or_create(default_key_path(home))

    def _mac(self, label: str, value: str) -> str:
        msg = f"mash-pseudonym-v1|{label}|{value}".encode()
        return hmac.new(self.key, msg, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]

    def nhs_number(self, nhs_number: str | None) -> str | None:
        """The pseudonym of an NHS number, or None if it is not a usable one."""
        n = normalise_nhs_number(nhs_number)
        return self._mac("nhs", n) if n else None

    def name_and_dob(self, given_name: str | None, family_name: str | None,
                     date_of_birth: str | date | None) -> str | None:
        """The pseudonym of a full name with date of birth, or None if any part is missing."""
        g, f, d = normalise_name(given_name), normalise_name(family_name), normalise_dob(
            date_of_birth)
        return self._mac("name-dob", f"{g}|{f}|{d}") if g and f and d else None

    def for_identifiers(self, *, nhs_number: str | None = None, given_name: str | None = None,
                        family_name: str | None = None,
                        date_of_birth: str | date | None = None) -> tuple[str, ...]:
        """One pseudonym per usable identifier (NHS number; name + DOB), in that order."""
        found = (self.nhs_number(nhs_number),
                 self.name_and_dob(given_name, family_name, date_of_birth))
        return tuple(p for p in found if p is not None)


def for_subjects(pseudonymiser: Pseudonymiser,
                 subjects: Iterable[mash_pb2.Subject]) -> tuple[str, ...]:
    """Pseudonyms of every subject of a lookup (`mash.v1.Subject` messages), in order."""
    out: list[str] = []
    for s in subjects:
        i = s.identifiers
        out.extend(pseudonymiser.for_identifiers(
            nhs_number=i.nhs_number, given_name=i.given_name, family_name=i.family_name,
            date_of_birth=i.date_of_birth))
    return tuple(out)
