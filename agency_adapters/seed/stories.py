"""Household events shared between agencies (the same incident seen by police, school, housing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from agency_adapters.seed.context import RecordContext
from agency_adapters.seed.population import Citizen, Household

#: Household flag set on the demo's Red-referral household (see `seed.demo`).
DEMO_FLAG = "demo_red_referral"


@dataclass(frozen=True)
class DomesticIncident:
    """One domestic-abuse incident in a household."""

    occurred_on: date
    dash_risk: str  # standard | medium | high (DASH risk assessment)
    children_present: bool
    arrest: bool


def victim_and_suspect(ctx: RecordContext, h: Household) -> tuple[Citizen | None, Citizen | None]:
    """The adult victim (usually the mother) and suspect (usually her partner) of household `h`."""
    adults = [c for c in ctx.members(h) if c.role in ("parent", "adult", "other")]
    women = [c for c in adults if c.sex == "female"]
    men = [c for c in adults if c.sex == "male"]
    victim = women[0] if women else (adults[0] if adults else None)
    suspect = next((m for m in men if m is not victim), None)
    return victim, suspect


def domestic_incidents(ctx: RecordContext, h: Household) -> list[DomesticIncident]:
    """The household's domestic-abuse incidents, oldest first, escalating over time."""
    if "domestic_abuse" not in h.flags:
        return []
    rng = ctx.story(h, "domestic_abuse")
    count = rng.choices((1, 2, 3, 4, 5), weights=(35, 25, 18, 12, 10))[0]
    if DEMO_FLAG in h.flags:
        count = max(count, 3)  # the demo family has a history, not one incident
    start = ctx.as_of - timedelta(days=rng.randint(60, 3 * 365))
    days = sorted(rng.randint(0, (ctx.as_of - start).days) for _ in range(count))
    out: list[DomesticIncident] = []
    for i, d in enumerate(days):
        escalation = i / max(1, count - 1)
        risk = rng.choices(("standard", "medium", "high"),
                           weights=(60 - 35 * escalation, 28, 12 + 35 * escalation))[0]
        out.append(DomesticIncident(start + timedelta(days=d), risk, rng.random() < 0.7,
                                    risk != "standard" and rng.random() < 0.6))
    if DEMO_FLAG in h.flags:
        # The demo's Red referral: a recent high-risk incident with the children present.
        out[-1] = DomesticIncident(ctx.as_of - timedelta(days=rng.randint(2, 9)), "high", True,
                                   True)
    return out


def moved_on(ctx: RecordContext, h: Household) -> date:
    """When the household moved to its current address (if it moved)."""
    rng = ctx.story(h, "move")
    return ctx.as_of - timedelta(days=rng.randint(30, 700))


def arrears(ctx: RecordContext, h: Household) -> tuple[int, str, date] | None:
    """Rent arrears (pounds, stage, date) for a hard-pressed social tenancy, or None."""
    if h.tenure != "social_rent" or not ({"financial_hardship", "substance_misuse"} & h.flags):
        return None
    rng = ctx.story(h, "arrears")
    amount = rng.randint(3, 90) * 50
    stage = ("arrears letter sent" if amount < 800 else
             "Notice of Seeking Possession served" if amount < 2000 else
             rng.choice(("possession hearing listed", "eviction date set")))
    return amount, stage, ctx.as_of - timedelta(days=rng.randint(7, 200))
