"""A small line with known people, calls, contacts, referrals, cases, wellbeing measures,
callbacks and staff presence, for the programme report's hand-counted tests.

November 2026 in Europe/Istanbul (UTC+3) is [2026-10-31 21:00, 2026-11-30 21:00) UTC.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

from helpline.models import (
    Call,
    CallbackRequest,
    CallEvent,
    Case,
    CaseStatusChange,
    ContactRecord,
    Person,
    PersonNumber,
    PresenceChange,
    Referral,
    ReferralStep,
    Site,
    Staff,
    WellbeingMeasure,
)
from tests.factories import Factory

FIRST, LAST = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
WG_NONE = {
    f"wg_{d}": "no_difficulty"
    for d in ("hearing", "walking", "remembering", "self_care", "communicating")
}


def at(day: int, hour: float = 12, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, tzinfo=dt.UTC) + dt.timedelta(hours=hour)


@dataclasses.dataclass
class SmallLine:
    site_a: Site
    site_b: Site
    c1: Staff
    c2: Staff
    i1: Staff


def build(factory: Factory) -> SmallLine:
    session = factory.session
    site_a = factory.site("IST-1", province="Istanbul")
    site_b = factory.site("GAZ-1", province="Gaziantep")
    c1 = factory.staff("cns1", site=site_a, languages=("ar",), password=None)
    c2 = factory.staff("cns2", site=site_b, password=None)
    factory.staff("cns3", site=site_b, password=None)  # never present, never answers
    i1 = factory.staff("int1", roles=("interpreter",), site=site_a, password=None)
    k1, k2, k3, k4, k5 = (factory.caller(f"0532 000 00 0{n}") for n in range(1, 6))

    p1 = Person(  # female, 18-25, SY, temporary protection, Gaziantep, with disability
        gender="female",
        age_group="18_25",
        nationality="SY",
        legal_status="temporary_protection",
        province="Gaziantep",
        wg_seeing="a_lot_of_difficulty",
        **WG_NONE,
        languages=[],
        declined=[],
    )
    p2 = Person(  # female, born 1990 (26-59), SY, temporary protection, no disability
        gender="female",
        birth_year=1990,
        nationality="SY",
        legal_status="temporary_protection",
        province="Gaziantep",
        wg_seeing="no_difficulty",
        **WG_NONE,
        languages=[],
        declined=[],
    )
    p3 = Person(  # gender and province declined, age unknown, AF, disability unknown
        nationality="AF",
        legal_status="international_protection",
        wg_seeing="no_difficulty",
        languages=[],
        declined=["gender", "province"],
    )
    p4 = Person(gender="male", languages=[], declined=[])  # k4 is a family's phone:
    p5 = Person(gender="female", languages=[], declined=[])  # p4 and p5
    session.add_all([p1, p2, p3, p4, p5])
    session.flush()
    session.add_all(
        [
            PersonNumber(person_id=p1.id, caller_id=k1.id),
            PersonNumber(person_id=p2.id, caller_id=k2.id),
            PersonNumber(person_id=p3.id, caller_id=k3.id),
            PersonNumber(person_id=p4.id, caller_id=k4.id),
            PersonNumber(person_id=p5.id, caller_id=k4.id),
            # an ended link does not count: k5 is linked to nobody now
            PersonNumber(person_id=p3.id, caller_id=k5.id, unlinked_at=at(1, month=10)),
        ]
    )

    def call(caller: object, start: dt.datetime, **fields: object) -> Call:
        made = Call(
            call_sid="CA" + secrets.token_hex(16), caller=caller, started_at=start, **fields
        )
        session.add(made)
        return made

    def answered(start: dt.datetime, minutes: float) -> dict[str, object]:
        return {
            "queued_at": start + dt.timedelta(minutes=1),
            "answered_at": start + dt.timedelta(minutes=2),
            "ended_at": start + dt.timedelta(minutes=2 + minutes),
            "outcome": "answered",
        }

    call1 = call(
        k1,
        at(2, 10),
        site_id=site_a.id,
        language="ar",
        counsellor_id=c1.id,
        interpreter_id=i1.id,
        **answered(at(2, 10), 30),
    )
    call2 = call(
        k1,
        at(3, 10),
        site_id=site_a.id,
        language="ar",
        counsellor_id=c1.id,
        **answered(at(3, 10), 10),
    )
    # 00:30 on 1 November in Istanbul: inside the period
    call3 = call(
        k2,
        at(31, 21.5, month=10),
        site_id=site_b.id,
        language="tr",
        counsellor_id=c2.id,
        **answered(at(31, 21.5, month=10), 5),
    )
    call4 = call(
        k2,
        at(4, 9),
        language="tr",
        queued_at=at(4, 9.01),
        ended_at=at(4, 9.1),
        outcome="abandoned_queue",
    )
    call5 = call(
        k3,
        at(5, 11),
        site_id=site_a.id,
        language="fa",
        counsellor_id=c1.id,
        interpreter_id=i1.id,
        **answered(at(5, 11), 15),
    )
    call6 = call(
        k4,
        at(6, 11),
        language="ar",
        queued_at=at(6, 11.01),
        ended_at=at(6, 11.1),
        outcome="callback_requested",
    )
    call7 = call(k5, at(7, 23), language="ar", ended_at=at(7, 23.05), outcome="voicemail")
    call8 = call(
        None,
        at(8, 12),
        site_id=site_b.id,
        language="tr",
        counsellor_id=c2.id,
        is_number_withheld=True,
        **answered(at(8, 12), 5),
    )
    call(
        k1,
        at(9, 12),
        direction="outbound",
        site_id=site_a.id,
        language="ar",
        counsellor_id=c1.id,
        answered_at=at(9, 12.01),
        ended_at=at(9, 12.2),
        outcome="answered",
    )
    call(
        k3,
        at(20, 12, month=10),
        site_id=site_a.id,
        language="fa",
        **answered(at(20, 12, month=10), 5),
    )
    # 00:30 on 1 December in Istanbul: outside
    call(k2, at(30, 21.5), site_id=site_b.id, language="tr", **answered(at(30, 21.5), 5))
    session.flush()
    session.add_all(
        [
            CallEvent(
                call_id=call7.id,
                kind="hours_checked",
                source="ivr",
                occurred_at=at(7, 23.01),
                data={"schedule": "counselling_hours", "open": False},
            ),
            CallEvent(
                call_id=call1.id,
                kind="hours_checked",
                source="ivr",
                occurred_at=at(2, 10.01),
                data={"schedule": "counselling_hours", "open": True},
            ),
        ]
    )

    def record(
        number: object, on: Call | None, counsellor: Staff, created: dt.datetime, **fields: object
    ) -> ContactRecord:
        made = ContactRecord(
            caller_id=getattr(number, "id", None),
            call_id=on.id if on else None,
            counsellor_id=counsellor.id,
            created_at=created,
            updated_at=created,
            **{"status": "final", **fields},
        )
        session.add(made)
        return made

    r1 = record(
        k1,
        call1,
        c1,
        at(2, 11),
        call_type="data",
        risk_level="high",
        categories=["psychosocial.anxiety", "psychosocial.grief", "violence.domestic"],
    )
    r2 = record(
        k2,
        call3,
        c2,
        at(1, 0),
        call_type="data",
        risk_level="low",
        categories=["psychosocial.anxiety"],
    )
    record(
        k3,
        call5,
        c1,
        at(5, 12),
        call_type="information_only",
        risk_level="none",
        categories=["psychosocial"],
    )
    record(None, call8, c2, at(8, 13), call_type="silent", risk_level="none", categories=[])
    record(k1, call2, c1, at(3, 11), status="draft", call_type="data", categories=["psychosocial"])
    record(k3, None, c1, at(20, 13, month=10), call_type="data", categories=["psychosocial"])
    session.flush()

    def referral(
        on: ContactRecord,
        kind: str,
        created: dt.datetime,
        steps: list[tuple[str, dt.datetime]],
        **fields: object,
    ) -> None:
        made = Referral(
            contact_record_id=on.id,
            kind=kind,
            created_at=created,
            status=steps[-1][0] if steps else "proposed",
            status_at=steps[-1][1] if steps else created,
            **fields,
        )
        session.add(made)
        session.flush()
        session.add_all(
            [ReferralStep(referral_id=made.id, status="proposed", at=created, by_id=c1.id)]
        )
        session.add_all(
            [ReferralStep(referral_id=made.id, status=s, at=t, by_id=c1.id) for s, t in steps]
        )

    referral(
        r1,
        "social_service_centre",
        at(2, 12),
        [
            ("consented", at(2, 13)),
            ("sent", at(3, 9)),
            ("accepted", at(4, 9)),
            ("service_provided", at(6, 9)),
        ],
        site_id=site_b.id,
        province="Gaziantep",
    )
    referral(
        r2,
        "health",
        at(5, 9),
        [("consented", at(5, 10)), ("sent", at(5, 11)), ("service_provided", at(20, 11))],
        destination="Free text hospital",
    )
    referral(r1, "police", at(10, 9), [])
    referral(
        r2,
        "social_service_centre",
        at(20, 9, month=10),
        [
            ("consented", at(20, 10, month=10)),
            ("sent", at(21, 9, month=10)),
            ("declined", at(2, 9)),
        ],
        site_id=site_b.id,
        province="Gaziantep",
    )

    def case(
        person: Person,
        worker: Staff,
        site: Site,
        opened: dt.datetime,
        closed: tuple[dt.datetime, str] | None = None,
    ) -> Case:
        made = Case(
            reference=f"CS-{secrets.token_hex(4)}",
            person_id=person.id,
            worker_id=worker.id,
            site_id=site.id,
            opened_at=opened,
            status="closed" if closed else "active",
            closed_at=closed[0] if closed else None,
            closure_reason=closed[1] if closed else None,
        )
        session.add(made)
        session.flush()
        if closed:
            session.add(
                CaseStatusChange(
                    case_id=made.id,
                    from_status="active",
                    to_status="closed",
                    closure_reason=closed[1],
                    changed_at=closed[0],
                )
            )
        return made

    case_1 = case(p1, c1, site_a, at(1, 0, month=10), (at(11, 0), "goals_met"))  # 41 days
    case_2 = case(p2, c2, site_b, at(3, 9))
    case_3 = case(p3, c1, site_a, at(5, 0), (at(25, 0), "no_contact"))  # 20 days
    case(p1, c1, site_a, at(1, 0, month=9), (at(30, 0, month=9), "duplicate"))
    case(p2, c2, site_b, at(5, 9, month=12))

    def measure(person: Person, on: Case | None, taken: dt.datetime, raw: int) -> None:
        session.add(
            WellbeingMeasure(
                person_id=person.id,
                case_id=on.id if on else None,
                occasion="follow_up",
                language="tr",
                answers=[0, 0, 0, 0, 0],
                raw_score=raw,
                percentage=raw * 4,
                taken_at=taken,
            )
        )

    measure(p1, case_1, at(1, month=10), 10)  # 40
    measure(p1, case_1, at(10), 14)  # 56: +16, improved
    measure(p2, case_2, at(3), 15)  # 60
    measure(p2, case_2, at(20), 16)  # 64: +4
    measure(p3, case_3, at(5), 5)  # one measure only
    measure(p4, None, at(1, month=9), 7)
    measure(p4, None, at(1, month=10), 12)  # latest before the period
    measure(p5, None, at(2), 5)
    measure(p5, None, at(2, month=12), 15)  # latest after the period: not seen

    def callback(
        number: object, reason: str, due: dt.datetime, status: str, **fields: object
    ) -> None:
        session.add(
            CallbackRequest(
                caller_id=getattr(number, "id", None),
                reason=reason,
                language="ar",
                due_from=due,
                expires_at=due + dt.timedelta(days=3),
                next_attempt_at=due,
                status=status,
                **{"created_at": due, **fields},
            )
        )

    callback(k4, "queue_key", at(5, 10), "completed", call_id=call6.id, completed_at=at(5, 12))
    callback(
        k5,
        "out_of_hours",
        at(9, 9),
        "completed",
        call_id=call7.id,
        created_at=at(8, 22),
        completed_at=at(9, 9),
    )
    callback(
        k1, "follow_up", at(20, 9), "pending", preferred_staff_id=c1.id, contact_record_id=r1.id
    )
    callback(k2, "abandoned", at(4, 10), "failed", call_id=call4.id)
    callback(k2, "abandoned", at(4, 10, month=10), "completed", completed_at=at(4, 11, month=10))

    session.add_all(
        [
            PresenceChange(staff_id=c1.id, state="available", changed_at=at(31, 20, month=10)),
            PresenceChange(staff_id=c1.id, state="offline", changed_at=at(1, 1)),  # 4 h
            PresenceChange(staff_id=c1.id, state="available", changed_at=at(2, 9)),
            PresenceChange(staff_id=c1.id, state="break", changed_at=at(2, 11)),  # 2 h
            PresenceChange(staff_id=c1.id, state="available", changed_at=at(2, 12)),
            PresenceChange(staff_id=c1.id, state="offline", changed_at=at(2, 13)),  # 1 h
            PresenceChange(staff_id=i1.id, state="busy", changed_at=at(3, 8)),
            PresenceChange(staff_id=i1.id, state="offline", changed_at=at(3, 9.5)),  # 1.5 h
        ]
    )
    session.commit()
    return SmallLine(site_a, site_b, c1, c2, i1)
