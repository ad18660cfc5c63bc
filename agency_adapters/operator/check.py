"""`mash adapter check --config F`: everything an operator can get wrong, one exit code each.

Every check runs and prints one line (ok / warn / FAIL and what it found); the command
exits with the code of the first failure, so a script (or a container's health check)
knows which. Personal data is never printed: the sample match reports a band and a score.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from pathlib import Path

from agency_adapters.backend import (
    AgencyBackend,
    AsyncAgencyBackend,
    BackendError,
    BackendMisconfigured,
    BackendUnavailable,
    BackendWritable,
    Person,
    QueryIdentifiers,
)
from agency_adapters.config import AdapterConfig
from mash.clock import Clock, utc_now
from mash.config import ConfigError
from mash.vocab import MatchBand

#: Certificates expiring sooner than this are reported (a warning, not a failure).
EXPIRY_WARNING = timedelta(days=30)

#: What an agency does about a missing key or certificate (never `mash pki init`, which would
#: make it a CA of its own that no broker trusts).
_GET_KEYS = "mash pki request / install, docs/operator-guide.md"


class Exit(IntEnum):
    """The exit code of each kind of failure (documented in docs/operator-guide.md)."""

    OK = 0
    CONFIG = 2
    KEYS = 10
    CERTIFICATE = 11
    TRUST_STORE = 12
    POLICY = 13
    BACKEND_UNREACHABLE = 14
    BACKEND_WRITABLE = 15
    MAPPING = 16
    SAMPLE_MATCH = 17
    CLOCK_SKEW = 18
    AUDIT_LOG = 19


@dataclass(frozen=True)
class Result:
    """One check's outcome."""

    name: str
    code: Exit
    detail: str
    warning: bool = False

    @property
    def ok(self) -> bool:
        """Did the check pass?"""
        return self.code is Exit.OK

    def line(self) -> str:
        """The line printed for it."""
        word = "ok  " if self.ok and not self.warning else "warn" if self.ok else "FAIL"
        tail = "" if self.ok else f"  [exit {int(self.code)}]"
        return f"{word} {self.name}: {self.detail}{tail}"


def _ok(name: str, detail: str, warning: bool = False) -> Result:
    return Result(name, Exit.OK, detail, warning)


# ---------------------------------------------------------------- keys and certificates

def check_keys(config: AdapterConfig) -> Result:
    """The TLS key, signing key and audit checkpoint key exist and load."""
    from certs.signing import SigningKey

    home, name = config.home, config.name
    missing = [p for p in (home.tls_key(name), home.tls_cert(name), home.ca_cert,
                           home.signing_key(name), home.signing_key(f"audit-{name}"))
               if not p.is_file()]
    if missing:
        return Result("keys", Exit.KEYS,
                      "missing: " + ", ".join(map(str, missing)) + f" ({_GET_KEYS})")
    try:
        SigningKey.load(home.signing_key(name))
        SigningKey.load(home.signing_key(f"audit-{name}"))
    except Exception as exc:  # any failure to load is the operator's to fix
        return Result("keys", Exit.KEYS, f"a signing key does not load: {exc}")
    return _ok("keys", f"TLS key, signing key and audit key of {name} present")


