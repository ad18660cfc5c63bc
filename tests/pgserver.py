"""A throw-away PostgreSQL server in a temporary folder, for the tests and the benchmarks.

PostgreSQL refuses to run as root, and CI runs as root: the server then runs as the
`postgres` account (or `nobody`) in a folder that account owns. The binaries are found
under /usr/lib/postgresql/<version>/bin (or `pg_config --bindir`, or $MASH_PG_BIN);
`PostgresUnavailable` says when they are not there (tests skip or fail on it).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

from sqlalchemy import URL, Engine, create_engine, text

from mash.files import write_text
from mash.vocab import Agency

ADMIN = "mash_admin"


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are (PostgreSQL 15 preferred), or None."""
    candidates = [os.environ.get("MASH_PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/15/bin"))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            candidates.append(subprocess.run([pg_config, "--bindir"], capture_output=True,
                                             text=True, check=True).stdout.strip())
    if shutil.which("initdb"):
        candidates.append(str(Path(str(shutil.which("initdb"))).parent))
    for c in candidates:
        if c and (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    return None


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed, or no account can run them."""


MISSING = ("PostgreSQL server binaries (initdb, pg_ctl) not found under "
           "/usr/lib/postgresql/*/bin, pg_config --bindir or $MASH_PG_BIN: "
           "install Debian's postgresql package")


def require_bindir() -> Path:
    """The binaries, or `PostgresUnavailable` naming what was looked for."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(MISSING)
    return bindir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running throw-away server on 127.0.0.1 (password logins, as a real one would have)."""

    bindir: Path
    root: Path
    port: int
    admin_password: str
    run_as: pwd.struct_passwd | None

    def url(self, user: str = ADMIN, password: str | None = None,
            database: str = "postgres") -> URL:
        """A SQLAlchemy URL (psycopg 3) for `user` on `database`."""
        return URL.create("postgresql+psycopg", username=user,
                          password=self.admin_password if password is None else password,
                          host="127.0.0.1", port=self.port, database=database)

    def admin_engine(self, database: str = "postgres") -> Engine:
        """An engine for the superuser, autocommit (CREATE DATABASE cannot run in a transaction)."""
        return create_engine(self.url(database=database), isolation_level="AUTOCOMMIT")

    def create_database(self, name: str) -> None:
        """A new, empty database."""
        engine = self.admin_engine()
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
        if self.run_as is None:
            return subprocess.run(list(args), capture_output=True, text=True, cwd=self.root,
                                  env=env, check=False)
        return subprocess.run(list(args), capture_output=True, text=True, cwd=self.root,
                              env=env, check=False, user=self.run_as.pw_uid,
                              group=self.run_as.pw_gid, extra_groups=[])

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast",
                  "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _unprivileged() -> pwd.struct_passwd | None:
    """The account to run the server as when we are root (None when we are not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresUnavailable("running as root, and neither a 'postgres' nor a 'nobody' "
                              "account exists to run PostgreSQL as")


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a server in a new temporary folder; stop it and remove the folder afterwards."""
    bindir = require_bindir()
    run_as = _unprivileged()
    root = Path(tempfile.mkdtemp(prefix="mash-pg-"))
    if run_as is not None:
        os.chown(root, run_as.pw_uid, run_as.pw_gid)
    server = PostgresServer(bindir, root, 0, secrets.token_urlsafe(16), run_as)
    pwfile = root / "pwfile"
    pwfile.write_text(server.admin_password + "\n")
    if run_as is not None:
        os.chown(pwfile, run_as.pw_uid, run_as.pw_gid)
    pwfile.chmod(0o600)
    init = server._run(str(bindir / "initdb"), "-D", str(root / "data"), "-U", ADMIN,
                       "--pwfile", str(pwfile), "--auth-host=scram-sha-256",
                       "--auth-local=scram-sha-256", "-E", "UTF8", "--no-sync")
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {init.stderr or init.stdout}")
    started = None
    for _ in range(5):  # another process may take the free port first: try another
        server.port = _free_port()
        options = (f"-p {server.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={root} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c shared_buffers=32MB -c max_connections=60")
        started = server._run(str(bindir / "pg_ctl"), "-D", str(root / "data"), "-o", options,
                              "-l", str(root / "server.log"), "-w", "-t", "60", "start")
        if started.returncode == 0:
            break
    if started is None or started.returncode != 0:
        log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr if started else ''}\n{log}")
    try:
        yield server
    finally:
        server.stop()


READER = "mash_reader"
KIT_OWNER = "mash_kit"
MAPPING_TEMPLATE = "templates/sql-mapping.toml"  # in the agency_adapters package


@dataclass
class Warehouse:
    """The synthetic social care warehouse in a database of its own, with its accounts.

    `mash_reader` may only read (the adapter's account); `mash_kit` owns the kit's schema
    (`mash adapter build-keys`); the mapping file fits the warehouse and the key table is
    built.
    """

    server: PostgresServer
    database: str
    folder: Path
    passwords: dict[str, str]

    def url(self, user: str) -> URL:
        """A URL for one of the warehouse's accounts."""
        return self.server.url(user, self.passwords[user], self.database)

    @property
    def mapping(self) -> Path:
        """The mapping file (a copy of the `mash adapter init` template)."""
        return self.folder / "mapping.toml"

    def password_file(self, user: str) -> Path:
        """A 0600 file holding `user`'s password (as an operator would keep it)."""
        path = self.folder / f"{user}.password"
        # Always this warehouse's password: a folder reused from an earlier run (the adapter
        # benchmark's --work) holds the old one, which the server no longer accepts.
        write_text(path, self.passwords[user] + "\n", mode=0o600)
        return path

    def backend_options(self, user: str = READER) -> dict[str, object]:
        """`[backend_options]` of an adapter reading this warehouse as `user`."""
        url = self.url(user).set(password=None)
        return {"mapping": str(self.mapping),
                "url": url.render_as_string(hide_password=False),
                "password_file": str(self.password_file(user))}


def create_role(engine: Engine, name: str, password: str) -> None:
    """A login role (cluster-wide: created once, its password reset after)."""
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(text(f"{verb} ROLE \"{name}\" LOGIN PASSWORD '{password}'"))


def make_warehouse(server: PostgresServer, folder: Path, *, database: str = "reporting",
                   people: int = 400, seed: int = 7, agency: Agency = Agency.CHILDRENS_SOCIAL_CARE,
                   as_of: date | None = None) -> Warehouse:
    """Create and fill the warehouse, its accounts, its mapping file and its key table.

    `agency`: whose projection of the population fills it (children's social care; the
    benchmark uses health's, which holds nearly everyone).
    """
    from agency_adapters.seed.warehouse import create_warehouse
    from agency_adapters.sql.factory import make_engine
    from agency_adapters.sql.mapping import SqlMapping
    from agency_adapters.sql.match_keys import build_match_keys
    from agency_adapters.sql.people import PeopleReader

    folder.mkdir(parents=True, exist_ok=True)
    server.create_database(database)
    wh = Warehouse(server, database, folder,
                   {READER: secrets.token_urlsafe(12), KIT_OWNER: secrets.token_urlsafe(12)})
    admin = server.admin_engine(database)
    for role in (READER, KIT_OWNER):
        create_role(admin, role, wh.passwords[role])
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA mash_kit AUTHORIZATION "{KIT_OWNER}"'))
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{READER}", "{KIT_OWNER}"'))
    admin.dispose()
    filler = create_engine(server.url(database=database))
    create_warehouse(filler, seed=seed, people=people, reader_role=READER, agency=agency,
                     as_of=as_of)
    filler.dispose()
    wh.mapping.write_text(resources.files("agency_adapters").joinpath(MAPPING_TEMPLATE)
                          .read_text())
    reader = make_engine(wh.url(READER), pool_size=2, timeout_ms=10_000, connect_timeout_s=5)
    kit = make_engine(wh.url(KIT_OWNER), pool_size=2, timeout_ms=60_000, connect_timeout_s=5,
                      read_only=False)
    build_match_keys(reader, kit, PeopleReader(SqlMapping.load(wh.mapping)), "mash_kit",
                     grant_to=READER)
    reader.dispose()
    kit.dispose()
    return wh
