"""Nothing but the broker opens a broker store: the console reaches referrals, access logs,
reviews and agreements only through the broker's gRPC API.

Every module under `console/` is read as source: it may import no storage library, no part
that owns a store (audit, policy, broker, agency_adapters), nothing dynamically, and it may
name no store file or folder of the home.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "console"

#: Modules whose import would let the console open a store or read what the broker keeps.
FORBIDDEN_MODULES = ("sqlite3", "sqlite_utils", "dbm", "shelve", "psycopg", "sqlalchemy",
                     "audit", "policy", "broker", "agency_adapters", "importlib")
#: Names of the home's stores and the helpers that locate them.
FORBIDDEN_TEXT = (".sqlite", "audit_dir", "audit_log(", "agreements_dir", "approvals_dir",
                  "broker_dir", "witness_dir", "agency_store", "referral_db_path", "__import__",
                  "pseudonym.key", "default_policy_dir")


def store_access(source: str) -> list[str]:
    """What in `source` could open a store: forbidden imports and store names, one per line."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            if name.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"line {node.lineno}: imports {name}")
    for number, line in enumerate(source.splitlines(), 1):
        found += [f"line {number}: names {text!r}" for text in FORBIDDEN_TEXT if text in line]
    return found


def console_modules() -> list[Path]:
    """Every Python module of the console."""
    return sorted(CONSOLE.rglob("*.py"))


def test_the_check_finds_each_way_of_opening_a_store() -> None:
    for source in ("import sqlite3\n", "from sqlite_utils import Database\n",
                   "from audit.query import search\n", "import policy.engine as e\n",
                   "from broker.referrals import SqliteReferralStore\n",
                   "x = home.audit_dir / 'broker.sqlite'\n",
                   "m = __import__('sqlite3')\n", "import importlib\n"):
        assert store_access(source), source
    assert store_access("from mash.v1 import governance_pb2\nimport grpc\n") == []


def test_the_console_has_modules_to_check() -> None:
    names = {p.name for p in console_modules()}
    assert {"app.py", "pages_ig.py", "pages_social_worker.py", "governance_gateway.py"} <= names


@pytest.mark.parametrize("module", console_modules(), ids=lambda p: p.name)
def test_no_console_module_opens_a_store(module: Path) -> None:
    assert store_access(module.read_text(encoding="utf-8")) == [], module.name
