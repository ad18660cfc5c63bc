"""Agreements and approvals reloaded by a running broker or adapter, without a restart.

`PolicyReloader` watches the files a process's policy comes from (the agreements folder,
the approvals folder, the pinned approvers) and, when they have changed and then held still
for one poll (a bundle install swaps two folders), or on SIGHUP, loads them afresh and has
the running engine adopt the result. A policy that fails to load (a broken agreement file, a
damaged pin file) is refused: the running policy stays, and the fault is logged and written
to the status file. Every load logs the version now in force and writes
`<run dir>/<name>.policy.json`, which `mash policy status --live` reads. The file names the
process and host that wrote it: a party whose process has gone is shown as stopped, not as
holding a version.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Literal

import msgspec

from mash.clock import Clock, utc_now
from mash.files import write_text
from mash.home import Home
from mash.logs import get_logger
from mash.processes import gone, this_host
from policy.engine import PolicyEngine
from policy.errors import PolicyError

log = get_logger("policy")

Fingerprint = tuple[tuple[str, int, int], ...]
#: What a policy that fails to load raises (a broken file, a damaged pin file, unreadable).
_LOAD_ERRORS = (PolicyError, OSError, ValueError)


def fingerprint(paths: Iterable[Path]) -> Fingerprint:
    """Name, size and modification time of every file under `paths` (files or folders)."""
    seen: list[tuple[str, int, int]] = []
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) \
            if root.is_dir() else []
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue  # removed while we looked: the next poll sees the new state
            seen.append((str(f), st.st_size, st.st_mtime_ns))
    return tuple(seen)


class PolicyReloader:
    """Keeps one running `PolicyEngine` in step with its files."""

    def __init__(self, engine: PolicyEngine, load: Callable[[], PolicyEngine],
                 watched: Iterable[Path], *, name: str, status_file: Path | None,
                 interval_s: float = 2.0, clock: Clock = utc_now,
                 on_loaded: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self._load = load
        self.watched = tuple(watched)
        self.name = name
        self.status_file = status_file
        self.interval_s = interval_s
        self.clock = clock
        self.fault = ""
        self.loaded_at = clock()
        self._seen = fingerprint(self.watched)
        self._on_loaded = on_loaded
        self._wake = asyncio.Event()

    def trigger(self) -> None:
        """Reload at once (SIGHUP)."""
        self._wake.set()

    def reload(self) -> bool:
        """Load the files now; adopt them if they load. Returns whether the policy changed."""
        try:
            fresh = self._load()
        except _LOAD_ERRORS as exc:
            self._refuse(exc)
            return False
        return self._adopt(fresh)

    def _adopt(self, fresh: PolicyEngine) -> bool:
        before = self.engine.version
        self.engine.adopt(fresh)
        self.fault = ""
        self.loaded_at = self.clock()
        log.info("policy_loaded", party=self.name, version=fresh.version, previous=before,
                 changed=fresh.version != before,
                 mashes={m: fresh.version_of(m) for m in fresh.mashes})
        self.publish()
        if self._on_loaded is not None:
            self._on_loaded()
        return fresh.version != before

    def _refuse(self, exc: Exception) -> None:
        self.fault = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("policy_reload_refused", party=self.name, version=self.engine.version,
                    reason=self.fault)
        self.publish()

    def status(self) -> PartyStatus:
        """What `mash policy status --live` shows for this party."""
        return PartyStatus(
            party=self.name, version=self.engine.version, loaded_at=self.loaded_at.isoformat(),
            fault=self.fault, pid=os.getpid(), host=this_host(),
            agreements=[AgreementState(a.id, a.sha256,
                                       str(s.state) if (s := self.engine.approval_of(a.id))
                                       else "unapproved")
                        for a in sorted(self.engine.agreements, key=lambda a: a.id)],
            mashes=mash_versions(self.engine), superseded=list(self.engine.superseded))

    def publish(self) -> None:
        """Write the status file atomically (a reader never sees half of it)."""
        if self.status_file is None:
            return
        write_text(self.status_file,
                   json.dumps(msgspec.to_builtins(self.status()), indent=2) + "\n")

    async def watch(self) -> None:
        """Poll the files; reload once a change has held still for one poll, or when triggered."""
        pending: Fingerprint | None = None
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
                triggered = True
            except TimeoutError:
                triggered = False
            self._wake.clear()
            now = await asyncio.to_thread(fingerprint, self.watched)
            if triggered:
                pending = None
                self._seen = now
                await self._reload_on_loop()
            elif now != self._seen:
                if pending == now:  # changed, then still for a whole poll: take it
                    self._seen, pending = now, None
                    await self._reload_on_loop()
                else:
                    pending = now

    async def _reload_on_loop(self) -> None:
        # Parse and verify in a worker thread; adopt on the loop, between two decisions.
        try:
            fresh = await asyncio.to_thread(self._load)
        except _LOAD_ERRORS as exc:
            self._refuse(exc)
            return
        self._adopt(fresh)


class BundleSource(msgspec.Struct, frozen=True):
    """The installed bundle a MASH's agreements came from."""

    sha256: str
    signer: str
    created_at: str
    installed_at: str


