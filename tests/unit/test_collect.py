"""`mash.config.collect`: every problem of a table at once, keeping what decodes."""

from __future__ import annotations

from mash.config import Flaw, Strict, collect
from mash.vocab import Rag


class Row(Strict, frozen=True):
    """A table inside a list."""

    rag: frozenset[Rag]
    note: str = ""


class Doc(Strict, frozen=True):
    """A small file format with a required field, a default, a list and a table of tables."""

    name: str
    count: int = 3
    rows: list[Row] = []
    levels: dict[Rag, int] = {}


def test_a_good_table_decodes_in_one_go() -> None:
    flaws: list[Flaw] = []
    got = collect(Doc, {"name": "a", "rows": [{"rag": ["red"]}]}, flaws)
    assert got.value == Doc(name="a", rows=[Row(rag=frozenset({Rag.RED}))])
    assert flaws == []


def test_every_flaw_is_collected_with_its_field() -> None:
    flaws: list[Flaw] = []
    data = {"count": "x", "extra": 1,
            "rows": [{"rag": ["red", "pink"]}, {"rag": ["green"], "note": 5}],
            "levels": {"amber": 1, "blue": 2, "red": "no"}}
    got = collect(Doc, data, flaws, prefix="doc")
    assert {(f.field, f.kind) for f in flaws} == {
        ("doc.extra", "unknown_field"), ("doc.name", "required"), ("doc.count", "wrong_type"),
        ("doc.rows[0].rag", "wrong_type"), ("doc.rows[1].note", "wrong_type"),
        ("doc.levels.blue", "wrong_type"), ("doc.levels.red", "wrong_type")}
    pink = next(f for f in flaws if f.field == "doc.rows[0].rag")
    assert pink.value == "pink" and pink.item
    # the struct cannot be built without its name, but what decoded is kept
    assert got.value is None
    assert got.part("count", int) == 3  # the default stands in for a wrong value
    assert got.part("rows", list) == [Row(rag=frozenset({Rag.RED})),
                                      Row(rag=frozenset({Rag.GREEN}))]
    assert got.part("levels", dict) == {Rag.AMBER: 1}
    assert got.part("name", str) is None
