"""Steps the browser tests share: signing in, accessibility checks, screenshots."""

from __future__ import annotations

import re
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from mash.app.console_stack import ConsoleStack

_AXE = Axe()
#: WCAG 2.0/2.1/2.2 A and AA rules.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                      "wcag22aa"]}}


def sign_in(page: Page, stack: ConsoleStack, sub: str) -> None:
    """Sign in through the development issuer's demo sign-in as staff member `sub`."""
    page.goto(f"{stack.console_url}/")
    expect(page.locator("h1")).to_have_text("Multi-agency information sharing")
    page.click("#start")
    page.check(f"#user-{sub}")
    page.click("#sign-in")
    expect(page.locator(".console-account__who")).to_contain_text("Signed in as")


def check_accessible(page: Page) -> None:
    """axe-core finds no WCAG 2.2 A/AA violation on the current page."""
    results = _AXE.run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


def shot(page: Page, folder: Path, name: str) -> Path:
    """A full-page screenshot of the current page, and one of what the window shows (`-top`,
    small enough for docs/img/console/)."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.screenshot(path=str(folder / f"{name}-top.png"))
    return path


def referral_id_from(page: Page) -> str:
    """The referral id in the current URL (/referrals/<id>...)."""
    found = re.search(r"/referrals/([A-Z0-9-]+)", page.url)
    assert found, page.url
    return found.group(1)
