"""English labels of everything the report names, by key.

The English texts are the message ids (marked with `N_` for the catalogs); the console's
page passes them through Flask-Babel's `gettext`, and the Turkish and Arabic catalogs
translate them. The files (CSV, workbook) stay in English. A value with no label shows
as itself (a nationality's ISO code, a province's name, a site's code, a language's code).
"""

from __future__ import annotations

from helpline.reporting.programme import dimensions as dims


def N_(text: str) -> str:  # gettext's conventional name for a marker
    """Mark an English label as a message id for the catalogs (`python -m helpline.i18n
    update` finds it); the console translates it when it shows it."""
    return text


VALUES: dict[str, str] = {
    dims.NOT_IDENTIFIED: N_("Not identified (no single profile on the number)"),
    dims.UNKNOWN: N_("Unknown"),
    dims.DECLINED: N_("Prefers not to say"),
    dims.WITH_DISABILITY: N_("With disability (WG-SS)"),
    dims.WITHOUT_DISABILITY: N_("Without disability (WG-SS)"),
    dims.NONE: N_("None"),
    "0_11": N_("0-11"),
    "12_17": N_("12-17"),
    "18_25": N_("18-25"),
    "26_59": N_("26-59"),
    "60_plus": N_("60 and over"),
    "female": N_("Female"),
    "male": N_("Male"),
    "other": N_("Other"),
    "stateless": N_("Stateless"),
    "temporary_protection": N_("Temporary protection"),
    "international_protection": N_("International protection"),
    "residence_permit": N_("Residence permit"),
    "citizen": N_("Citizen"),
    # call types
    "data": N_("Counselling"),
    "silent": N_("Silent"),
    "hang_up": N_("Hang-up"),
    "abusive": N_("Abusive"),
    "wrong_number": N_("Wrong number"),
    "information_only": N_("Information only"),
    # risk levels
    "low": N_("Low"),
    "medium": N_("Medium"),
    "high": N_("High"),
    "imminent": N_("Imminent"),
    # closure reasons
    "goals_met": N_("Goals met"),
    "referred_on": N_("Referred on"),
    "no_contact": N_("No contact"),
    "moved_away": N_("Moved away"),
    "declined_services": N_("Declined services"),
    "duplicate": N_("Duplicate"),
    "deceased": N_("Deceased"),
    # callback reasons
    "queue_key": N_("Asked while waiting"),
    "out_of_hours": N_("Called out of hours"),
    "voicemail": N_("Voicemail"),
    "abandoned": N_("Hung up while waiting"),
    "follow_up": N_("Follow-up"),
    "not_safe_now": N_("Not safe to talk"),
    # referral destinations that are not one of the line's sites
    "elsewhere": N_("Not one of the line's sites"),
}

DIMENSIONS: dict[str, str] = {
    "site": N_("Site"),
    "age_group": N_("Age group"),
    "gender": N_("Gender"),
    "nationality": N_("Nationality"),
    "legal_status": N_("Legal status"),
    "disability": N_("Disability"),
    "province": N_("Province (of residence)"),
    "language": N_("Language"),
    "category": N_("Category"),
    "kind_destination": N_("Kind and destination"),
    "closure_reason": N_("Closure reason"),
    "reason": N_("Reason"),
}


def value(key: str) -> str:
    return VALUES.get(key, key)