def check_certificate(config: AdapterConfig, now: datetime) -> Result:
    """Issued by the CA, names this adapter, matches the key, in date, not revoked."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from certs.authority import principal_of
    from certs.truststore import TrustStore

    home, name = config.home, config.name
    missing = [p for p in (home.ca_cert, home.tls_cert(name), home.tls_key(name))
               if not p.is_file()]
    if missing:
        return Result("certificate", Exit.CERTIFICATE,
                      "missing: " + ", ".join(map(str, missing)) + f" ({_GET_KEYS})")
    try:
        ca = x509.load_pem_x509_certificate(home.ca_cert.read_bytes())
        leaf = x509.load_pem_x509_certificate(home.tls_cert(name).read_bytes())
        key = serialization.load_pem_private_key(home.tls_key(name).read_bytes(), None)
    except (OSError, ValueError) as exc:
        return Result("certificate", Exit.CERTIFICATE, f"cannot be read: {exc}")
    try:
        leaf.verify_directly_issued_by(ca)
    except Exception:  # any failure means "not issued by this CA"
        return Result("certificate", Exit.CERTIFICATE,
                      f"{home.tls_cert(name)} was not issued by the CA in {home.ca_cert}")
    principal = principal_of(leaf)
    want = f"mash://adapter/{config.agency}"
    if principal is None or principal.uri != want:
        return Result("certificate", Exit.CERTIFICATE, f"does not name {want}")
    if leaf.public_key() != key.public_key():
        return Result("certificate", Exit.CERTIFICATE,
                      f"does not match the key {home.tls_key(name)}")
    if now < leaf.not_valid_before_utc:
        return Result("certificate", Exit.CERTIFICATE,
                      f"not valid until {leaf.not_valid_before_utc.isoformat()}: is this "
                      "machine's clock right?")
    if now >= leaf.not_valid_after_utc:
        return Result("certificate", Exit.CERTIFICATE,
                      f"expired {leaf.not_valid_after_utc.isoformat()} (renew it: mash pki "
                      "request / approve / install)")
    if now >= ca.not_valid_after_utc:
        return Result("certificate", Exit.CERTIFICATE,
                      f"the CA certificate expired {ca.not_valid_after_utc.isoformat()}")
    with contextlib.suppress(Exception):  # an unreadable store is the trust store check's
        if TrustStore.load(home.trust_store).is_revoked(leaf.serial_number):
            return Result("certificate", Exit.CERTIFICATE, "has been revoked")
    left = leaf.not_valid_after_utc - now
    detail = (f"{want}, issued by the MASH CA, valid until "
              f"{leaf.not_valid_after_utc.date().isoformat()} ({left.days} days)")
    if left < EXPIRY_WARNING:
        return _ok("certificate", detail + ": renew it soon", warning=True)
    return _ok("certificate", detail)


def check_trust_store(config: AdapterConfig, now: datetime) -> Result:
    """The trust store loads and pins a valid query-signing key for every trusted broker."""
    from certs.truststore import TrustStore

    if not config.home.trust_store.is_file():
        return Result("trust store", Exit.TRUST_STORE,
                      f"{config.home.trust_store} not found (install the MASH's trust.toml: "
                      "mash pki install, docs/operator-guide.md)")
    try:
        store = TrustStore.load(config.home.trust_store)
    except Exception as exc:  # unreadable or malformed: the adapter would refuse everything
        return Result("trust store", Exit.TRUST_STORE, f"{config.home.trust_store}: {exc}")
    missing = [b for b in config.trusted_brokers
               if not any(k.valid_at(now) for k in store.keys_for(f"broker-{b}", "query-signing"))]
    if missing:
        return Result("trust store", Exit.TRUST_STORE,
                      "no valid query-signing key pinned for broker "
                      + ", ".join(missing) + " (install the MASH's trust.toml: mash pki install)")
    return _ok("trust store", f"query-signing keys pinned for {', '.join(config.trusted_brokers)}")


def check_policy(config: AdapterConfig, now: datetime) -> Result:
    """An agreement in force, and approved, for this agency with every trusted broker."""
    from policy import load_engine
    from policy.status import agreement_statuses

    try:
        engine = load_engine(config.home, config.policy_dir)
    except Exception as exc:  # the adapter could not start
        return Result("policy", Exit.POLICY, f"agreements cannot be loaded: {exc}")
    statuses = [s for s in agreement_statuses(engine, now=now) if s.agency == str(config.agency)]
    problems = []
    for broker in config.trusted_brokers:
        mine = [s for s in statuses if s.mash_id == broker]
        if not mine:
            problems.append(f"no agreement with {broker}")
        elif not any(s.in_force and not s.awaiting_approval for s in mine):
            states = "; ".join(f"{s.agreement_id}: {', '.join(s.flags())}" for s in mine)
            problems.append(f"no agreement with {broker} in force and approved ({states})")
    if problems:
        return Result("policy", Exit.POLICY, "; ".join(problems)
                      + ": every answer would be withheld (approved agreements reach an "
                      "agency's host in the MASH's signed policy bundle: mash policy bundle "
                      "install, docs/operator-guide.md)")
    per_mash = []
    for broker in config.trusted_brokers:
        applied = [s.agreement_id for s in statuses if s.mash_id == broker and s.applied]
        installed = engine.installed_for(broker)
        source = (f"bundle {installed.bundle_sha256[:16]} signed by {installed.signer}"
                  if installed else "the home's own agreements")
        per_mash.append(f"{broker}: {', '.join(applied)} (policy version "
                        f"{engine.version_of(broker)}, {source})")
    return _ok("policy", "an approved agreement in force with " + ", ".join(config.trusted_brokers)
               + " -- " + "; ".join(per_mash))


def check_audit_log(config: AdapterConfig) -> Result:
    """The audit log opens (it is written before every answer)."""
    from audit.log import AuditLog
    from certs.signing import SigningKey

    name = config.name
    key = config.home.signing_key(f"audit-{name}")
    if not key.is_file():
        return Result("audit log", Exit.AUDIT_LOG,
                      f"{config.home.audit_log(name)}: its key {key} is missing ({_GET_KEYS})")
    try:
        log = AuditLog.open(config.home.audit_log(name), owner=name, checkpoint_key=SigningKey.load(
            config.home.signing_key(f"audit-{name}")).private_key)
        log.close()
    except Exception as exc:  # cannot open or write: the adapter would refuse every query
        return Result("audit log", Exit.AUDIT_LOG, f"{config.home.audit_log(name)}: {exc}")
    return _ok("audit log", str(config.home.audit_log(name)))


# ---------------------------------------------------------------- backend

@dataclass
class _Opened:
    backend: AgencyBackend
    sample: Callable[[], Person | None]
    clock: Clock | None = None  # the backend's own clock, if it has one


def _backend_code(exc: Exception) -> Exit:
    if isinstance(exc, BackendWritable):
        return Exit.BACKEND_WRITABLE
    if isinstance(exc, BackendMisconfigured | ConfigError):
        return Exit.MAPPING
    if isinstance(exc, BackendUnavailable):
        return Exit.BACKEND_UNREACHABLE
    return Exit.BACKEND_UNREACHABLE


def _open_backend(config: AdapterConfig, scratch: Path) -> tuple[_Opened | None, Result]:
    """Open the backend as the adapter would (without side effects); the result of that."""
    try:
        if config.backend == "sql":
            return _open_sql(config)
        if config.backend == "extract":
            return _open_extract(config, scratch)
        if config.backend == "sqlite":
            from agency_adapters.sqlite_store import SqliteAgencyStore

            store = SqliteAgencyStore(config.store)
            return (_Opened(store, lambda: next(store.iter_people(), None)),
                    _ok("backend", f"SQLite store {config.store} opens read-only"))
        from agency_adapters.server import backend_factory

        made = backend_factory(config.backend)(config, dict(config.backend_options))
        from agency_adapters.research.backend import ResearchBackend

        if isinstance(made, ResearchBackend):
            from agency_adapters.server import researcher_validators

            try:
                researcher_validators(config, made)  # the researchers' IdP keys can be read
            except ConfigError:
                asyncio.run(made.aclose())
                raise
        if isinstance(made, AsyncAgencyBackend):
            return None, asyncio.run(_probe_async(config, made))
        close = getattr(made, "close", None)
        if callable(close):
            close()
        return None, _ok("backend", f"{config.backend} opens (no sample check for a plug-in)")
    except (BackendError, ConfigError) as exc:
        return None, Result("backend", _backend_code(exc), str(exc))


async def _probe_async(config: AdapterConfig, backend: AsyncAgencyBackend) -> Result:
    """An asynchronous backend's own health probe, as the running adapter would make it."""
    from agency_adapters.adapter_health import probe_backend

    try:
        state = await probe_backend(backend, config.backend_timeout_ms / 1000)
    finally:
        await backend.aclose()
    if not state.serving:
        return Result("backend", Exit.BACKEND_UNREACHABLE, state.fault or "not serving")
    if state.fault:
        return _ok("backend", f"{config.backend} answers its probe, with a fault: {state.fault}",
                   warning=True)
    return _ok("backend", f"{config.backend} answers its health probe")