class MashVersion(msgspec.Struct, frozen=True, omit_defaults=True):
    """The policy applied to one MASH's queries, and where its agreements came from."""

    version: str
    #: `bundle`: the MASH's own installed bundle; `home`: the home's own agreements folder
    source: Literal["bundle", "home"]
    agreements: list[str]
    #: written only for `source = "bundle"`
    bundle: BundleSource | None = None


class AgreementState(msgspec.Struct, frozen=True):
    """One agreement a party holds, and its approval state."""

    id: str
    sha256: str
    approval: str


class PartyStatus(msgspec.Struct, frozen=True):
    """A party's `<name>.policy.json`: the policy it applies (read back by `read_live`)."""

    party: str
    version: str
    loaded_at: str
    fault: str
    pid: int
    host: str
    agreements: list[AgreementState]
    mashes: dict[str, MashVersion]
    superseded: list[str]


def read_live(run_dir: Path) -> list[dict[str, object]]:
    """Every `<name>.policy.json` in `run_dir`: what each party on this host applies.

    Each as read (a status file from another version may lack a field), or a fault where
    the file is unreadable; a party whose process has gone gets `stopped` saying so.
    """
    out = []
    for path in sorted(run_dir.glob("*.policy.json")):
        unreadable: dict[str, object] = {"party": path.name.removesuffix(".policy.json"),
                                         "fault": "unreadable status"}
        try:
            doc: object = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            doc = unreadable
        if isinstance(doc, dict) and gone(doc.get("pid"), doc.get("host")):
            doc["stopped"] = (f"its process {doc.get('pid')} has gone; it held this version "
                              f"when it stopped")
        out.append(doc if isinstance(doc, dict) else unreadable)
    return out


def mash_versions(engine: PolicyEngine) -> dict[str, MashVersion]:
    """Per MASH: the policy version applied to its queries and where its agreements came from
    (`bundle`: the MASH's own installed bundle; `home`: the home's own agreements folder)."""
    out: dict[str, MashVersion] = {}
    for mash in engine.mashes:
        installed = engine.installed_for(mash)
        bundle = None if installed is None else BundleSource(
            installed.bundle_sha256, installed.signer, installed.created_at,
            installed.installed_at)
        out[mash] = MashVersion(
            engine.version_of(mash), "bundle" if installed else "home",
            sorted(a.id for a in engine.agreements if a.mash_id == mash), bundle)
    return out


def differ_by_mash(parties: Iterable[Mapping[str, object]]) -> dict[str, list[str]]:
    """Per MASH held by several running parties: those whose version for it is the odd one out."""
    held: dict[str, list[tuple[str, object]]] = {}
    for p in (p for p in parties if not p.get("stopped")):
        mashes = p.get("mashes")
        for mash, entry in (mashes.items() if isinstance(mashes, dict) else ()):
            version = entry.get("version") if isinstance(entry, dict) else None
            held.setdefault(str(mash), []).append((str(p.get("party")), version))
    out: dict[str, list[str]] = {}
    for mash, pairs in sorted(held.items()):
        versions = [v for _, v in pairs]
        common = max(set(versions), key=lambda v: (versions.count(v), str(v)))
        odd = [party for party, v in pairs if v != common]
        if odd:
            out[mash] = odd
    return out


def stale(parties: Iterable[Mapping[str, object]]) -> list[str]:
    """Running parties whose version differs from the most common one (the odd ones out)."""
    parties = [p for p in parties if not p.get("stopped")]
    versions = [p.get("version") for p in parties]
    if not versions:
        return []
    common = max(set(versions), key=versions.count)
    return [str(p.get("party")) for p in parties if p.get("version") != common]




def start_reloading(engine: PolicyEngine, home: Home, policy_dir: Path | None, name: str, *,
                    interval_s: float = 2.0,
                    also_on_sighup: Iterable[Callable[[], None]] = (),
                    on_loaded: Callable[[], None] | None = None) -> asyncio.Task[None]:
    """Keep a running process's `engine` in step with its home's policy files (and SIGHUP).

    SIGHUP also calls each of `also_on_sighup` (a process has one SIGHUP handler: the
    certificate and trust-store reloaders ride on it); `on_loaded` is called after each
    policy is adopted (the adapter rewrites its health file). Call from the running event
    loop; cancel the returned task at shutdown.
    """
    from policy.approval import approvals_dir, approvers_file
    from policy.engine import default_policy_dir, load_engine
    from policy.mash_slots import mashes_dir

    folder = policy_dir or default_policy_dir(home)
    reloader = PolicyReloader(
        engine, lambda: load_engine(home, policy_dir),
        (folder, approvals_dir(home), approvers_file(home), mashes_dir(home)), name=name,
        status_file=home.run_dir / f"{name}.policy.json", interval_s=interval_s,
        on_loaded=on_loaded)
    reloader.publish()
    log.info("policy_in_force", party=name, version=engine.version,
             mashes={m: engine.version_of(m) for m in engine.mashes})
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, AttributeError):  # no SIGHUP on Windows
        loop.add_signal_handler(signal.SIGHUP, _all_of(reloader.trigger, *also_on_sighup))
    return asyncio.create_task(reloader.watch(), name=f"policy-reloader-{name}")


def _all_of(*calls: Callable[[], None]) -> Callable[[], None]:
    def call_all() -> None:
        for call in calls:
            call()
    return call_all
