"""`mash seed`: determinism, realistic coverage, valid identifiers, the demo referrals."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from agency_adapters.matching.normalise import normalise_nhs_number, normalise_upn
from agency_adapters.seed import seed_agencies
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.app.cli import main
from mash.vocab import AGENCY_CATEGORIES, Agency, Category

pytestmark = pytest.mark.clock_sensitive


def _dump(path: Path) -> str:
    conn = sqlite3.connect(path)
    rows = [conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()  # noqa: S608
            for t in ("people", "records", "blocking")]
    conn.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("seed")
    seed_agencies(d, seed=11, people=1500)
    return d


def test_deterministic_for_a_seed(seeded: Path, tmp_path: Path) -> None:
    seed_agencies(tmp_path, seed=11, people=1500, agencies=[Agency.POLICE, Agency.EDUCATION])
    for a in ("police", "education"):
        assert _dump(seeded / f"{a}.sqlite") == _dump(tmp_path / f"{a}.sqlite")
    other = tmp_path / "other"
    seed_agencies(other, seed=12, people=1500, agencies=[Agency.POLICE])
    assert _dump(other / "police.sqlite") != _dump(seeded / "police.sqlite")


def test_every_record_in_its_agencys_categories(seeded: Path) -> None:
    for agency in Agency:
        store = SqliteAgencyStore(seeded / f"{agency.value}.sqlite")
        conn = store._conn()
        cats = {Category(c) for (c,) in conn.execute("SELECT DISTINCT category FROM records")}
        assert cats and cats <= set(AGENCY_CATEGORIES[agency])
        orphans = conn.execute("SELECT count(*) FROM records WHERE person_id NOT IN "
                               "(SELECT person_id FROM people)").fetchone()[0]
        assert orphans == 0
        store.close()


def test_coverage_is_realistic(seeded: Path) -> None:
    counts = {a: SqliteAgencyStore(seeded / f"{a.value}.sqlite").count_people() for a in Agency}
    # Nearly everyone has a GP; few are known to police or children's social care.
    assert counts[Agency.HEALTH] > 0.9 * 1500
    assert counts[Agency.POLICE] < 0.25 * 1500
    assert counts[Agency.CHILDRENS_SOCIAL_CARE] < counts[Agency.EDUCATION] < counts[Agency.HEALTH]


def test_identifiers_held_are_valid(seeded: Path) -> None:
    health = SqliteAgencyStore(seeded / "health.sqlite")
    nhs = [p.nhs_number for p in health.iter_people() if p.nhs_number]
    assert len(nhs) > 0.95 * health.count_people()
    assert all(normalise_nhs_number(n) for n in nhs)
    education = SqliteAgencyStore(seeded / "education.sqlite")
    upns = [p.upn for p in education.iter_people() if p.upn]
    assert upns and all(normalise_upn(u) for u in upns)


def test_demo_subjects(seeded: Path) -> None:
    doc = json.loads((seeded / "demo_subjects.json").read_text())
    red = doc["referrals"][0]
    assert red["rag"] == "red"
    child = red["subjects"][0]
    assert child["role"] == "child"
    assert {"police", "health", "education", "housing"} <= set(child["known_to"])
    roles = {s["role"] for s in red["subjects"]}
    assert {"child", "parent_carer"} <= roles
    # The police hold a high-DASH incident for the first child, and the matcher finds them.
    assert child["match_at_seed"]["police"] in ("certain", "high")
    from agency_adapters.backend import QueryIdentifiers
    from agency_adapters.matching import match

    police = SqliteAgencyStore(seeded / "police.sqlite")
    found = match(police, QueryIdentifiers.from_mapping(child["identifiers"]))
    assert found.person_id is not None
    incidents = police.records_for(found.person_id, [Category.DOMESTIC_ABUSE_INCIDENTS])
    assert any(r.attributes["dash_risk"] == "high" for r in incidents)
    unknown = [s for r in doc["referrals"] for s in r["subjects"] if not s["known_to"]]
    assert unknown and all(set(s["match_at_seed"].values()) == {"none"} for s in unknown)


def test_cli_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed", "--home", str(tmp_path), "--people", "300", "--agency", "police"]) == 0
    assert (tmp_path / "data" / "police.sqlite").is_file()
    assert not (tmp_path / "data" / "health.sqlite").exists()
    assert main(["seed", "--home", str(tmp_path), "--agency", "fire_service"]) == 2
    assert main(["seed", "--home", str(tmp_path), "--people", "3"]) == 2


def test_record_dates_are_plausible(seeded: Path) -> None:
    """No record before the person was born (bar adoption), none after the data's date."""
    for agency in Agency:
        store = SqliteAgencyStore(seeded / f"{agency.value}.sqlite")
        as_of = store.meta["as_of"]
        rows = store._conn().execute(
            "SELECT r.record_id, r.category, r.occurred_on, p.date_of_birth FROM records r "
            "JOIN people p USING (person_id)").fetchall()
        for rid, _cat, occurred, _dob in rows:
            assert occurred <= as_of, rid
        # The agency's DOB may carry a keying error; allow a year's slack against it.
        early = [(rid, cat, occ, dob) for rid, cat, occ, dob in rows
                 if dob and occ < dob and cat != Category.ADOPTION_RECORDS
                 and int(dob[:4]) - int(occ[:4]) > 1]
        assert early == [], early[:3]
        store.close()


