"""The controlled vocabularies of mash-hub, in one place.

Proto messages carry these as strings; policy files, the CLI and the audit log
use the same values. Parsing an unknown value raises `UnknownVocabulary`
(exit code 2 at the CLI, INVALID_ARGUMENT over gRPC) -- never a guess.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar


class UnknownVocabulary(ValueError):
    """A value is not in the controlled vocabulary it was meant to come from."""

    def __init__(self, vocabulary: str, value: object) -> None:
        self.vocabulary = vocabulary
        self.value = value
        super().__init__(f"unknown {vocabulary}: {value!r}")


class Agency(StrEnum):
    """An agency that runs an adapter."""

    POLICE = "police"
    HEALTH = "health"
    EDUCATION = "education"
    HOUSING = "housing"
    CHILDRENS_SOCIAL_CARE = "childrens_social_care"


class Purpose(StrEnum):
    """Why information is being asked for."""

    CHILD_PROTECTION_ENQUIRY = "child_protection_enquiry"
    CHILD_IN_NEED_ASSESSMENT = "child_in_need_assessment"
    EARLY_HELP = "early_help"
    ADULT_SAFEGUARDING_ENQUIRY = "adult_safeguarding_enquiry"
    CRIME_AND_DISORDER_PREVENTION = "crime_and_disorder_prevention"


class StatutoryGateway(StrEnum):
    """The statutory power under which information is shared."""

    CHILDREN_ACT_1989_S47 = "children_act_1989_s47"
    CHILDREN_ACT_1989_S17 = "children_act_1989_s17"
    CHILDREN_ACT_2004_S10 = "children_act_2004_s10"
    CHILDREN_ACT_2004_S11 = "children_act_2004_s11"
    CARE_ACT_2014_S42 = "care_act_2014_s42"
    CRIME_AND_DISORDER_ACT_1998_S115 = "crime_and_disorder_act_1998_s115"


#: The gateway each purpose is exercised under.
GATEWAY_FOR_PURPOSE: dict[Purpose, StatutoryGateway] = {
    Purpose.CHILD_PROTECTION_ENQUIRY: StatutoryGateway.CHILDREN_ACT_1989_S47,
    Purpose.CHILD_IN_NEED_ASSESSMENT: StatutoryGateway.CHILDREN_ACT_1989_S17,
    Purpose.EARLY_HELP: StatutoryGateway.CHILDREN_ACT_2004_S10,
    Purpose.ADULT_SAFEGUARDING_ENQUIRY: StatutoryGateway.CARE_ACT_2014_S42,
    Purpose.CRIME_AND_DISORDER_PREVENTION: StatutoryGateway.CRIME_AND_DISORDER_ACT_1998_S115,
}


class LawfulBasis(StrEnum):
    """UK GDPR Article 6 basis."""

    PUBLIC_TASK = "uk_gdpr_art6_1_e"
    LEGAL_OBLIGATION = "uk_gdpr_art6_1_c"


class SpecialCategoryCondition(StrEnum):
    """UK GDPR Article 9 condition (with its DPA 2018 schedule paragraph)."""

    SUBSTANTIAL_PUBLIC_INTEREST_SAFEGUARDING = "uk_gdpr_art9_2_g_dpa2018_sch1_para18"
    HEALTH_OR_SOCIAL_CARE = "uk_gdpr_art9_2_h"
    LEGAL_CLAIMS = "uk_gdpr_art9_2_f"


class ConsentState(StrEnum):
    """Where consent stands for this lookup."""

    GIVEN = "given"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    NOT_SOUGHT = "not_sought"


class ReasonCode(StrEnum):
    """Why sharing goes ahead without consent (or why glass is broken)."""

    RISK_OF_SIGNIFICANT_HARM = "risk_of_significant_harm"
    RISK_OF_SERIOUS_HARM_TO_ADULT = "risk_of_serious_harm_to_adult"
    PREJUDICE_TO_CRIME_INVESTIGATION = "prejudice_to_crime_investigation"
    UNDUE_DELAY = "undue_delay"


class Rag(StrEnum):
    """The referral's rating."""

    RED = "red"
    AMBER = "amber"
    GREEN = "green"


