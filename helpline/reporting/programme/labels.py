"""English labels of everything the report names, by key.

The keys are the stable message ids; the console's page (next increment) will pass the
English text through Flask-Babel's `gettext`, as the rest of the console does, and the
Turkish and Arabic catalogs will translate them. A value with no label shows as itself
(a nationality's ISO code, a province's name, a site's code, a language's code).
"""

from __future__ import annotations

from helpline.reporting.programme import dimensions as dims

VALUES: dict[str, str] = {
    dims.NOT_IDENTIFIED: "Not identified (no single profile on the number)",
    dims.UNKNOWN: "Unknown",
    dims.DECLINED: "Prefers not to say",
    dims.WITH_DISABILITY: "With disability (WG-SS)",
    dims.WITHOUT_DISABILITY: "Without disability (WG-SS)",
    dims.NONE: "None",
    "0_11": "0-11",
    "12_17": "12-17",
    "18_25": "18-25",
    "26_59": "26-59",
    "60_plus": "60 and over",
    "female": "Female",
    "male": "Male",
    "other": "Other",
    "stateless": "Stateless",
    "temporary_protection": "Temporary protection",
    "international_protection": "International protection",
    "residence_permit": "Residence permit",
    "citizen": "Citizen",
    # call types
    "data": "Counselling",
    "silent": "Silent",
    "hang_up": "Hang-up",
    "abusive": "Abusive",
    "wrong_number": "Wrong number",
    "information_only": "Information only",
    # risk levels
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "imminent": "Imminent",
    # closure reasons
    "goals_met": "Goals met",
    "referred_on": "Referred on",
    "no_contact": "No contact",
    "moved_away": "Moved away",
    "declined_services": "Declined services",
    "duplicate": "Duplicate",
    "deceased": "Deceased",
    # callback reasons
    "queue_key": "Asked while waiting",
    "out_of_hours": "Called out of hours",
    "voicemail": "Voicemail",
    "abandoned": "Hung up while waiting",
    "follow_up": "Follow-up",
    "not_safe_now": "Not safe to talk",
    # referral destinations that are not one of the line's sites
    "elsewhere": "Not one of the line's sites",
}

DIMENSIONS: dict[str, str] = {
    "site": "Site",
    "age_group": "Age group",
    "gender": "Gender",
    "nationality": "Nationality",
    "legal_status": "Legal status",
    "disability": "Disability",
    "province": "Province (of residence)",
    "language": "Language",
    "category": "Category",
    "kind_destination": "Kind and destination",
    "closure_reason": "Closure reason",
    "reason": "Reason",
}


def value(key: str) -> str:
    return VALUES.get(key, key)
