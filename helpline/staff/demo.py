"""Demo sites and staff for the sandbox, training and a newcomer's first login.

Never used in production (the CLI and the runner refuse). The phone numbers are
unallocated test-style numbers for sandbox staff phones.
"""

from __future__ import annotations

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.models import Staff
from helpline.models.base import DbSession
from helpline.staff import accounts as staffing

DEMO_PASSWORD = "helpline-demo-183"  # noqa: S105 - printed to the trainer; sandbox only
ACTOR = audit.Actor("demo-seed")

SITES = (
    ("ANK-ALT", "Altındağ Social Service Centre", "Ankara"),
    ("GAZ-SHB", "Şahinbey Social Service Centre", "Gaziantep"),
    ("IST-ESY", "Esenyurt Social Service Centre", "İstanbul"),
)

STAFF = (
    staffing.StaffSpec(
        "supervisor",
        "Elif Yılmaz",
        ("supervisor",),
        ("tr", "en"),
        (),
        "ANK-ALT",
        "+905550000101",
        DEMO_PASSWORD,
        "en",
    ),
    staffing.StaffSpec(
        "admin", "Murat Demir", ("admin",), ("tr",), (), "ANK-ALT", None, DEMO_PASSWORD, "en"
    ),
    staffing.StaffSpec(
        "counsellor.tr",
        "Ayşe Kaya",
        ("counsellor",),
        ("tr", "en"),
        ("psychosocial", "violence", "child_protection"),
        "ANK-ALT",
        "+905550000102",
        DEMO_PASSWORD,
        "en",
    ),
    staffing.StaffSpec(
        "counsellor.ar",
        "Yusuf Haddad",
        ("counsellor",),
        ("ar", "tr"),
        ("psychosocial", "migration"),
        "GAZ-SHB",
        "+905550000103",
        DEMO_PASSWORD,
        "en",
    ),
    staffing.StaffSpec(
        "counsellor.fa",
        "Maryam Ahmadi",
        ("counsellor",),
        ("fa", "tr"),
        ("psychosocial", "violence"),
        "IST-ESY",
        "+905550000104",
        DEMO_PASSWORD,
        "en",
    ),
    staffing.StaffSpec(
        "interpreter.ps",
        "Ahmad Karimi",
        ("interpreter",),
        ("ps", "fa", "tr"),
        (),
        "IST-ESY",
        "+905550000105",
        DEMO_PASSWORD,
        "en",
    ),
    staffing.StaffSpec(
        "interpreter.ku",
        "Rojda Aslan",
        ("interpreter",),
        ("ku", "tr"),
        (),
        "GAZ-SHB",
        "+905550000106",
        DEMO_PASSWORD,
        "en",
    ),
    # The focal point of the Şahinbey centre (data/ssc_directory.yaml links it to GAZ-SHB):
    # receives the referrals sent there.
    staffing.StaffSpec(
        "focal.ssc",
        "Zeynep Arslan",
        ("ssc_focal_point",),
        ("tr", "ar"),
        (),
        "GAZ-SHB",
        None,
        DEMO_PASSWORD,
        "en",
    ),
    # Reads the monthly programme report for the ministry and UNHCR, nothing else.
    staffing.StaffSpec(
        "programme.officer",
        "Elif Demir",
        ("programme_officer",),
        (),
        (),
        None,
        None,
        DEMO_PASSWORD,
        "en",
    ),
)


def seed(session: DbSession) -> int:
    """Create the demo sites and staff in an empty database; returns how many staff."""
    if session.scalar(sa.select(sa.func.count()).select_from(Staff)):
        return 0
    for code, name, province in SITES:
        if staffing.find_site(session, code) is None:
            staffing.add_site(session, code, name, province, ACTOR)
    for spec in STAFF:
        staffing.add_staff(session, spec, ACTOR)
    return len(STAFF)
