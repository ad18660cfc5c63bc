"""Plain English for a subject access report: no internal codes reach the person reading it.

A subject access report is read by the person it is about (or their representative), so
every value the log holds as a code -- an agency, a purpose, a statute, a consent state, a
data category, a reason -- is written out in words. A code with no entry here is never
printed: it becomes `UNKNOWN_REASON` (the IG lead can look the entry up in the log).
"""

from __future__ import annotations

AGENCIES = {
    "police": "Police",
    "health": "Health services (GP and hospital)",
    "education": "Education (schools)",
    "housing": "Housing",
    "childrens_social_care": "Children's social care",
}

PURPOSES = {
    "child_protection_enquiry": "Child protection enquiry",
    "child_in_need_assessment": "Assessment of a child in need",
    "early_help": "Early help for a family",
    "adult_safeguarding_enquiry": "Adult safeguarding enquiry",
    "crime_and_disorder_prevention": "Preventing crime and disorder",
}

GATEWAYS = {
    "children_act_1989_s47": "Children Act 1989, section 47",
    "children_act_1989_s17": "Children Act 1989, section 17",
    "children_act_2004_s10": "Children Act 2004, section 10",
    "children_act_2004_s11": "Children Act 2004, section 11",
    "care_act_2014_s42": "Care Act 2014, section 42",
    "crime_and_disorder_act_1998_s115": "Crime and Disorder Act 1998, section 115",
}

CONSENT_STATES = {
    "given": "Consent was given",
    "refused": "Consent was refused",
    "withdrawn": "Consent was withdrawn",
    "not_sought": "Consent was not asked for",
}

CONSENT_REASONS = {
    "risk_of_significant_harm": "asking could put a child at risk of significant harm",
    "risk_of_serious_harm_to_adult": "asking could put an adult at risk of serious harm",
    "prejudice_to_crime_investigation": "asking could prejudice the investigation of a crime",
    "undue_delay": "asking would cause a delay that could harm the child",
}

ROLES = {
    "mash_social_worker": "Social worker",
    "mash_team_manager": "Team manager",
    "agency_researcher": "Agency researcher",
    "ig_lead": "Information governance lead",
    "auditor": "Auditor",
    "agency_admin": "Agency administrator",
}

RATINGS = {"red": "Red (most urgent)", "amber": "Amber", "green": "Green"}

CATEGORIES = {
    "domestic_abuse_incidents": "domestic abuse incidents",
    "missing_episodes": "times reported missing",
    "arrests_and_charges": "arrests and charges",
    "marac_cases": "domestic abuse risk conference (MARAC) cases",
    "police_intelligence": "police intelligence",
    "covert_sources": "covert sources",
    "gp_registration": "GP registration",
    "emergency_attendances": "emergency department attendances",
    "maternity_and_health_visiting": "maternity and health visiting",
    "camhs": "child and adolescent mental health services",
    "was_not_brought": "missed health appointments",
    "sexual_health": "sexual health",
    "substance_misuse": "substance misuse services",
    "adoption_records": "adoption records",
    "school_enrolment": "school enrolment",
    "attendance": "school attendance",
    "exclusions": "school exclusions",
    "sen_ehcp": "special educational needs",
    "dsl_concerns": "concerns recorded by the school's safeguarding lead",
    "tenancy": "tenancy",
    "household_members": "who lives in the household",
    "arrears_and_eviction": "rent arrears and eviction",
    "antisocial_behaviour": "antisocial behaviour",
    "homelessness_and_temporary_accommodation": "homelessness and temporary accommodation",
    "csc_case_status": "whether children's social care is working with the family",
}

UNKNOWN_REASON = "for a reason recorded in the access log"

REASONS = {
    # policy decisions
    "no_agreement": "there is no information-sharing agreement with this agency",
    "agreement_not_in_force": "the information-sharing agreement was not in force",
    "agreement_expired": "the information-sharing agreement had expired",
    "agreement_unapproved": "the information-sharing agreement had not been approved",
    "agreement_altered": "the information-sharing agreement had been changed and not approved",
    "agreement_conflict": "the information-sharing agreements disagreed",
    "purpose_not_agreed": "the agreement does not allow sharing for this purpose",
    "gateway_mismatch": "the law given does not fit this purpose",
    "role_not_permitted": "the person asking was not allowed to ask",
    "consent_permits": "the agreement allows sharing in these circumstances",
    "consent_review": "without consent, a manager had to decide",
    "consent_reason_missing": "consent was not given and no reason for going ahead was recorded",
    "consent_not_satisfied": "the agreement does not allow sharing without consent here",
    "category_sealed": "some information is never shared through the hub",
    "category_sensitive_withheld": "sensitive information is shared only in the most urgent cases",
    "category_not_agreed": "the agreement does not cover some information",
    "category_not_held": "the agency does not hold that kind of information",
    "break_glass_applied": "urgent access was used and is being reviewed",
    "break_glass_refused": "a request for urgent access was refused",
    "review_required": "a manager had to decide",
    "review_approval_invalid": "a manager's approval did not meet the agreement",
    "subject_role_corrected": "the agency answered by the date of birth it holds",
    "policy_mismatch": "the hub and the agency held different versions of the agreement",
    # failures
    "deadline_exceeded": "the agency did not answer in time",
    "adapter_unavailable": "the agency's system could not be reached",
    "adapter_refused": "the agency's system refused the request",
    "adapter_error": "the agency's system returned an error",
    "backend_timeout": "the agency's records did not answer in time",
    "backend_unavailable": "the agency's records could not be reached",
    "backend_error": "the agency's records returned an error",
}

#: What happened with one agency for this person.
OUTCOMES = {
    "disclosed": "disclosed information about you",
    "matched_nothing_shared": "found you, but shared no information about you",
    "not_known": "did not know you",
    "possible_match": "may know you, but was not sure it was you, so shared nothing",
    "withheld": "was not allowed to share information about you",
    "pending_review": "was waiting for a manager to decide",
    "pending_research": "was searching its records by hand (its answer came later, if shown)",
    "review_rejected": "a manager decided that nothing would be asked",
    "not_asked": "was not asked",
    "failed": "did not answer",
    "answered": "answered; this older log entry does not say what it shared about you",
}


def label(table: dict[str, str], code: str | None, default: str = "not recorded") -> str:
    """The words for `code` in `table`; `default` for none, never the code itself."""
    return table.get(code, default) if code else default


def reason_text(code: str) -> str:
    """A reason code in words (an unknown one is `UNKNOWN_REASON`, never the code)."""
    return REASONS.get(code, UNKNOWN_REASON)


def signature_failure(code: str) -> str:
    """A disclosure that failed verification: its code is never shown."""
    return REASONS.get(code, "its answer failed the hub's checks and was not used")