class Role(StrEnum):
    """A person's role in mash-hub (from the identity provider's token)."""

    MASH_SOCIAL_WORKER = "mash_social_worker"
    MASH_TEAM_MANAGER = "mash_team_manager"
    AGENCY_RESEARCHER = "agency_researcher"
    IG_LEAD = "ig_lead"
    AUDITOR = "auditor"
    AGENCY_ADMIN = "agency_admin"


class SubjectRole(StrEnum):
    """A subject's role in the referral."""

    CHILD = "child"
    PARENT_CARER = "parent_carer"
    HOUSEHOLD_MEMBER = "household_member"
    ADULT_AT_RISK = "adult_at_risk"


class Decision(StrEnum):
    """A policy decision."""

    PERMIT = "PERMIT"
    DENY = "DENY"
    REVIEW = "REVIEW"


class Sensitivity(StrEnum):
    """How carefully a data category is shared."""

    STANDARD = "standard"
    SENSITIVE = "sensitive"
    SEALED = "sealed"


class MatchBand(StrEnum):
    """How sure an adapter is that it found the right person."""

    CERTAIN = "certain"
    HIGH = "high"
    POSSIBLE = "possible"
    NONE = "none"


class AgencyStatus(StrEnum):
    """What happened with one agency in a lookup (as shown in the summary)."""

    DISCLOSED = "disclosed"
    NOT_KNOWN = "not_known"
    POSSIBLE_MATCH = "possible_match"
    WITHHELD = "withheld"
    PENDING_REVIEW = "pending_review"
    #: queued for the agency's MASH researcher, who searches its systems by hand
    PENDING_RESEARCH = "pending_research"
    TIMED_OUT = "timed_out"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"
    POLICY_MISMATCH = "policy_mismatch"
    NOT_ASKED = "not_asked"


class Category(StrEnum):
    """A data category: every agency record belongs to exactly one."""

    # police
    DOMESTIC_ABUSE_INCIDENTS = "domestic_abuse_incidents"
    MISSING_EPISODES = "missing_episodes"
    ARRESTS_AND_CHARGES = "arrests_and_charges"
    MARAC_CASES = "marac_cases"
    POLICE_INTELLIGENCE = "police_intelligence"
    COVERT_SOURCES = "covert_sources"
    # health
    GP_REGISTRATION = "gp_registration"
    EMERGENCY_ATTENDANCES = "emergency_attendances"
    MATERNITY_AND_HEALTH_VISITING = "maternity_and_health_visiting"
    CAMHS = "camhs"
    WAS_NOT_BROUGHT = "was_not_brought"
    SEXUAL_HEALTH = "sexual_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    ADOPTION_RECORDS = "adoption_records"
    # education
    SCHOOL_ENROLMENT = "school_enrolment"
    ATTENDANCE = "attendance"
    EXCLUSIONS = "exclusions"
    SEN_EHCP = "sen_ehcp"
    DSL_CONCERNS = "dsl_concerns"
    # housing
    TENANCY = "tenancy"
    HOUSEHOLD_MEMBERS = "household_members"
    ARREARS_AND_EVICTION = "arrears_and_eviction"
    ANTISOCIAL_BEHAVIOUR = "antisocial_behaviour"
    HOMELESSNESS_AND_TEMPORARY_ACCOMMODATION = "homelessness_and_temporary_accommodation"
    # children's social care
    CSC_CASE_STATUS = "csc_case_status"


#: The categories each agency holds.
AGENCY_CATEGORIES: dict[Agency, tuple[Category, ...]] = {
    Agency.POLICE: (
        Category.DOMESTIC_ABUSE_INCIDENTS,
        Category.MISSING_EPISODES,
        Category.ARRESTS_AND_CHARGES,
        Category.MARAC_CASES,
        Category.POLICE_INTELLIGENCE,
        Category.COVERT_SOURCES,
    ),
    Agency.HEALTH: (
        Category.GP_REGISTRATION,
        Category.EMERGENCY_ATTENDANCES,
        Category.MATERNITY_AND_HEALTH_VISITING,
        Category.CAMHS,
        Category.WAS_NOT_BROUGHT,
        Category.SEXUAL_HEALTH,
        Category.SUBSTANCE_MISUSE,
        Category.ADOPTION_RECORDS,
    ),
    Agency.EDUCATION: (
        Category.SCHOOL_ENROLMENT,
        Category.ATTENDANCE,
        Category.EXCLUSIONS,
        Category.SEN_EHCP,
        Category.DSL_CONCERNS,
    ),
    Agency.HOUSING: (
        Category.TENANCY,
        Category.HOUSEHOLD_MEMBERS,
        Category.ARREARS_AND_EVICTION,
        Category.ANTISOCIAL_BEHAVIOUR,
        Category.HOMELESSNESS_AND_TEMPORARY_ACCOMMODATION,
    ),
    Agency.CHILDRENS_SOCIAL_CARE: (Category.CSC_CASE_STATUS,),
}

