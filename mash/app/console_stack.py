"""The web side of a deployment on one machine: the development OIDC issuer and the console.

Started after the broker (`Cluster`), as separate processes, by `mash demo` and the browser
tests, so both go through the same configs and commands an operator uses.
"""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field

from console.config import ConsoleConfig, OidcSettings
from identity.oidc_server import IdpConfig
from mash.app.cluster import ClusterError, Service, await_port, spawn_service
from mash.home import Home


@dataclass
class ConsoleStack:
    """The development issuer and the console, as child processes."""

    home: Home
    broker_address: str
    broker_id: str = "mash-demo"
    console_settings: dict[str, object] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def idp_url(self) -> str:
        """Where the development issuer listens."""
        return f"http://127.0.0.1:{self.services['idp'].port}"

    @property
    def console_url(self) -> str:
        """Where browsers reach the console."""
        return f"http://127.0.0.1:{self.services['console'].port}"

    def start(self, timeout_s: float = 60.0) -> ConsoleStack:
        """Start the issuer, then the console; return when both answer."""
        try:
            idp_path = self.home.config_dir / "idp.toml"
            IdpConfig(home=self.home).write(idp_path)
            self.services["idp"] = spawn_service(self.home, "idp", ["idp", "serve", "--config",
                                                                    str(idp_path)], idp_path)
            await_port(self.home, self.services["idp"], timeout_s)
            self._await_http(f"{self.idp_url}/.well-known/openid-configuration", timeout_s)
            config = ConsoleConfig(
                home=self.home, broker_address=self.broker_address, broker_id=self.broker_id,
                oidc=OidcSettings(f"{self.idp_url}/.well-known/openid-configuration"))
            from dataclasses import replace
            config = replace(config, **self.console_settings)  # type: ignore[arg-type]
            path = self.home.config_dir / "console.toml"
            config.write(path)
            self.services["console"] = spawn_service(self.home, "console",
                                                     ["console", "serve", "--config", str(path)], path)
            await_port(self.home, self.services["console"], timeout_s)
            self._await_http(f"{self.console_url}/healthz", timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _await_http(self, url: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 (loopback http)
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise ClusterError(f"{url} did not answer within {timeout_s}s")

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM both, SIGKILL what has not exited after `grace_s`."""
        for s in self.services.values():
            if s.process.poll() is None:
                s.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for s in self.services.values():
            try:
                s.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                s.process.kill()
                s.process.wait()

    def __enter__(self) -> ConsoleStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
