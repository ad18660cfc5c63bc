import os
import re
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.pseudonyms import (
    Pseudonymiser,
    PseudonymKeyError,
    normalise_name,
    normalise_nhs_number,
)


def test_key_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "k" / "pseudonym.key"
    a = Pseudonymiser.load_or_create(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    b = Pseudonymiser.load_or_create(path)
    assert a.nhs_number("9434765919") == b.nhs_number("9434765919")


def test_a_crash_while_writing_the_key_leaves_no_half_key(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: the key file was created empty, then filled; dying in between left an empty
    # key that every later start refused ("must be 32 bytes"), and a process racing the
    # creator read it empty too.
    path = tmp_path / "pseudonym.key"

    def power_cut(fd: int) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(OSError, match="power cut"):
        Pseudonymiser.load_or_create(path)
    monkeypatch.undo()
    assert not path.exists() and list(tmp_path.iterdir()) == []
    assert Pseudonymiser.load_or_create(path).nhs_number("9434765919")


def test_processes_racing_to_create_the_key_all_get_the_one_key(tmp_path: Path) -> None:
    path = tmp_path / "pseudonym.key"
    start = threading.Barrier(12)

    def create() -> str | None:
        start.wait()
        return Pseudonymiser.load_or_create(path).nhs_number("9434765919")

    with ThreadPoolExecutor(12) as pool:
        got = list(pool.map(lambda _: create(), range(12)))
    assert len(set(got)) == 1 and got[0]


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pseudonym.key"
    Pseudonymiser.load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(PseudonymKeyError):
        Pseudonymiser.load(path)


def test_spelling_of_the_same_identifiers_gives_the_same_pseudonyms(tmp_path: Path) -> None:
    p = Pseudonymiser.load_or_create(tmp_path / "k")
    a = p.for_identifiers(nhs_number="943 476 5919", given_name="Zoë", family_name="O'Brien",
                          date_of_birth="2015-03-02")
    b = p.for_identifiers(nhs_number="943-476-5919", given_name="ZOE", family_name="obrien",
                          date_of_birth=date(2015, 3, 2))
    assert a == b and len(a) == 2


def test_another_key_gives_unlinkable_pseudonyms(tmp_path: Path) -> None:
    a = Pseudonymiser.load_or_create(tmp_path / "a").nhs_number("9434765919")
    b = Pseudonymiser.load_or_create(tmp_path / "b").nhs_number("9434765919")
    assert a != b and "9434765919" not in (a or "")


def test_unusable_identifiers_give_no_pseudonym(tmp_path: Path) -> None:
    p = Pseudonymiser.load_or_create(tmp_path / "k")
    assert p.for_identifiers(nhs_number="12345", given_name="Amy") == ()
    assert p.for_identifiers(given_name="Amy", family_name="Shaw", date_of_birth="not a date") == ()


def test_different_people_differ(tmp_path: Path) -> None:
    p = Pseudonymiser.load_or_create(tmp_path / "k")
    assert p.name_and_dob("Amy", "Shaw", "2015-03-02") != p.name_and_dob("Amy", "Shaw",
                                                                         "2015-03-03")


def test_normalisers() -> None:
    assert normalise_nhs_number(" 943 476 5919 ") == "9434765919"
    assert normalise_nhs_number("94347659190") is None
    assert normalise_name("  Mary-Jane  O'Neil ") == "maryjaneoneil"
    assert normalise_name("---") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20) | st.text(alphabet=st.characters(max_codepoint=127), max_size=20))
def test_ascii_fast_path_is_the_full_normalisation(value: str) -> None:
    # the pseudonyms of every stored entry depend on this text: the ASCII shortcut must
    # give exactly what NFKD + dropping combining marks gives
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    full = re.sub(r"[^a-z]", "", "".join(c for c in decomposed if not unicodedata.combining(c)))
    assert normalise_name(value) == (full or None)
