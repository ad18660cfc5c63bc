"""The console in a real browser against the real broker, adapters and issuer over mTLS.

A social worker records a referral with its household and runs a Red lookup, a team manager
approves a held request, an IG lead reads the agreements and a draft's effect and signs off a
break-glass access, and the refusals a browser can provoke are refused. axe-core checks
every page on the way; screenshots of the main pages are written for people to look at.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from broker.client import BrokerClient
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.app.console_stack import ConsoleStack
from mash.demo_data import demo_referrals
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.v1 import referrals_pb2 as rpb
from mash.vocab import Agency, Role
from policy.approval import agreements_dir
from policy.drafts import drafts_dir
from tests.browser.helpers import check_accessible, referral_id_from, shot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _fill_person(page: Page, index: int, person: dict[str, Any]) -> None:
    ids = person["identifiers"]
    p = f"s{index}-"
    if index:
        page.select_option(f"#{p}role", person["role"])
    page.fill(f"#{p}given_name", ids["given_name"])
    page.fill(f"#{p}family_name", ids["family_name"])
    year, month, day = ids["date_of_birth"].split("-")
    page.fill(f"#{p}dob_day", str(int(day)))
    page.fill(f"#{p}dob_month", str(int(month)))
    page.fill(f"#{p}dob_year", year)
    page.select_option(f"#{p}sex", ids["sex"])
    page.fill(f"#{p}address", ids["address"])
    page.fill(f"#{p}postcode", ids["postcode"])


def _new_referral(page: Page, home: Home, rag: str, shots: Path | None = None) -> str:
    """Record the demo family's referral through the form; returns its id."""
    family = demo_referrals(home)[0]
    page.click("#new-referral")
    expect(page.locator("h1")).to_have_text("Record a new referral")
    page.select_option("#source", "police")
    page.fill("#reason", "Police attended a domestic abuse incident; children present.")
    page.check("#rag" if rag == "red" else f"#rag-{rag}")
    _fill_person(page, 0, family["subjects"][0])
    page.click("#add-person")  # the household grows without JavaScript: the form comes back
    _fill_person(page, 1, family["subjects"][1])
    page.click("#add-person")
    page.fill("#s2-given_name", "Someone")
    page.fill("#s2-family_name", "Mistaken")
    page.click("button[value='remove-2']")  # and shrinks: person 3 was added by mistake
    expect(page.locator("#s2-given_name")).to_have_count(0)
    expect(page.locator("#s1-given_name")).to_have_value(family["subjects"][1]["identifiers"]["given_name"])
    if shots is not None:
        check_accessible(page)
        shot(page, shots, "03-new-referral")
    page.click("#save-referral")
    expect(page.locator("#referral-id")).to_be_visible()
    return referral_id_from(page)


def _run_lookup(page: Page, consent: str = "not_sought") -> None:
    page.select_option("#purpose", "child_protection_enquiry")
    page.select_option("#consent", consent)
    if consent != "given":
        page.select_option("#consent_reason", "risk_of_significant_harm")
        page.fill("#consent_note", "Seeking consent would place the child at further risk.")
    page.click("#run-lookup")
    expect(page.locator("#agency-status")).to_be_visible()
    # The page polls for each agency's answer and reloads once the broker has replied.
    expect(page.locator("#still-waiting")).to_have_count(0, timeout=60_000)
    refused = page.locator("#lookup-error")
    assert refused.count() == 0, f"the broker refused the lookup: {refused.inner_text()}"


