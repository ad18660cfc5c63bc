"""The layout of a mash-hub home folder (`--home DIR`, default `./.mash`).

All generated state -- keys, certificates, databases, logs, configs -- lives
under one home folder and never in git. Every part finds its files through
`Home` so the layout is defined once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path(".mash")

#: The file-creation mask of every process that works in a home: what it creates (databases
#: and their WAL/SHM files, logs, reports, folders) is the owner's only -- files 0600, folders
#: 0700 -- whichever part creates it and however (sqlite, open, mkdir).
OWNER_ONLY_UMASK = 0o077


def owner_only_files() -> None:
    """Make every file and folder this process creates from now on private to its owner.

    Set once per process, at the entry point (`mash.app.cli.main`) and when a home is
    prepared (`Home.ensure`), so no part needs a chmod of its own: SQLite gives a
    database's WAL and SHM files the database's own mode, so they follow.
    """
    os.umask(OWNER_ONLY_UMASK)


@dataclass(frozen=True)
class Home:
    """Paths inside one mash-hub home folder."""

    root: Path

    @classmethod
    def at(cls, root: str | Path | None) -> Home:
        """The home at `root` (default `./.mash`), as an absolute path."""
        return cls(Path(root or DEFAULT_HOME).resolve())

    # --- PKI (certs/)
    @property
    def pki_dir(self) -> Path:
        """Private CA, TLS certificates and keys."""
        return self.root / "pki"

    @property
    def ca_cert(self) -> Path:
        """The private CA certificate (PEM)."""
        return self.pki_dir / "ca.pem"

    @property
    def ca_key(self) -> Path:
        """The private CA key (PEM, 0600)."""
        return self.pki_dir / "ca.key"

    def tls_cert(self, name: str) -> Path:
        """TLS certificate of service or client `name` (e.g. `broker`, `adapter-police`, `staff`)."""
        return self.pki_dir / f"{name}.pem"

    def tls_key(self, name: str) -> Path:
        """TLS private key of `name` (PEM, 0600)."""
        return self.pki_dir / f"{name}.key"

    def signing_key(self, name: str) -> Path:
        """Message-signing private key of `name` (PEM, 0600)."""
        return self.pki_dir / "signing" / f"{name}.key"

    @property
    def trust_store(self) -> Path:
        """Pinned message-signing public keys (TOML)."""
        return self.pki_dir / "trust.toml"

    @property
    def idp_dir(self) -> Path:
        """The development identity provider's token-signing keys."""
        return self.root / "idp"

    # --- agency stores (agency_adapters/)
    @property
    def data_dir(self) -> Path:
        """Agency systems of record (demo: one SQLite file per agency)."""
        return self.root / "data"

    def agency_store(self, agency: str) -> Path:
        """The demo SQLite store of `agency`."""
        return self.data_dir / f"{agency}.sqlite"

    # --- logs and run state
    @property
    def audit_dir(self) -> Path:
        """Append-only, hash-chained audit logs (broker and every adapter)."""
        return self.root / "audit"

    def audit_log(self, name: str) -> Path:
        """The audit log of `name` (`broker` or `adapter-<agency>`)."""
        return self.audit_dir / f"{name}.sqlite"

    @property
    def config_dir(self) -> Path:
        """One TOML config file per process."""
        return self.root / "config"

    @property
    def log_dir(self) -> Path:
        """Application logs (no personal data)."""
        return self.root / "logs"

    @property
    def run_dir(self) -> Path:
        """Pid files and bound ports of running services."""
        return self.root / "run"

    @property
    def broker_dir(self) -> Path:
        """The broker's own stores (referrals, reviews)."""
        return self.root / "broker"

    @property
    def reports_dir(self) -> Path:
        """Reports written to disk (they hold personal data: 0600)."""
        return self.root / "reports"

    @property
    def witness_dir(self) -> Path:
        """Checkpoints of other parties' audit logs that this party has countersigned."""
        return self.root / "witness"

    def ensure(self) -> Home:
        """Create the folder skeleton, private to the owner, and make new files private too.

        What a home made by an earlier version left open to others (folders 0755, files
        0644) is closed again here, once, so an upgraded home is as private as a new one.
        """
        owner_only_files()
        for d in (self.root, self.pki_dir, self.data_dir, self.audit_dir, self.config_dir,
                  self.log_dir, self.run_dir, self.idp_dir, self.broker_dir, self.reports_dir):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o700)
        for path in self.root.rglob("*"):
            if path.is_symlink():
                continue  # never follow a link out of the home
            try:
                mode = path.stat().st_mode & 0o777
                if mode & 0o077:
                    path.chmod(mode & 0o700)
            except FileNotFoundError:
                continue  # removed meanwhile by a running service (a temporary file)
        return self
