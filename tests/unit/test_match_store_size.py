"""Bars that follow the store's size: Fellegi-Sunter prior odds (docs/matching.md, section 4).

`high` is set for a store of 1,000,000 people; in a store of N people the prior odds that
a given record is the person asked for are ~1/N, so the same certainty needs
log2(1,000,000 / N) bits less, down to a floor. The rules of `decide` do not move with the
size: a twin stays `possible` in the smallest store, and so does a name at an address
without a date of birth short of `high_without_dob` (a namesake relative is as likely there
in a small store as in a large one).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.config import AdapterConfig
from agency_adapters.matching import MatchThresholds, match
from agency_adapters.matching.matcher import (
    REFERENCE_PEOPLE,
    SCALED_BAR_FLOOR,
    decide,
    score_candidates,
    store_people,
)
from agency_adapters.sqlite_store import SqliteAgencyStore, StoreWriter
from mash.app.cli import main
from mash.vocab import MatchBand

KATARZYNA = Person("K1", "Katarzyna", "Jones", (), "1969-07-09", "female", "S4 6LD",
                   "7 Ash Grove", "", "")
# Both names one keying error off, the date of birth exact, the address moved: ~19 bits,
# short of the 20 set for a million people, well past the bar of a store of a few people.
MISTYPED_AND_MOVED = QueryIdentifiers(given_name="Katarzyma", family_name="Jomes",
                                      date_of_birth="1969-07-09", sex="female",
                                      postcode="S11 8YA")


def _store(tmp_path: Path, people: list[Person]) -> SqliteAgencyStore:
    with StoreWriter(tmp_path / "s.sqlite", "health") as w:
        w.add_people(people)
    return SqliteAgencyStore(tmp_path / "s.sqlite")


def test_bars_come_down_by_the_prior_odds_to_a_floor() -> None:
    t = MatchThresholds()
    assert t.for_store(REFERENCE_PEOPLE) == t
    assert t.for_store(None) == t                      # size unknown: fail closed
    assert t.for_store(5 * REFERENCE_PEOPLE) == t      # never above the bars as set
    half = t.for_store(REFERENCE_PEOPLE // 2)          # 1 bit of prior odds
    assert half.high == pytest.approx(19.0) and SCALED_BAR_FLOOR < 19.0
    tiny = t.for_store(3)
    assert tiny.high == SCALED_BAR_FLOOR
    # certain needs a verified identifier whatever the odds; the margin compares two
    # candidates of one store (the prior cancels); possible discloses nothing; a namesake
    # relative at the address is no rarer in a small store
    assert (tiny.certain, tiny.margin, tiny.possible, tiny.high_without_dob) == (
        t.certain, t.margin, t.possible, t.high_without_dob)
    assert tiny.for_store(3) == tiny                   # the bars in force are not scaled again
    assert MatchThresholds(scale_bars_by_store_size=False).for_store(3).high == t.high
    # never below `possible`, nor above a bar set lower than the floor
    assert MatchThresholds(possible=18, high=19).for_store(3).high == 18
    assert MatchThresholds(high=12).for_store(3).high == 12


def test_a_small_store_answers_sure_where_a_million_would_not(tmp_path: Path) -> None:
    s = _store(tmp_path, [KATARZYNA])
    freq = s.name_frequencies()
    assert store_people(freq) == 1
    scored = score_candidates(MISTYPED_AND_MOVED, s.candidates(MISTYPED_AND_MOVED), freq)
    assert SCALED_BAR_FLOOR <= scored[0][0].weight < MatchThresholds().high
    r = match(s, MISTYPED_AND_MOVED)
    assert r.band is MatchBand.HIGH and r.person_id == "K1"
    # switched off, or a backend that cannot count its people: the bars as set
    off = match(s, MISTYPED_AND_MOVED, MatchThresholds(scale_bars_by_store_size=False))
    assert off.band is MatchBand.POSSIBLE and off.person_id is None
    assert decide(MISTYPED_AND_MOVED, scored, frequencies=None).band is MatchBand.POSSIBLE
    s.close()


def test_the_rules_do_not_move_with_the_size(tmp_path: Path) -> None:
    # The twin held, the other asked for: same surname, date of birth and address, another
    # given name -- contradicted, so never sure, however small the store.
    amy = Person("A1", "Amy", "Reid", (), "2012-04-03", "female", "S4 6LD", "7 Ash Grove",
                 "", "")
    s = _store(tmp_path, [amy])
    beth = QueryIdentifiers(given_name="Beth", family_name="Reid", date_of_birth="2012-04-03",
                            sex="female", postcode="S4 6LD")
    r = match(s, beth)
    assert r.band is MatchBand.POSSIBLE and r.person_id is None
    # A parent with the child's name: another date of birth.
    dad = QueryIdentifiers(given_name="Amy", family_name="Reid", date_of_birth="1980-04-03",
                           postcode="S4 6LD")
    assert match(s, dad).band is MatchBand.POSSIBLE
    # Names at the address without a date of birth: the bar as set (the father or son of
    # the same name may be the one not held).
    no_dob = QueryIdentifiers(given_name="Amy", family_name="Reed", postcode="S4 6LD")
    scored = score_candidates(no_dob, s.candidates(no_dob), s.name_frequencies())
    assert SCALED_BAR_FLOOR <= scored[0][0].weight < MatchThresholds().high_without_dob
    assert match(s, no_dob).band is MatchBand.POSSIBLE
    s.close()


def test_config_switch_and_explain_show_the_bars_in_force(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _store(tmp_path, [KATARZYNA]).close()
    config = tmp_path / "adapter.toml"
    base = (f'agency = "health"\nhome = "{tmp_path}"\nstore = "{tmp_path / "s.sqlite"}"\n'
            '[matching]\n')
    config.write_text(base)
    assert main(["match", "explain", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert f"bars in force: high {SCALED_BAR_FLOOR:.4g}, high_without_dob 24" in text
    assert "the store holds 1 people" in text and "log2(1,000,000 / 1)" in text

    config.write_text(base + "scale_bars_by_store_size = false\n")
    cfg = AdapterConfig.load(config)
    assert cfg.matching == {"scale_bars_by_store_size": False}
    assert MatchThresholds.from_settings(cfg.matching).for_store(1).high == 20
    cfg.write(tmp_path / "again.toml")
    assert AdapterConfig.load(tmp_path / "again.toml") == cfg
    assert main(["match", "explain", "--config", str(config), "--given", "Katarzyma",
                 "--family", "Jomes", "--dob", "1969-07-09", "--postcode", "S11 8YA"]) == 0
    text = capsys.readouterr().out
    assert "bars in force: high 20, high_without_dob 24" in text
    assert "scale_bars_by_store_size = false" in text and "answer: possible" in text