def _open_sql(config: AdapterConfig) -> tuple[_Opened | None, Result]:
    from sqlalchemy import text

    from agency_adapters.sql.factory import open_backend

    backend = open_backend(config, dict(config.backend_options))

    def sample() -> Person | None:
        with backend.engine.connect() as conn:
            return backend.reader.sample(conn)

    def db_clock() -> datetime:
        with backend.engine.connect() as conn:
            value = conn.execute(text("SELECT CURRENT_TIMESTAMP")).scalar_one()
        return value if value.tzinfo else value.replace(tzinfo=UTC)  # type: ignore[no-any-return]

    detail = (f"{backend.engine.url.render_as_string(hide_password=True)}: reachable, the "
              "account is read-only, the mapping fits the live schema")
    return _Opened(backend, sample, db_clock), _ok("backend", detail)


def _open_extract(config: AdapterConfig, scratch: Path) -> tuple[_Opened | None, Result]:
    from agency_adapters.extract.schema import ExtractSchema
    from agency_adapters.extract.validate import ExtractRefused, build_snapshot, read_ready
    from agency_adapters.sqlite_store import SqliteAgencyStore

    options = dict(config.backend_options)
    schema = ExtractSchema.load(Path(str(options.get("schema"))), config.agency)
    incoming = Path(str(options.get("incoming")))
    work = Path(str(options.get("work", config.home.data_dir / f"extract-{config.agency}")))
    notes = []
    ready = incoming / schema.ready_file
    if ready.is_file():  # try the waiting extract in a scratch folder: nothing is moved
        try:
            outcome = build_snapshot(incoming, schema, scratch / "trial.sqlite",
                                     agency=str(config.agency),
                                     data_as_of=read_ready(ready, utc_now),
                                     people_in_use=None)
        except ExtractRefused as exc:
            raise BackendMisconfigured(f"the waiting extract would be refused: {exc}") from None
        bad = sum(outcome.bad_rows.values())
        notes.append(f"the waiting extract passes ({outcome.people:,} people, {bad:,} bad "
                     "rows skipped)")
        store = SqliteAgencyStore(scratch / "trial.sqlite")
    else:
        pointer = work / "current"
        name = pointer.read_text().strip() if pointer.is_file() else ""
        if not name or not (work / "snapshots" / name).is_file():
            raise BackendUnavailable(f"no extract in use and none waiting ({ready} not found)")
        store = SqliteAgencyStore(work / "snapshots" / name)
        notes.append(f"extract in use, data as of {store.data_as_of}")
    return (_Opened(store, lambda: next(store.iter_people(), None)),
            _ok("backend", f"schema {schema.path} valid; " + "; ".join(notes)))


