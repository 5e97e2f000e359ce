"""The programme report's English texts in the reader's language, on the page.

Most message ids are found in the report's modules by the catalogs' extractor (`N_` in
labels.py, `Column(...)` and `table(...)` arguments). The texts below are the ones it
cannot see there, written as plain strings or built with a value: section titles, notes,
the total row, and the titles made from a dimension or a value. The files (CSV,
workbook) stay in English; tests/test_programme_texts.py checks every text of a report
has a translation.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext, lazy_gettext

from helpline.reporting.programme import labels

# Texts the report's modules hold as plain strings (build.py, tables.py, model.py and the
# notes of needs.py and referrals.py): listed here so that the extractor finds them.
PLAIN = (
    lazy_gettext("Reach"),
    lazy_gettext("Needs"),
    lazy_gettext("Referrals"),
    lazy_gettext("Cases"),
    lazy_gettext("Outcomes"),
    lazy_gettext("Callbacks and follow-ups"),
    lazy_gettext("Staffing"),
    lazy_gettext("Total"),
    lazy_gettext("The whole line"),
    lazy_gettext("Month"),
    lazy_gettext("Improved by 10 points or more"),
    lazy_gettext(
        "A contact counts once under each category it names, so the categories add up "
        "to more than the total of contacts."
    ),
    lazy_gettext(
        "Each step counts in the period it was taken in. The target time is the "
        "kind's act_within_days, from sending to the service provided."
    ),
)


def _dimension(lowered: str) -> str:
    found = next((d for d in labels.DIMENSIONS.values() if d.lower() == lowered), lowered)
    return str(gettext(found))


def _value(text: str) -> str:
    found = next((v for v in labels.VALUES.values() if v.lower() == text.lower()), text)
    return str(gettext(found))


# Texts made from a value: "Reach by gender", "Contacts: Silent", "Risk: high"...
PATTERNS: tuple[tuple[re.Pattern[str], Callable[[str], str]], ...] = (
    (re.compile(r"Reach by (.+)"), lambda v: gettext("Reach by %(what)s", what=_dimension(v))),
    (re.compile(r"Contacts: (.+)"), lambda v: gettext("Contacts: %(what)s", what=_value(v))),
    (re.compile(r"Risk: (.+)"), lambda v: gettext("Risk: %(what)s", what=_value(v))),
    (re.compile(r"Province of (.+)"), lambda v: gettext("Province of %(what)s", what=v)),
)


def translate(text: str) -> str:
    """A text of the report in the reader's language (itself when it is data, such as a
    site's code or a nationality)."""
    if not text:
        return text
    for pattern, render in PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return render(match.group(1))
    return str(gettext(text))
