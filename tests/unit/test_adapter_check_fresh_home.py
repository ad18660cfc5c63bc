"""`mash adapter check` on an agency's home before its keys and policy arrive.

An agency's IT team runs the check right after `mash adapter init` (init says to). Every line
that fails must point at the agency's own next step -- `mash pki request` / `install` for keys,
certificates and the trust store, `mash policy bundle install` for the agreements -- never at
`mash pki init`, which would make the agency a private CA of its own that no broker trusts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agency_adapters.config import AdapterConfig
from agency_adapters.operator.check import (
    Exit,
    Result,
    check_audit_log,
    check_certificate,
    check_keys,
    check_policy,
    check_trust_store,
)
from mash.home import Home
from mash.vocab import Agency

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _fresh(tmp_path: Path) -> AdapterConfig:
    home = Home.at(tmp_path / "adapter")
    agency = Agency.CHILDRENS_SOCIAL_CARE
    return AdapterConfig(agency=agency, home=home, store=home.agency_store(agency))


def _fails_pointing_at(result: Result, code: Exit, step: str) -> None:
    assert result.code is code, result.line()
    assert step in result.detail, result.line()
    assert "pki init" not in result.detail and "Errno" not in result.detail, result.line()


def test_missing_keys_certificate_trust_store_and_audit_key_name_request_and_install(
        tmp_path: Path) -> None:
    config = _fresh(tmp_path)
    _fails_pointing_at(check_keys(config), Exit.KEYS, "mash pki request / install")
    _fails_pointing_at(check_certificate(config, NOW), Exit.CERTIFICATE,
                       "mash pki request / install")
    _fails_pointing_at(check_trust_store(config, NOW), Exit.TRUST_STORE, "mash pki install")
    _fails_pointing_at(check_audit_log(config), Exit.AUDIT_LOG, "mash pki request / install")


def test_no_approved_agreement_names_the_policy_bundle_install(tmp_path: Path) -> None:
    _fails_pointing_at(check_policy(_fresh(tmp_path), NOW), Exit.POLICY,
                       "mash policy bundle install")