def check_sample(opened: _Opened, thresholds_config: AdapterConfig) -> Result:
    """A person read from the backend is found again by matching, surely."""
    from agency_adapters.matching import MatchThresholds, match

    try:
        person = opened.sample()
    except Exception as exc:  # a read failure here is the backend's
        return Result("sample match", Exit.SAMPLE_MATCH, f"cannot read a sample person: {exc}")
    if person is None:
        return Result("sample match", Exit.SAMPLE_MATCH, "the backend holds nobody")
    from agency_adapters.server import open_match_model

    thresholds = MatchThresholds.from_settings(thresholds_config.matching)
    try:
        model = open_match_model(thresholds_config)  # the adapter's own weights, if trained
        result = match(opened.backend, QueryIdentifiers.of_person(person), thresholds, model)
    except Exception as exc:  # the read path itself failed
        return Result("sample match", Exit.SAMPLE_MATCH, f"matching failed: {exc}")
    if result.person_id != person.person_id or result.band not in (MatchBand.CERTAIN,
                                                                   MatchBand.HIGH):
        return Result("sample match", Exit.SAMPLE_MATCH,
                      f"a person read from the backend came back {result.band} "
                      f"({result.candidates_considered} candidates): is the key table current "
                      "(mash adapter build-keys)? are the identifiers mapped?")
    return _ok("sample match", f"a sample person is found again: {result.band}, "
                               f"{result.score:.1f} bits, {result.candidates_considered} "
                               "candidates")


def check_clock(config: AdapterConfig, opened: _Opened | None,
                now: Clock) -> Result:
    """This machine's clock against the database's, or the time service's own verdict."""
    limit = config.max_clock_skew_s / 2
    if opened is not None and opened.clock is not None:
        try:
            skew = (opened.clock() - now()).total_seconds()
        except Exception as exc:  # the database did not answer
            return _ok("clock", f"not compared: {exc}", warning=True)
        if abs(skew) > limit:
            return Result("clock", Exit.CLOCK_SKEW,
                          f"{skew:+.1f} s from the database's clock, more than {limit:g} s "
                          "(half of max_clock_skew_s): queries would be refused; sync with NTP")
        return _ok("clock", f"{skew:+.2f} s from the database's clock")
    timedatectl = shutil.which("timedatectl")
    if timedatectl:
        done = subprocess.run([timedatectl, "show", "-p", "NTPSynchronized", "--value"],
                              capture_output=True, text=True, check=False, timeout=10)
        if done.returncode == 0 and done.stdout.strip() == "no":
            return Result("clock", Exit.CLOCK_SKEW, "not synchronised (timedatectl: "
                          "NTPSynchronized=no): enable NTP")
        if done.returncode == 0 and done.stdout.strip() == "yes":
            return _ok("clock", "synchronised with NTP")
    return _ok("clock", "no reference clock here (no database clock, no timedatectl): make "
                        "sure NTP keeps this machine's time", warning=True)


def run_checks(config: AdapterConfig,
               now: Clock = utc_now) -> Iterator[Result]:
    """Every check, in order (the backend's only once its own checks passed)."""
    at = now()
    yield check_keys(config)
    yield check_certificate(config, at)
    yield check_trust_store(config, at)
    yield check_policy(config, at)
    yield check_audit_log(config)
    with tempfile.TemporaryDirectory(prefix="mash-check-") as scratch:
        opened, result = _open_backend(config, Path(scratch))
        yield result
        if opened is not None:
            yield check_sample(opened, config)
        yield check_clock(config, opened, now)
        if opened is not None:
            opened.backend.close()


def exit_code(results: list[Result]) -> int:
    """The code of the first failure (0 when everything passed)."""
    return next((int(r.code) for r in results if not r.ok), 0)