def test_social_worker_records_a_referral_and_reads_the_red_summary(
        page: Page, stack: ConsoleStack, home: Home, screenshots: Path) -> None:
    """Sign in, bad input gets an error summary, referral with household, Red lookup, summary."""
    page.goto(f"{stack.console_url}/")
    check_accessible(page)
    shot(page, screenshots, "01-sign-in")
    sign_in(page, stack, "sw-104")
    expect(page.locator("h1")).to_have_text("Work queue")
    check_accessible(page)

    page.click("#new-referral")
    page.click("#save-referral")  # nothing filled in
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Select who made the referral")
    expect(summary).to_contain_text("Enter a name, NHS number or UPN for person 1")
    page.fill("#s0-nhs_number", "9434765918")  # wrong check digit
    page.fill("#s0-dob_day", "31")
    page.fill("#s0-dob_month", "2")
    page.fill("#s0-dob_year", "2015")
    page.click("#save-referral")
    expect(summary).to_contain_text("valid check digit")
    expect(summary).to_contain_text("must be a real date")
    expect(page).to_have_title("Error: Record a new referral - MASH console")
    check_accessible(page)
    shot(page, screenshots, "02-error-summary")
    page.goto(f"{stack.console_url}/referrals")

    referral_id = _new_referral(page, home, "red", screenshots)
    expect(page.locator("#household")).to_contain_text("Parent carer")
    check_accessible(page)
    shot(page, screenshots, "04-referral")

    _run_lookup(page)
    for agency in Agency:
        cell = page.locator(f"[data-agency='{agency.value}']")
        expect(cell).not_to_have_text("Waiting for an answer")
        expect(cell).not_to_have_text("Not asked")
    expect(page.locator("[data-agency='police']")).to_have_text("Information shared")
    check_accessible(page)
    shot(page, screenshots, "05-lookup-answers")

    page.click("#read-summary")
    expect(page.locator("h1")).to_have_text("Summary of what the agencies shared")
    for agency in Agency:
        expect(page.locator(f"#agency-{agency.value}")).to_be_visible()
    expect(page.locator("#csc-banner")).to_contain_text("KNOWN TO CHILDREN'S SOCIAL CARE")
    expect(page.locator("#chronology")).to_be_visible()
    expect(page.locator("#indicators")).to_be_visible()
    expect(page.locator("#agency-police")).to_contain_text("High confidence")
    check_accessible(page)
    shot(page, screenshots, "06-summary")
    page.click("#print-view")
    expect(page.locator("h1")).to_contain_text(referral_id)
    check_accessible(page)

    family_name = demo_referrals(home)[0]["subjects"][0]["identifiers"]["family_name"]
    page.goto(f"{stack.console_url}/referrals?q={family_name}")
    expect(page.locator("#queue")).to_contain_text(referral_id)
    check_accessible(page)
    shot(page, screenshots, "07-work-queue")

    # The IG lead finds that access in the log and downloads the subject access report.
    child = demo_referrals(home)[0]["subjects"][0]["identifiers"]
    page.context.clear_cookies()
    sign_in(page, stack, "ig-401")
    expect(page.locator("h1")).to_have_text("Information governance")
    expect(page.locator("#verify-result")).to_have_text("Every log intact")
    expect(page.locator("#verification")).not_to_contain_text("Problem")
    check_accessible(page)
    page.click("#access-log-link")
    page.fill("#given_name", child["given_name"])
    page.fill("#family_name", child["family_name"])
    page.click("#search-log")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the date of birth")
    check_accessible(page)
    page.fill("#dob", child["date_of_birth"])
    page.click("#search-log")
    expect(page.locator("#results")).to_contain_text(referral_id)
    expect(page.locator("#history")).to_contain_text("sw-104")
    check_accessible(page)
    shot(page, screenshots, "09-access-log")
    with page.expect_download() as download:
        page.click("#sar-json")
    sar = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert referral_id in {r["referral_id"] for r in sar["requests"]}
    assert sar["identifiers_used"] == ["name and date of birth"]


