"""The calendar, the trust store and certificate requests refuse a bad field by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from certs.errors import PkiError, TrustStoreError
from certs.requests import CertificateRequest
from certs.truststore import TrustStore
from mash.working_calendar import CalendarConfigError, calendar_from_mapping, load_calendar

STORE = """version = 1

[[key]]
key_id = "0123456789abcdef"
owner = "adapter-police"
purpose = "disclosure-signing"
algorithm = "ed25519"
public_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
not_before = 2026-01-01T00:00:00Z
not_after = 2027-01-01T00:00:00Z
"""


@pytest.mark.parametrize(("text", "message"), [
    ('[calendar]\nopens = "08:00"\nclosing = "18:00"\n',
     "line 3: field 'calendar.closing': unknown field (valid: opens, closes, working_weekdays, "
     "extra_closures, at_risk_hours, timezone)"),
    ("[timescales]\nred_hours = \"four\"\n",
     "line 2: field 'timescales.red_hours': expected a number, got a string"),
    ('[calendar]\nextra_closures = ["2026-12-24", "Boxing Day"]\n',
     "line 2: field 'calendar.extra_closures[1]': expected a date (YYYY-MM-DD), "
     "got 'Boxing Day'"),
    ('[calendar]\nopens = "18:00"\n',
     "line 1: field 'calendar.closes': must be after calendar.opens"),
])
def test_a_bad_calendar_file_names_the_line_and_field(tmp_path: Path, text: str,
                                                      message: str) -> None:
    path = tmp_path / "timescales.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarConfigError) as raised:
        load_calendar(path)
    assert str(raised.value) == f"{path}: {message}"


def test_a_calendar_table_of_the_wrong_kind_is_named() -> None:
    with pytest.raises(CalendarConfigError, match=r"^calendar: expected a table, got a list$"):
        calendar_from_mapping({"calendar": []})
    with pytest.raises(CalendarConfigError,
                       match=r"^calendar.working_weekdays\[0\]: must be between 0 and 6$"):
        calendar_from_mapping({"calendar": {"working_weekdays": [7]}})


@pytest.mark.parametrize(("old", "new", "message"), [
    ('algorithm = "ed25519"', 'algorithm = "ed25519"\ncomment = "x"',
     "key[0].comment: unknown field (valid: key_id, owner, purpose, public_key, not_before, "
     "not_after, algorithm)"),
    ("not_after = 2027-01-01T00:00:00Z", "not_after = 2027-01-01T00:00:00",
     "key[0].not_after: a date-time must carry a UTC offset (e.g. 2026-11-02T09:00:00+00:00)"),
    ('owner = "adapter-police"\n', "", "key[0].owner: is required"),
    ("version = 1", 'version = "1"', "version: must be one of 1, got '1'"),
    ('purpose = "disclosure-signing"', 'purpose = "signing"',
     "key[0].purpose: unknown KeyPurpose 'signing' (allowed: query-signing, "
     "disclosure-signing, audit-checkpoint)"),
])
def test_a_bad_trust_store_names_the_field(tmp_path: Path, old: str, new: str,
                                           message: str) -> None:
    path = tmp_path / "trust.toml"
    assert old in STORE
    path.write_text(STORE.replace(old, new), encoding="utf-8")
    with pytest.raises(TrustStoreError) as raised:
        TrustStore.load(path)
    assert str(raised.value) == message


def test_a_bad_certificate_request_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "request.toml"
    path.write_text('version = 1\nkind = "adapter"\nname = "police"\ncsr = 3\n', encoding="utf-8")
    with pytest.raises(PkiError, match=r"line 4: field 'csr': expected a string, got a whole "
                                       r"number$"):
        CertificateRequest.load(path)
    path.write_text('version = 1\nkind = "adapter"\nname = "police"\n', encoding="utf-8")
    with pytest.raises(PkiError, match=r"field 'csr': is required$"):
        CertificateRequest.load(path)