#: The four partner agencies of the walking skeleton (CSC is the LA's own system).
PARTNER_AGENCIES: tuple[Agency, ...] = (
    Agency.POLICE,
    Agency.HEALTH,
    Agency.EDUCATION,
    Agency.HOUSING,
)

#: Roles that may ask for a lookup at all (the agreements say which of these each permits).
REQUESTING_ROLES: frozenset[Role] = frozenset(
    {Role.MASH_SOCIAL_WORKER, Role.MASH_TEAM_MANAGER, Role.AGENCY_RESEARCHER}
)

E = TypeVar("E", bound=StrEnum)


def parse(enum: type[E], value: object) -> E:
    """Return `value` as a member of `enum`, or raise `UnknownVocabulary`."""
    if isinstance(value, enum):
        return value
    if not isinstance(value, str):
        raise UnknownVocabulary(enum.__name__, value)
    try:
        return enum(value)
    except ValueError:
        raise UnknownVocabulary(enum.__name__, value) from None


def agency_of(category: Category) -> Agency:
    """The agency that holds records of `category`."""
    for agency, categories in AGENCY_CATEGORIES.items():
        if category in categories:
            return agency
    raise UnknownVocabulary("Category", category)  # pragma: no cover - every member is listed


# --- the referral workflow

class ReferralStatus(StrEnum):
    """Where a referral is in the MASH workflow."""

    SCREENING = "screening"
    RESEARCHING = "researching"
    DECIDED = "decided"
    CLOSED = "closed"


class ReferralSource(StrEnum):
    """Who made the referral to the MASH."""

    POLICE = "police"
    SCHOOL = "school"
    HEALTH = "health"
    HOUSING = "housing"
    EARLY_YEARS = "early_years"
    PROBATION = "probation"
    LOCAL_AUTHORITY = "local_authority"
    VOLUNTARY_SECTOR = "voluntary_sector"
    FAMILY_MEMBER = "family_member"
    MEMBER_OF_PUBLIC = "member_of_public"
    SELF = "self"
    ANONYMOUS = "anonymous"
    OTHER = "other"


class LevelOfNeed(StrEnum):
    """The threshold (continuum of need) a team manager decides a referral meets."""

    UNIVERSAL = "universal"
    EARLY_HELP = "early_help"
    CHILD_IN_NEED = "child_in_need"
    CHILD_PROTECTION = "child_protection"


class Outcome(StrEnum):
    """What happens next, as the team manager decides."""

    STRATEGY_DISCUSSION = "strategy_discussion"
    CHILD_AND_FAMILY_ASSESSMENT = "child_and_family_assessment"
    EARLY_HELP = "early_help"
    UNIVERSAL_SERVICES_NFA = "universal_services_nfa"


#: Outcomes consistent with each level of need (a mismatch is refused as a likely error).
OUTCOMES_FOR_LEVEL: dict[LevelOfNeed, frozenset[Outcome]] = {
    LevelOfNeed.CHILD_PROTECTION: frozenset(
        {Outcome.STRATEGY_DISCUSSION, Outcome.CHILD_AND_FAMILY_ASSESSMENT}
    ),
    LevelOfNeed.CHILD_IN_NEED: frozenset({Outcome.CHILD_AND_FAMILY_ASSESSMENT}),
    LevelOfNeed.EARLY_HELP: frozenset({Outcome.EARLY_HELP}),
    LevelOfNeed.UNIVERSAL: frozenset({Outcome.UNIVERSAL_SERVICES_NFA}),
}

#: RAG ratings from least to most urgent (to tell a raise from a lowering).
RAG_URGENCY: dict[Rag, int] = {Rag.GREEN: 0, Rag.AMBER: 1, Rag.RED: 2}