def test_team_manager_approves_a_held_request(
        page: Page, stack: ConsoleStack, home: Home, screenshots: Path) -> None:
    """An Amber lookup without consent is held; the manager approves it with a reason."""
    sign_in(page, stack, "sw-105")
    referral_id = _new_referral(page, home, "amber")
    _run_lookup(page)
    expect(page.locator("[data-agency='police']")).to_have_text("Awaiting manager")

    page.context.clear_cookies()
    sign_in(page, stack, "tm-201")
    expect(page.locator("h1")).to_have_text("Requests waiting for your decision")
    card = page.locator(f"#review-{referral_id}")
    expect(card).to_contain_text("sw-105")
    check_accessible(page)
    card.locator("button[type=submit]").click()  # no decision, no reason
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the reason for your decision")
    check_accessible(page)
    card = page.locator(f"#review-{referral_id}")
    card.locator("input[value=approve]").check()
    card.locator("textarea").fill("Domestic abuse with children present: sharing is proportionate.")
    shot(page, screenshots, "08-review-queue")
    card.locator("button[type=submit]").click()
    expect(page.locator("#decided")).to_contain_text(referral_id)
    expect(page.locator(f"#review-{referral_id}")).to_have_count(0)
    check_accessible(page)

    # The released requests were answered and filed with the referral by the broker.
    page.goto(f"{stack.console_url}/referrals/{referral_id}/summary")
    expect(page.locator("#agency-police")).to_contain_text("Information shared")
    check_accessible(page)

    # A team manager sees every referral of the MASH, this one recorded by sw-105 too.
    page.goto(f"{stack.console_url}/referrals?q={referral_id}")
    expect(page.locator("#queue")).to_contain_text(referral_id)
    check_accessible(page)

    # The decision page: a mismatched outcome is refused with an error summary, then recorded.
    page.goto(f"{stack.console_url}/referrals/{referral_id}")
    page.select_option("#level_of_need", "child_protection")
    page.select_option("#outcome", "early_help")
    page.click("#record-decision")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the rationale")
    expect(page.locator(".govuk-error-summary")).to_contain_text("the outcome must be")
    check_accessible(page)
    page.select_option("#level_of_need", "child_protection")
    page.select_option("#outcome", "strategy_discussion")
    page.fill("#rationale", "Domestic abuse with a child present: strategy discussion today.")
    page.click("#record-decision")
    expect(page.locator("#notice")).to_have_text("Decision recorded")
    expect(page.locator("#decision")).to_contain_text("Child protection: strategy discussion")
    expect(page.locator("#decision")).to_contain_text("tm-201")
    check_accessible(page)

    # Closed with a note (none: an error summary); then asked about no more.
    page.click("#close-referral")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter why the referral is closed")
    page.fill("#close_note", "Strategy discussion held; plan agreed.")
    page.click("#close-referral")
    expect(page.locator("#notice")).to_have_text("Referral closed")
    expect(page.locator("#close-referral")).to_have_count(0)
    check_accessible(page)

    # Retention, run by a team manager.
    page.goto(f"{stack.console_url}/retention")
    check_accessible(page)
    page.click("#run-retention")
    expect(page.locator("#purged")).to_contain_text("summary parts deleted")
    check_accessible(page)


def test_refusals_a_browser_can_provoke(page: Page, stack: ConsoleStack, home: Home) -> None:
    """Another worker's referral, a forged CSRF token, a made-up session and a wrong role."""
    sign_in(page, stack, "sw-104")
    owned = _new_referral(page, home, "green")
    page.context.clear_cookies()

    sign_in(page, stack, "sw-105")
    # The broker's rule, shown as it is: another worker's referral is neither listed nor opened.
    page.goto(f"{stack.console_url}/referrals?q={owned}")
    expect(page.locator("#queue-empty")).to_have_text("No referrals match.")
    reply = page.goto(f"{stack.console_url}/referrals/{owned}")
    assert reply is not None and reply.status == 404
    expect(page.locator("#error-detail")).to_have_text("no such referral, or not one of yours")
    check_accessible(page)
    reply = page.goto(f"{stack.console_url}/referrals/{owned}/summary")
    assert reply is not None and reply.status == 404
    reply = page.goto(f"{stack.console_url}/reviews")
    assert reply is not None and reply.status == 403

    page.goto(f"{stack.console_url}/referrals/new")
    page.locator("form[action='/referrals/new'] input[name=csrf_token]").evaluate("e => e.value = 'forged'")
    with page.expect_response(lambda r: r.url.endswith("/referrals/new")) as posted:
        page.click("#save-referral")
    assert posted.value.status == 403
    expect(page.locator("#error-detail")).to_have_text("form token missing or wrong")

    page.context.clear_cookies()
    page.context.add_cookies([{"name": "mash_console_session", "value": "made-up-or-expired",
                               "url": stack.console_url}])
    page.goto(f"{stack.console_url}/referrals")
    expect(page).to_have_url(f"{stack.console_url}/sign-in?expired=1")
    expect(page.locator("#expired-title")).to_be_visible()


GLASS = "Child seen with injuries tonight; manager unreachable; strategy meeting at 9am"


