"""The ready-made demo referrals that `mash seed` writes beside the synthetic agency data.

`demo_subjects.json` holds `{"synthetic": true, "seed", "as_of", "referrals": [...]}`; each
referral is a `DemoReferral`. The seeder writes it (`agency_adapters.seed.demo`) and the demo,
`mash lookup --demo-referral` and the tests read it.
"""

from __future__ import annotations

import json
from typing import NotRequired, TypedDict

from mash.home import Home


class DemoIdentifiers(TypedDict):
    """What the referrer knows of a subject (proto-JSON `Identifiers`; "" where unknown)."""

    given_name: str
    family_name: str
    other_names: list[str]
    date_of_birth: str
    sex: str
    postcode: str
    address: str
    nhs_number: str
    upn: str


class DemoSubject(TypedDict):
    """A subject of a demo referral (proto-JSON `Subject`) with what the seed knows of them."""

    subject_id: str
    role: str
    identifiers: DemoIdentifiers
    #: the agencies that hold the person (the seed's ground truth)
    known_to: list[str]
    #: agency -> the band the matcher gave at seeding time
    match_at_seed: NotRequired[dict[str, str]]


class DemoConsent(TypedDict):
    """The consent the referral records (`reason` "" where none)."""

    state: str
    reason: str


class NotSubject(TypedDict):
    """Someone a lookup must not match (the other twin)."""

    twin_of: str
    given_name: str


class DemoReferral(TypedDict):
    """One ready-made referral."""

    referral_id: str
    rag: str
    purpose: str
    statutory_gateway: str
    consent: DemoConsent
    description: str
    subjects: list[DemoSubject]
    not_subjects: NotRequired[list[NotSubject]]


def demo_referrals(home: Home) -> list[DemoReferral]:
    """The demo referrals the seed wrote into `home` (the file is the seeder's own output)."""
    path = home.data_dir / "demo_subjects.json"
    data = json.loads(path.read_text())
    referrals: list[DemoReferral] = data["referrals"] if isinstance(data, dict) else data
    return referrals
