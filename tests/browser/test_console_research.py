"""The agency researcher's queue in a real browser: console -> police adapter over mTLS.

The police adapter runs the researcher queue (backend `research`); a Red lookup queues a
query; the demo researcher signs in, sees it with its RAG, due time and near-deadline flag,
opens it, is told what a bad answer lacks, answers, and the MASH's summary shows the signed
answer. axe-core checks every page.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from console.config import ResearchSettings
from mash.app.cluster import Cluster
from mash.app.console_stack import ConsoleStack
from mash.clock import london_today
from mash.home import Home
from mash.vocab import Agency
from tests.browser.helpers import check_accessible, shot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.browser]

MASH = [sys.executable, "-m", "mash.app"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def research_cluster(home: Home, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    queue = tmp_path_factory.mktemp("console-research") / "queue.sqlite"
    settings = {"backend": "research", "listen": f"127.0.0.1:{_free_port()}",
                "backend_options": {"queue": str(queue), "alert_minutes": 20_000}}
    with Cluster(home, agencies=(Agency.POLICE, Agency.HEALTH),
                 adapter_settings={Agency.POLICE: settings}) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def research_stack(home: Home, research_cluster: Cluster) -> Iterator[ConsoleStack]:
    research = ResearchSettings(address=research_cluster.adapter(Agency.POLICE).address)
    with ConsoleStack(home, research_cluster.broker.address,
                      console_settings={"research": research}) as s:
        yield s


def mash(home: Home, *argv: str) -> str:
    result = subprocess.run([*MASH, *argv, "--home", str(home.root)], capture_output=True,
                            text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_researcher_answers_a_red_item_in_the_console(
        home: Home, research_stack: ConsoleStack, page: Page, screenshots: Path) -> None:
    born = (london_today() - timedelta(days=2500)).isoformat()
    mash(home, "referral", "create", "--id", "REF-RESWEB-1", "--source", "school",
         "--reason", "Disclosure at school.", "--rag", "red", "--by", "sw-9",
         "--subject", f"role=child,given_name=Cy,family_name=Webresearch,"
                      f"date_of_birth={born},postcode=ZZ99 1AA")
    mash(home, "referral", "lookup", "REF-RESWEB-1", "--purpose", "child_protection_enquiry",
         "--consent", "not_sought", "--consent-reason", "risk_of_significant_harm", "--by", "sw-9")

    sign_in(page, research_stack, "res-301")
    page.goto(f"{research_stack.console_url}/research")
    row = page.locator("#research-items tr", has_text="REF-RESWEB-1")
    expect(row).to_contain_text("RED")
    expect(row.locator(".research-alert")).to_have_text("Near deadline")
    check_accessible(page)
    shot(page, screenshots, "research-queue")

    row.locator("a").click()
    expect(page.locator("h1")).to_contain_text("REF-RESWEB-1")
    expect(page.locator("#subject-child-1")).to_contain_text("Webresearch")
    check_accessible(page)
    # A fact without its summary: a GOV.UK error summary names what is missing.
    page.check("#outcome")
    page.select_option("#f0-subject", "child-1")
    page.select_option("#f0-category", "domestic_abuse_incidents")
    page.fill("#f0-date", (london_today() - timedelta(days=20)).isoformat())
    page.click("#submit-answer")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a one-line summary")
    check_accessible(page)
    page.fill("#f0-summary", "Domestic abuse incident reported; child present")
    page.click("#submit-answer")
    expect(page.locator("#answered")).to_contain_text("signed")
    shot(page, screenshots, "research-answered")

    report = json.loads(mash(home, "summary", "show", "REF-RESWEB-1", "--format", "json",
                             "--by", "sw-9"))
    police = next(a for a in report["agencies"] if a["agency"] == "police")
    assert police["status"] == "disclosed"
    assert [f["summary"] for f in police["facts_by_category"]["domestic_abuse_incidents"]] == [
        "Domestic abuse incident reported; child present"]