def test_summaries_carry_no_names(seeded: Path) -> None:
    """Minimised one-line summaries never name the person or anyone else held."""
    for agency in Agency:
        store = SqliteAgencyStore(seeded / f"{agency.value}.sqlite")
        given = {p.given_name.split()[0].casefold() for p in store.iter_people()
                 if len(p.given_name.split()[0]) > 3}
        for (summary,) in store._conn().execute("SELECT summary FROM records"):
            words = {w.strip(".,;:()").casefold() for w in summary.split()}
            assert not words & given, summary
        store.close()


def test_duplicate_registrations_split_records(seeded: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An agency that registered people twice holds two person rows, each with some records."""
    from dataclasses import replace

    from agency_adapters import police

    normal = SqliteAgencyStore(seeded / "police.sqlite")
    several = normal._conn().execute(
        "SELECT count(*) FROM (SELECT person_id FROM records GROUP BY person_id "
        "HAVING count(*) > 1)").fetchone()[0]
    monkeypatch.setattr(police, "QUALITY", replace(police.QUALITY, duplicate=1.0))
    seed_agencies(tmp_path, seed=11, people=1500, agencies=[Agency.POLICE])
    store = SqliteAgencyStore(tmp_path / "police.sqlite")
    people = store.count_people()
    with_records = store._conn().execute(
        "SELECT count(DISTINCT person_id) FROM records").fetchone()[0]
    assert with_records == people  # every duplicate carries some of the records
    # Roughly one extra row for everyone with several records (the RNG stream shifts, so
    # the populations differ slightly; the demo family is never duplicated).
    assert people >= normal.count_people() + 0.7 * several


def test_cli_seed_dates_the_data_as_of_the_day_given(tmp_path: Path) -> None:
    assert main(["seed", "--home", str(tmp_path), "--people", "300", "--agency", "health",
                 "--as-of", "2031-02-28"]) == 0
    store = SqliteAgencyStore(tmp_path / "data" / "health.sqlite")
    try:
        assert store.meta["as_of"] == "2031-02-28"
        latest = store._conn().execute("SELECT max(occurred_on) FROM records").fetchone()[0]
        assert "2030-01-01" < latest <= "2031-02-28"
    finally:
        store.close()
    with pytest.raises(SystemExit) as refused:
        main(["seed", "--home", str(tmp_path), "--as-of", "28/02/2031"])
    assert refused.value.code == 2


def test_a_home_seeded_on_an_earlier_day_is_seeded_again(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from mash.app.cluster import prepare_home
    from mash.home import Home

    home = Home.at(tmp_path)
    prepare_home(home, people=60, seed=3, agencies=[Agency.HEALTH],
                 clock=lambda: datetime(2030, 5, 1, 9, tzinfo=UTC))
    subjects = json.loads((home.data_dir / "demo_subjects.json").read_text())
    assert subjects["as_of"] == "2030-05-01"
    prepare_home(home, people=60, seed=3, agencies=[Agency.HEALTH],
                 clock=lambda: datetime(2030, 6, 2, 9, tzinfo=UTC))
    subjects = json.loads((home.data_dir / "demo_subjects.json").read_text())
    assert subjects["as_of"] == "2030-06-02"
