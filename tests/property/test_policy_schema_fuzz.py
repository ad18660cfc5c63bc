"""The agreement parser never crashes on a damaged file: it reports problems or loads."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from policy import SHIPPED_POLICY_DIR
from policy.schema import Severity, parse_agreement

FILES = sorted(SHIPPED_POLICY_DIR.glob("*.toml"))
TEXTS = {p.name: p.read_text() for p in FILES}

values = st.sampled_from(['"x"', "1", "true", "[]", '["red"]', "2026-01-01", "{}", '""',
                          '"sealed"', "-5", '["../.."]', "1979-05-27T07:32:00"])


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(TEXTS)), st.data())
def test_damaged_files_yield_problems_not_exceptions(name: str, data: st.DataObject) -> None:
    lines = TEXTS[name].splitlines()
    index = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
    action = data.draw(st.sampled_from(["delete", "revalue", "duplicate"]))
    if action == "delete":
        del lines[index]
    elif action == "duplicate":
        lines.insert(index, lines[index])
    elif "=" in lines[index]:
        key = lines[index].split("=", 1)[0]
        lines[index] = f"{key}= {data.draw(values)}"
    raw = ("\n".join(lines) + "\n").encode()
    agreement, problems = parse_agreement(Path(name), raw)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    assert (agreement is None) == bool(errors)
    for p in problems:
        assert p.field and p.message and p.line >= 0
