"""The SQL backend's mapping file and the checks that need no PostgreSQL (SQLite stands in)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from agency_adapters.backend import BackendWritable
from agency_adapters.seed.warehouse import create_warehouse
from agency_adapters.sql.errors import redacted
from agency_adapters.sql.mapping import MappingError, SqlMapping
from agency_adapters.sql.readonly import check_read_only, tables_read_by
from agency_adapters.sql.templates import Template, TemplateError
from mash.config import ConfigError
from mash.vocab import Agency

TEMPLATE = Path(__file__).resolve().parents[2] / "agency_adapters" / "templates" / "sql-mapping.toml"


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = TEMPLATE.read_text()
    assert old in text, old
    path = tmp_path / "mapping.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_the_shipped_template_loads() -> None:
    mapping = SqlMapping.load(TEMPLATE)
    mapping.check_agency(Agency.CHILDRENS_SOCIAL_CARE)
    assert [r.name for r in mapping.records] == ["cases", "cp_plans", "looked_after"]
    assert mapping.people.columns["given_name"] == ("forename", "middle_names")
    assert mapping.blocking.method == "match_keys" and mapping.blocking.schema == "mash_kit"


@pytest.mark.parametrize(("old", "new", "field", "problem"), [
    ('family_name = "surname"\n', "", "people.family_name", "is required"),
    ('id = "person_id"', 'id = "person id"', "people.id", "is not a column name"),
    ('table = "social_care.people"', 'table = "a.b.c"', "people.table", "not a table name"),
    ('F = "female"', 'F = "woman"', "people.sex_values.F", "must be one of"),
    ('method = "match_keys"', 'method = "soundex"', "blocking.method", "must be one of"),
    ("WHERE person_id = :person_id", "WHERE person_id = 'CSC-1'", "records[0].sql",
     "bound parameter :person_id"),
    ("WHERE person_id = :person_id", "WHERE person_id = :person_id; DROP TABLE x",
     "records[0].sql", "one statement"),
    ("SELECT case_id,", "DELETE case_id,", "records[0].sql", "one SELECT statement"),
    ('category = "csc_case_status"', 'category = "csc_case_statu"', "records[0].category",
     "csc_case_statu"),
    ('summary = "Case {case_status}', 'summary = "Case {case_status!r}', "records[0].summary",
     "braces must enclose a column name"),
    ('name = "cp_plans"', 'name = "cases"', "records", "two [[records]] are named 'cases'"),
    ('occurred_on = "referral_date"\n', 'occurred_on = "referral_date"\nmax_records = 0\n',
     "records[0].max_records", "between 1 and 10000"),
])
def test_a_malformed_mapping_names_the_field(tmp_path: Path, old: str, new: str, field: str,
                                             problem: str) -> None:
    with pytest.raises(MappingError) as err:
        SqlMapping.load(_edited(tmp_path, old, new))
    assert err.value.field == field
    assert problem in str(err.value)


def test_a_category_of_another_agency_is_refused(tmp_path: Path) -> None:
    mapping = SqlMapping.load(_edited(tmp_path, 'category = "csc_case_status"',
                                      'category = "tenancy"'))
    with pytest.raises(MappingError, match="tenancy is not a category of childrens_social_care"):
        mapping.check_agency(Agency.CHILDRENS_SOCIAL_CARE)


def test_an_unknown_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        SqlMapping.load(_edited(tmp_path, "[addresses]\n", "[addresses]\ncurent = \"x\"\n"))
    assert err.value.field == "addresses.curent"


def test_templates_fill_columns_and_fallbacks_only() -> None:
    t = Template.parse("Case {status}: closed {closed|not closed}")
    assert t.fields == ("status", "closed")
    assert t.render({"status": "open", "closed": None}) == "Case open: closed not closed"
    for bad in ("{a.__class__}", "{a[0]}", "{ a }", "{", "}"):
        with pytest.raises(TemplateError):
            Template.parse(bad)


def test_database_messages_keep_only_the_mappings_own_names() -> None:
    message = ('column "forename" does not exist\nLINE 1: SELECT ...')
    assert redacted(message, {"forename"}) == 'column "forename" does not exist'
    leaked = 'invalid input syntax for type date: "Jane Smith 2011-01-01"'
    assert redacted(leaked, {"forename"}) == 'invalid input syntax for type date: "..."'


def test_tables_read_by_a_records_query() -> None:
    sql = "SELECT a.x FROM social_care.cases a JOIN social_care.teams t ON t.id = a.team"
    assert [str(t) for t in tables_read_by(sql)] == ["social_care.cases", "social_care.teams"]


def test_without_postgresql_a_no_row_write_proves_an_account_read_only(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.sqlite"
    create_warehouse(create_engine(f"sqlite:///{db}"), people=300, schema=None)
    mapping = _sqlite_mapping(tmp_path)
    with pytest.raises(BackendWritable, match="an UPDATE of people was accepted"):
        check_read_only(create_engine(f"sqlite:///{db}"), mapping)
    read_only = create_engine(f"sqlite:///file:{db}?mode=ro&uri=true")
    check_read_only(read_only, mapping)  # refused everywhere: no error


def _sqlite_mapping(tmp_path: Path) -> SqlMapping:
    text = TEMPLATE.read_text().replace("social_care.", "").replace(
        'schema = "mash_kit"', 'schema = "main"').replace('grant_to = "mash_reader"\n', "")
    path = tmp_path / "sqlite-mapping.toml"
    path.write_text(text)
    return SqlMapping.load(path)
