"""The extract format `mash adapter init --backend extract` declares, and a synthetic export.

The declared schema is written per agency: a people file and one records file whose
`record_type` column holds the category (as its name in capitals). `write_extract`
plays the agency's nightly export job for trials and tests: it writes a synthetic store
as such an extract (the CSV files first, the ready file last).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.vocab import AGENCY_CATEGORIES, Agency

PEOPLE_HEADER = ("person_ref", "forename", "surname", "other_names", "date_of_birth", "sex",
                 "postcode", "address_line_1", "nhs_number", "upn")
RECORDS_HEADER = ("record_ref", "person_ref", "record_type", "recorded_on", "summary")
#: Minimised attributes each agency's records carry (a column each in records.csv).
EXTRACT_ATTRIBUTES: dict[Agency, tuple[str, ...]] = {
    Agency.POLICE: ("dash_risk", "children_present", "grading", "offence", "outcome", "risk",
                    "status", "marac_role"),
    Agency.HEALTH: ("practice", "presenting_complaint", "status", "outcome", "need"),
    Agency.EDUCATION: ("school", "year_group", "attendance_pct", "type", "days",
                       "primary_need", "provision"),
    Agency.HOUSING: ("tenancy", "property", "stage", "arrears_gbp", "reason", "duty"),
    Agency.CHILDRENS_SOCIAL_CARE: ("status", "closed_on", "team", "plan", "outcome"),
}
_SEX_CODES = {"female": "F", "male": "M", "unknown": "U"}
DATE_FORMAT = "%d/%m/%Y"


def type_code(category: str) -> str:
    """The code of a category in the `record_type` column."""
    return category.upper()


def schema_text(agency: Agency) -> str:
    """A commented declared schema for `agency`'s extract."""
    attributes = EXTRACT_ATTRIBUTES[agency]
    codes = "\n".join(f'{type_code(c)} = "{c}"' for c in AGENCY_CATEGORIES[agency])
    quoted = ", ".join(f'"{h}"' for h in (*RECORDS_HEADER, *attributes))
    attr_map = ", ".join(f'{a} = "{a}"' for a in attributes)
    return f'''# The declared schema of the {agency} extract (the extract backend).
#
# Written by `mash adapter init --backend extract`. Your export job writes the files below
# into the incoming folder, then (last) the ready file holding the extract time, e.g.
# 2026-11-02T02:00:00+00:00 (or nothing: its modification time is then used). The adapter
# checks every file against this schema: a row that does not fit (a missing required
# value, a malformed date, an unknown code, a record for nobody) is reported by file, line
# and column and skipped; the whole extract is refused -- and the one in use kept -- when a
# file is missing, a header differs, or too many rows are bad. Change the column names to
# your export's; `mash adapter check` tries an extract against this file.

ready_file = "extract.ready"
max_bad_row_fraction = 0.01   # more bad rows than this in any file refuses the extract
min_people_fraction = 0.5     # so does an extract with fewer than half the people in use

[people]
file = "people.csv"
header = [{", ".join(f'"{h}"' for h in PEOPLE_HEADER)}]
required = ["person_ref", "surname"]
dates = {{ date_of_birth = "{DATE_FORMAT}" }}
person_id = "person_ref"
given_name = "forename"
family_name = "surname"
other_names = "other_names"      # several names separated by ;
date_of_birth = "date_of_birth"
sex = "sex"
postcode = "postcode"
address = "address_line_1"
nhs_number = "nhs_number"
upn = "upn"

[people.sex_values]              # your codes -> female | male | unknown
F = "female"
M = "male"
U = "unknown"

[[records]]
file = "records.csv"
header = [{quoted}]
required = ["record_ref", "person_ref", "record_type", "recorded_on"]
dates = {{ recorded_on = "{DATE_FORMAT}" }}
person_id = "person_ref"
record_id = "record_ref"
occurred_on = "recorded_on"
summary = "{{summary}}"          # one minimised line; {{column}} or {{column|text when empty}}
attributes = {{ {attr_map} }}
category_column = "record_type"

[records.category_values]        # your record type codes -> data categories
{codes}
'''


def write_extract(store: SqliteAgencyStore, folder: Path, agency: Agency, data_as_of: str,
                  ) -> tuple[int, int]:
    """Write `store` as `agency`'s extract into `folder` (the ready file last); (people, records)."""
    folder.mkdir(parents=True, exist_ok=True)
    attributes = EXTRACT_ATTRIBUTES[agency]
    people = records = 0
    with (folder / "people.csv").open("w", newline="", encoding="utf-8") as pf, \
            (folder / "records.csv").open("w", newline="", encoding="utf-8") as rf:
        pw, rw = csv.writer(pf), csv.writer(rf)
        pw.writerow(PEOPLE_HEADER)
        rw.writerow((*RECORDS_HEADER, *attributes))
        for p in store.iter_people():
            given = p.given_name
            dob = date.fromisoformat(p.date_of_birth).strftime(DATE_FORMAT) \
                if p.date_of_birth else ""
            pw.writerow((p.person_id, given, p.family_name, ";".join(p.other_names), dob,
                         _SEX_CODES.get(p.sex, "U"), p.postcode, p.address, p.nhs_number,
                         p.upn))
            people += 1
            for r in store.records_for(p.person_id, AGENCY_CATEGORIES[agency]):
                rw.writerow((r.record_id, p.person_id, type_code(r.category),
                             date.fromisoformat(r.occurred_on).strftime(DATE_FORMAT), r.summary,
                             *(r.attributes.get(a, "") for a in attributes)))
                records += 1
    (folder / "extract.ready").write_text(data_as_of + "\n")
    return people, records