def _break_glass_lookup(home: Home, cluster: Cluster, referral_id: str) -> None:
    """Set-up through the broker's real API: sw-104 breaks glass on a referral they recorded."""
    family = demo_referrals(home)[0]
    subjects = [pb.Subject(subject_id=s["subject_id"], role=s["role"], identifiers=pb.Identifiers(
        **{k: v for k, v in s["identifiers"].items() if v})) for s in family["subjects"]]
    with BrokerClient(home, cluster.broker.address,
                      issue_token(home, sub="sw-104", role=Role.MASH_SOCIAL_WORKER)) as sw:
        sw.referrals("CreateReferral", rpb.CreateReferralRequest(
            referral_id=referral_id, source="police", rag="red",
            reason="Police attended a domestic incident.", subjects=subjects))
        sw.referrals("Lookup", rpb.ReferralLookupRequest(
            referral_id=referral_id, purpose="child_in_need_assessment",
            consent=pb.Consent(state="refused", reason="risk_of_significant_harm"),
            break_glass=pb.BreakGlass(reason="risk_of_significant_harm", justification=GLASS)))


def _stage_draft(home: Home) -> Path:
    """A draft of the police agreement that shares less about household members and keeps
    summaries for one year instead of two, staged for the IG lead's review."""
    staged = drafts_dir(home)
    staged.mkdir(parents=True, exist_ok=True)
    text = (agreements_dir(home) / "police.toml").read_text(encoding="utf-8")
    draft = text.replace('household_member = ["domestic_abuse_incidents", "arrests_and_charges"]',
                         'household_member = ["domestic_abuse_incidents"]', 1)
    draft = draft.replace("disclosed_summary_days = 730", "disclosed_summary_days = 365")
    assert draft != text
    (staged / "police.toml").write_text(draft, encoding="utf-8")
    return staged


def test_ig_lead_reads_agreements_and_a_drafts_effect_and_signs_off_break_glass(
        page: Page, stack: ConsoleStack, home: Home, cluster: Cluster, screenshots: Path) -> None:
    """Agreements in force, a draft's effect diff, and a break-glass access signed off."""
    referral_id = "REF-BROWSER-GLASS"
    _break_glass_lookup(home, cluster, referral_id)
    staged = _stage_draft(home)
    try:
        sign_in(page, stack, "ig-401")
        expect(page.locator("#verify-result")).to_have_text("Every log intact")
        check_accessible(page)
        shot(page, screenshots, "10-ig-home")

        page.click("#agreements-link")
        police = page.locator("#agreement-dsa-mash-demo-police")
        expect(police).to_contain_text("In force")
        expect(police).to_contain_text("ig-lead-alex")
        check_accessible(page)
        shot(page, screenshots, "11-agreements")

        page.goto(f"{stack.console_url}/ig")
        page.click("#drafts-link")
        draft = page.locator("#draft-dsa-mash-demo-police")
        expect(draft).to_contain_text("Changed since approval")
        expect(draft).to_contain_text("Would replace dsa-mash-demo-police")
        changes = page.locator("#changes-dsa-mash-demo-police")
        expect(changes).to_contain_text("about a household member")
        expect(changes).to_contain_text("arrests and charges")
        expect(changes).to_contain_text("730 → 365")
        check_accessible(page)
        shot(page, screenshots, "12-drafts")
    finally:
        shutil.rmtree(staged)

    page.goto(f"{stack.console_url}/ig")
    page.click("#break-glass-link")
    card = page.locator(".govuk-summary-card", has_text=referral_id).filter(
        has_text=": break-glass").first
    expect(card).to_contain_text("sw-104")
    ref = card.locator("input[name=ref]").get_attribute("value")
    assert ref and ref.startswith("broker-mash-demo:")
    card.locator("button[type=submit]").click()  # no finding, no note
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Select your finding")
    expect(summary).to_contain_text("Enter your finding in words")
    check_accessible(page)
    card = page.locator(f"#item-{ref.replace(':', '-')}")
    card.locator("input[value=appropriate]").check()
    card.locator("textarea").fill("Immediate risk to the child; manager unreachable; proportionate.")
    shot(page, screenshots, "13-break-glass")
    card.locator("button[type=submit]").click()
    expect(page.locator("#signed-off")).to_contain_text(ref)
    expect(page.locator(f"#item-{ref.replace(':', '-')}")).to_have_count(0)
    expect(page.locator("#signed-off-items")).to_contain_text("ig-401")
    check_accessible(page)

    # The sign-off is in the IG log, found like any other access to the referral.
    page.goto(f"{stack.console_url}/ig/access-log?referral={referral_id}")
    expect(page.locator("#results")).to_contain_text("retrospective_review")
    expect(page.locator("#results")).to_contain_text("ig-401")
    check_accessible(page)
