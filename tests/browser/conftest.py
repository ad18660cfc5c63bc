"""Browser fixtures: the real broker, adapters, development issuer and console, and Chromium.

Chromium is Debian's (`make install` puts it there); Playwright never downloads a browser.
Screenshots go under the test run's output folder (printed at the end of the run).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from mash.app.cluster import Cluster
from mash.app.console_stack import ConsoleStack
from mash.home import Home

CHROMIUM = Path("/usr/bin/chromium")
#: Lines of each service's log a failed browser test shows (the logs carry ids, never names).
LOG_TAIL_LINES = 25

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def stack(home: Home, cluster: Cluster) -> Iterator[ConsoleStack]:
    """The development issuer and the console, talking to the module's broker over mTLS."""
    with ConsoleStack(home, cluster.broker.address) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: run `make install`")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots of the main pages go."""
    return tmp_path_factory.mktemp("console-screenshots")


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page per test."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed browser test shows the end of each service's log: what the broker, adapters,
    issuer and console said is often the only account of why a page showed what it did."""
    report = yield
    home = getattr(item, "funcargs", {}).get("home")
    if report.when == "call" and report.failed and isinstance(home, Home):
        for log in sorted(home.log_dir.glob("*.log")):
            text = log.read_text(encoding="utf-8", errors="replace")
            lines = text.splitlines()[-LOG_TAIL_LINES:]
            report.sections.append((f"{log.name} (last {len(lines)} lines)", "\n".join(lines)))
    return report
