"""The records service: drafts, finalising, versions, the edit window, follow-ups, audit."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from helpline.config import DEFAULT_DATA_PATH
from helpline.models import (
    AuditEntry,
    CallbackRequest,
    CallerConsent,
    ContactRecord,
    ContactRecordVersion,
    Staff,
)
from helpline.records import service
from helpline.records.catalog import load_catalog
from helpline.records.service import FollowUpInput, RecordInput, ReferralInput
from tests.factories import Factory

CATALOG = load_catalog(DEFAULT_DATA_PATH)
TZ = "Europe/Istanbul"
T0 = dt.datetime(2030, 3, 3, 9, 0, tzinfo=dt.UTC)
NOTE = "She is afraid of her brother-in-law and sleeps at a neighbour's flat in Haliliye"
NOTE_WORDS = ("brother-in-law", "neighbour", "Haliliye")

COMPLETE = RecordInput(
    call_type="data",
    categories=("violence.domestic", "psychosocial.anxiety"),
    summary=NOTE,
    risk_level="medium",
    safety_plan=None,
)
SSC = "social_service_centre"


# --- the rules, without a database ------------------------------------------------------

RULES = [
    ("a complete counselling contact", COMPLETE, []),
    ("no call type", dataclasses.replace(COMPLETE, call_type=""), ["call_type"]),
    ("an unknown call type", dataclasses.replace(COMPLETE, call_type="chat"), ["call_type"]),
    ("no category", dataclasses.replace(COMPLETE, categories=()), ["categories"]),
    ("an unknown category", dataclasses.replace(COMPLETE, categories=("x.y",)), ["categories"]),
    ("a blank summary", dataclasses.replace(COMPLETE, summary="  \n "), ["summary"]),
    ("a summary too long", dataclasses.replace(COMPLETE, summary="a" * 20_001), ["summary"]),
    ("no risk level", dataclasses.replace(COMPLETE, risk_level=""), ["risk_level"]),
    ("an unknown risk level", dataclasses.replace(COMPLETE, risk_level="severe"), ["risk_level"]),
    ("high risk, safety plan unanswered", dataclasses.replace(COMPLETE, risk_level="high"),
     ["safety_plan"]),
    ("imminent risk, safety plan unanswered",
     dataclasses.replace(COMPLETE, risk_level="imminent"), ["safety_plan"]),
    ("imminent risk, no safety plan made",
     dataclasses.replace(COMPLETE, risk_level="imminent", safety_plan=False), []),
    ("high risk, a safety plan made",
     dataclasses.replace(COMPLETE, risk_level="high", safety_plan=True), []),
    ("a silent call needs nothing else", RecordInput(call_type="silent"), []),
    ("a hang-up", RecordInput(call_type="hang_up"), []),
    ("an abusive call", RecordInput(call_type="abusive"), []),
    ("information only", RecordInput(call_type="information_only"), []),
    ("a wrong number with leftovers, which are dropped",
     dataclasses.replace(COMPLETE, call_type="wrong_number", risk_level="", categories=()), []),
    ("an SSC referral from the directory",
     dataclasses.replace(COMPLETE, referrals=(
         ReferralInput(SSC, "Gaziantep", "Şahinbey Sosyal Hizmet Merkezi"),)), []),
    ("an SSC referral without a province",
     dataclasses.replace(COMPLETE, referrals=(ReferralInput(SSC),)), ["referrals-0-province"]),
    ("an SSC referral without a centre",
     dataclasses.replace(COMPLETE, referrals=(ReferralInput(SSC, "Hatay"),)),
     ["referrals-0-centre"]),
    ("an SSC referral to a centre of another province",
     dataclasses.replace(COMPLETE, referrals=(
         ReferralInput(SSC, "Hatay", "Şahinbey Sosyal Hizmet Merkezi"),)),
     ["referrals-0-centre"]),
    ("an SSC referral in a province not in the directory",
     dataclasses.replace(COMPLETE, referrals=(ReferralInput(SSC, "Atlantis", "Centre"),)),
     ["referrals-0-province"]),
    ("a ŞÖNİM referral with a free-text destination",
     dataclasses.replace(COMPLETE, referrals=(
         ReferralInput("violence_prevention_centre", "Şanlıurfa", destination="ŞÖNİM"),)), []),
    ("a 112 referral needs no destination",
     dataclasses.replace(COMPLETE, referrals=(ReferralInput("emergency_112"),)), []),
    ("a row with a destination but no kind",
     dataclasses.replace(COMPLETE, referrals=(ReferralInput("", destination="somewhere"),)),
     ["referrals-0-kind"]),
    ("an unknown referral kind",
     dataclasses.replace(COMPLETE, referrals=(ReferralInput("lawyer", destination="x"),)),
     ["referrals-0-kind"]),
    ("an empty referral row is ignored",
     dataclasses.replace(COMPLETE, referrals=(ReferralInput(""),)), []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "fields"), [case[1:] for case in RULES], ids=[case[0] for case in RULES]
)
def test_check_final_required_fields(data: RecordInput, fields: list[str]) -> None:
    """Finalising needs a call type; a counselling contact needs categories, a summary,
    a risk level, a safety-plan answer at high risk, and SSC referrals from the directory."""
    assert sorted(p.field for p in service.check_final(data, CATALOG)) == sorted(fields)


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        (RecordInput(), []),
        (RecordInput(summary="half a thought", referrals=(ReferralInput(SSC),)), []),
        (RecordInput(call_type="chat"), ["call_type"]),
        (RecordInput(risk_level="severe"), ["risk_level"]),
        (RecordInput(categories=("nope",)), ["categories"]),
        (RecordInput(referrals=(ReferralInput("lawyer"),)), ["referrals-0-kind"]),
        (RecordInput(referrals=(ReferralInput("police", destination="x" * 201),)),
         ["referrals-0-destination"]),
    ],
)  # fmt: skip
def test_check_draft_accepts_anything_half_done(data: RecordInput, fields: list[str]) -> None:
    """A draft holds whatever is half done; only values outside the vocabularies are refused."""
    assert sorted(p.field for p in service.check_draft(data, CATALOG)) == sorted(fields)


def test_follow_up_due_is_in_the_line_time_zone() -> None:
    local = dt.datetime(2030, 3, 4, 10, 30)  # noqa: DTZ001 - a wall-clock time
    assert service.follow_up_due(local, "Europe/Istanbul") == dt.datetime(
        2030, 3, 4, 7, 30, tzinfo=dt.UTC
    )
    assert service.follow_up_due(local, "Europe/Berlin") == dt.datetime(
        2030, 3, 4, 9, 30, tzinfo=dt.UTC
    )


# --- with a database --------------------------------------------------------------------


@dataclasses.dataclass
class Scene:
    counsellor: Staff
    other: Staff
    supervisor: Staff
    record: ContactRecord


def _scene(factory: Factory, *, language: str | None = "ar") -> Scene:
    counsellor = factory.staff("ayse", roles=("counsellor",), languages=("ar", "tr"))
    other = factory.staff("yusuf", roles=("counsellor",))
    supervisor = factory.staff("elif", roles=("supervisor",))
    caller = factory.caller("0532 111 22 33", language="tr")
    call = factory.call(
        caller, counsellor_id=counsellor.id, language=language, topic="psychosocial",
        answered_at=T0, started_at=T0,
    )  # fmt: skip
    record = service.create_draft(factory.session, by=counsellor, now=T0, call=call)
    factory.session.commit()
    return Scene(counsellor, other, supervisor, record)


def _versions(factory: Factory, record: ContactRecord) -> list[ContactRecordVersion]:
    return list(
        factory.session.scalars(
            sa.select(ContactRecordVersion)
            .where(ContactRecordVersion.contact_record_id == record.id)
            .order_by(ContactRecordVersion.version)
        )
    )


def _actions(factory: Factory) -> list[str]:
    return list(factory.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_record_lifecycle_draft_autosave_finalise_edit_lock(factory: Factory) -> None:
    """Drafts save in place with no version; finalising writes version 1, an edit version 2;
    after 24 hours the owner can no longer edit."""
    scene = _scene(factory)
    session, record, me = factory.session, scene.record, scene.counsellor
    assert (record.status, record.version, record.call_type, record.risk_level) == (
        "draft", 0, "", "",
    )  # fmt: skip
    common: dict[str, Any] = {"by": me, "catalog": CATALOG, "timezone": TZ}

    service.save_draft(session, record, RecordInput(summary="first words"), now=T0, **common)
    session.commit()
    service.save_draft(session, record, dataclasses.replace(COMPLETE, risk_level=""),
                       now=T0 + dt.timedelta(minutes=2), **common)  # fmt: skip
    session.commit()
    assert record.summary_encrypted == NOTE
    assert _versions(factory, record) == []

    finalised_at = T0 + dt.timedelta(minutes=5)
    first = service.finalise(session, record, COMPLETE, now=finalised_at, **common)
    session.commit()
    assert (record.status, record.version, record.finalised_at) == ("final", 1, finalised_at)
    assert (first.version, first.status, first.summary_encrypted) == (1, "final", NOTE)
    assert first.categories == ["psychosocial.anxiety", "violence.domestic"]

    changed = dataclasses.replace(COMPLETE, summary=NOTE + " She will call again.")
    second = service.edit(session, record, changed, now=finalised_at + dt.timedelta(hours=23),
                          **common)  # fmt: skip
    session.commit()
    assert second is not None
    assert (second.version, record.version) == (2, 2)
    versions = _versions(factory, record)
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].summary_encrypted == NOTE, "version 1 is never rewritten"

    unchanged = service.edit(session, record, changed, now=finalised_at + dt.timedelta(hours=23),
                             **common)  # fmt: skip
    assert unchanged is None
    assert record.version == 2

    with pytest.raises(service.RecordForbidden, match="24-hour"):
        service.edit(session, record, COMPLETE, now=finalised_at + dt.timedelta(hours=24), **common)
    session.rollback()
    with pytest.raises(service.RecordForbidden):
        service.edit(session, record, COMPLETE, by=scene.other, catalog=CATALOG, timezone=TZ,
                     now=finalised_at + dt.timedelta(hours=1))  # fmt: skip
    session.rollback()
    assert not service.can_edit(record, scene.supervisor, finalised_at)
    assert service.can_read(record, scene.supervisor)
    assert not service.can_read(record, scene.other)
    assert _actions(factory)[-3:] == [
        "contact_record_created",
        "contact_record_finalised",
        "contact_record_edited",
    ]
    edited = factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "contact_record_edited")
    ).one()
    assert edited.details == {"version": 2, "changed": ["summary"]}


def test_record_summary_is_encrypted_in_record_and_versions(factory: Factory) -> None:
    """The note exists only as ciphertext, in the record and in each version."""
    scene = _scene(factory)
    service.finalise(factory.session, scene.record, COMPLETE, by=scene.counsellor,
                     catalog=CATALOG, now=T0, timezone=TZ)  # fmt: skip
    factory.session.commit()
    connection = factory.session.connection()
    stored = [
        *connection.execute(sa.text("SELECT summary_encrypted FROM contact_record")).scalars(),
        *connection.execute(
            sa.text("SELECT summary_encrypted FROM contact_record_version")
        ).scalars(),
    ]
    assert len(stored) == 2
    assert all(value.startswith("gAAAA") and "neighbour" not in value for value in stored)


def test_record_audit_details_carry_no_note_text(factory: Factory) -> None:
    """Creating, finalising and editing are audited by id and field names, never the note."""
    scene = _scene(factory)
    common: dict[str, Any] = {"by": scene.counsellor, "catalog": CATALOG, "timezone": TZ}
    data = dataclasses.replace(
        COMPLETE,
        referrals=(ReferralInput(SSC, "Şanlıurfa", "Haliliye Sosyal Hizmet Merkezi"),),
        follow_up=FollowUpInput(dt.datetime(2030, 3, 4, 10, 30), consent=True),  # noqa: DTZ001
    )
    service.finalise(factory.session, scene.record, data, now=T0, **common)
    service.edit(factory.session, scene.record, dataclasses.replace(data, follow_up=None,
                 summary=NOTE + " Neighbour is helping."), now=T0, **common)  # fmt: skip
    factory.session.commit()
    entries = factory.session.scalars(sa.select(AuditEntry)).all()
    assert {"contact_record_created", "contact_record_finalised", "contact_record_edited",
            "follow_up_scheduled"} <= {e.action for e in entries}  # fmt: skip
    text = " ".join(f"{e.target_id} {e.details}" for e in entries)
    assert not [word for word in NOTE_WORDS if word.lower() in text.lower()]
    assert "5321112233" not in text


def test_record_non_data_call_keeps_only_its_type(factory: Factory) -> None:
    """Finalising a wrong-number call drops what was typed for a counselling contact."""
    scene = _scene(factory)
    common: dict[str, Any] = {"by": scene.counsellor, "catalog": CATALOG, "timezone": TZ}
    with_referral = dataclasses.replace(
        COMPLETE, referrals=(ReferralInput("police", destination="Karakol"),)
    )
    service.save_draft(factory.session, scene.record, with_referral, now=T0, **common)
    service.finalise(factory.session, scene.record,
                     dataclasses.replace(with_referral, call_type="wrong_number"),
                     now=T0, **common)  # fmt: skip
    factory.session.commit()
    record = scene.record
    assert (record.call_type, record.categories, record.summary_encrypted) == (
        "wrong_number", [], None,
    )  # fmt: skip
    assert (record.risk_level, record.referrals) == ("none", [])


def test_record_keeps_unchanged_referrals(factory: Factory) -> None:
    """An edit that keeps a referral keeps its row (and status); versions list them all."""
    scene = _scene(factory)
    common: dict[str, Any] = {"by": scene.counsellor, "catalog": CATALOG, "timezone": TZ}
    ssc = ReferralInput(SSC, "Gaziantep", "Nizip Sosyal Hizmet Merkezi")
    data = dataclasses.replace(COMPLETE, referrals=(ssc,))
    service.finalise(factory.session, scene.record, data, now=T0, **common)
    factory.session.commit()
    first_id = scene.record.referrals[0].id
    both = dataclasses.replace(data, referrals=(ssc, ReferralInput("health", destination="ASM")))
    service.edit(factory.session, scene.record, both, now=T0, **common)
    factory.session.commit()
    assert scene.record.referrals[0].id == first_id
    latest = _versions(factory, scene.record)[-1]
    assert latest.referrals == [
        {"kind": SSC, "province": "Gaziantep", "destination": "Nizip Sosyal Hizmet Merkezi",
         "status": "proposed"},
        {"kind": "health", "province": None, "destination": "ASM", "status": "proposed"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("timezone", "due"),
    [
        ("Europe/Istanbul", dt.datetime(2030, 3, 4, 7, 30, tzinfo=dt.UTC)),
        ("America/New_York", dt.datetime(2030, 3, 4, 15, 30, tzinfo=dt.UTC)),
    ],
)
def test_follow_up_creates_callback_in_line_time_zone(
    factory: Factory, timezone: str, due: dt.datetime
) -> None:
    """A follow-up is a callback: reason follow_up, the call's language, this counsellor
    preferred, due at the local time chosen, expiring three days later; consent recorded."""
    scene = _scene(factory)
    local = dt.datetime(2030, 3, 4, 10, 30)  # noqa: DTZ001 - a wall-clock time
    callback = service.schedule_follow_up(
        factory.session, scene.record, FollowUpInput(local, consent=True),
        by=scene.counsellor, now=T0, timezone=timezone,
    )  # fmt: skip
    factory.session.commit()
    stored = factory.session.get(CallbackRequest, callback.id)
    assert stored is not None
    assert (stored.reason, stored.language, stored.status) == ("follow_up", "ar", "pending")
    assert (stored.preferred_staff_id, stored.assigned_staff_id) == (scene.counsellor.id, None)
    assert (stored.caller_id, stored.call_id, stored.contact_record_id) == (
        scene.record.caller_id, scene.record.call_id, scene.record.id,
    )  # fmt: skip
    assert (stored.due_from, stored.next_attempt_at) == (due, due)
    assert stored.expires_at == due + dt.timedelta(days=3)
    assert stored.topic == "psychosocial"
    assert scene.record.follow_up_at == due
    consent = factory.session.scalars(sa.select(CallerConsent)).one()
    assert (consent.kind, consent.is_granted, consent.source) == ("follow_up", True, "console")


def test_follow_up_uses_caller_language_when_call_has_none(factory: Factory) -> None:
    scene = _scene(factory, language=None)
    callback = service.schedule_follow_up(
        factory.session, scene.record,
        FollowUpInput(dt.datetime(2030, 3, 4, 10, 30), consent=True),  # noqa: DTZ001
        by=scene.counsellor, now=T0, timezone=TZ,
    )  # fmt: skip
    assert callback.language == "tr"


@pytest.mark.parametrize(
    ("local", "consent", "field"),
    [
        (dt.datetime(2030, 3, 4, 10, 30), False, "follow_up_consent"),  # noqa: DTZ001
        (dt.datetime(2030, 3, 3, 11, 0), True, "follow_up_at"),  # noqa: DTZ001 - in the past
        (dt.datetime(2030, 5, 1, 10, 0), True, "follow_up_at"),  # noqa: DTZ001 - too far
    ],
)
def test_follow_up_refused(factory: Factory, local: dt.datetime, consent: bool, field: str) -> None:
    """No follow-up without the caller's consent, in the past, or beyond 30 days."""
    scene = _scene(factory)
    with pytest.raises(service.RecordInvalid) as raised:
        service.schedule_follow_up(factory.session, scene.record, FollowUpInput(local, consent),
                                   by=scene.counsellor, now=T0, timezone=TZ)  # fmt: skip
    assert [p.field for p in raised.value.problems] == [field]
    assert factory.session.scalars(sa.select(CallbackRequest)).all() == []


def test_follow_up_needs_a_caller(factory: Factory) -> None:
    """An out-of-call contact has no number to call back."""
    counsellor = factory.staff("ayse")
    record = service.create_draft(factory.session, by=counsellor, now=T0)
    with pytest.raises(service.RecordInvalid, match="1 field"):
        service.schedule_follow_up(
            factory.session, record,
            FollowUpInput(dt.datetime(2030, 3, 4, 10, 30), True),  # noqa: DTZ001
            by=counsellor, now=T0, timezone=TZ,
        )  # fmt: skip


def test_follow_up_only_one_open_at_a_time(factory: Factory) -> None:
    scene = _scene(factory)
    follow_up = FollowUpInput(dt.datetime(2030, 3, 4, 10, 30), True)  # noqa: DTZ001
    kwargs: dict[str, Any] = {"by": scene.counsellor, "now": T0, "timezone": TZ}
    service.schedule_follow_up(factory.session, scene.record, follow_up, **kwargs)
    with pytest.raises(service.RecordInvalid, match="1 field"):
        service.schedule_follow_up(factory.session, scene.record, follow_up, **kwargs)


def test_create_draft_only_by_the_call_counsellor(factory: Factory) -> None:
    """Only the counsellor who took a call starts its record; a call has one record."""
    scene = _scene(factory)
    call_id = scene.record.call_id
    assert call_id is not None
    from helpline.models import Call

    call = factory.session.get(Call, call_id)
    assert call is not None
    with pytest.raises(service.RecordForbidden):
        service.create_draft(factory.session, by=scene.other, now=T0, call=call)
    interpreter = factory.staff("ahmad", roles=("interpreter",))
    call.counsellor_id = interpreter.id
    with pytest.raises(service.RecordForbidden):
        service.create_draft(factory.session, by=interpreter, now=T0, call=call)
    call.counsellor_id = scene.counsellor.id
    again = service.create_draft(factory.session, by=scene.counsellor, now=T0, call=call)
    assert again.id == scene.record.id


def test_caller_history_is_audited_and_need_to_know(factory: Factory) -> None:
    """Counsellors who dealt with the caller, and supervisors, see the history; audited."""
    scene = _scene(factory)
    assert scene.record.caller_id is not None
    from helpline.models import Caller

    caller = factory.session.get(Caller, scene.record.caller_id)
    assert caller is not None
    with pytest.raises(service.RecordForbidden):
        service.caller_history(factory.session, caller, by=scene.other)
    records = service.caller_history(factory.session, caller, by=scene.counsellor)
    assert [r.id for r in records] == [scene.record.id]
    assert service.caller_history(factory.session, caller, by=scene.supervisor)
    factory.session.commit()
    entries = factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "caller_history_viewed")
    ).all()
    assert [(e.actor_id, e.target_type, e.target_id) for e in entries] == [
        (scene.counsellor.id, "caller", str(caller.id)),
        (scene.supervisor.id, "caller", str(caller.id)),
    ]


def test_reveal_number_gated_and_audited(factory: Factory) -> None:
    """The owner and supervisors see the whole number; each time is audited without it."""
    scene = _scene(factory)
    assert service.reveal_number(factory.session, scene.record, by=scene.counsellor) == (
        "+905321112233"
    )
    assert service.reveal_number(factory.session, scene.record, by=scene.supervisor)
    with pytest.raises(service.RecordForbidden):
        service.reveal_number(factory.session, scene.record, by=scene.other)
    factory.session.commit()
    entries = factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "number_revealed")
    ).all()
    assert len(entries) == 2
    assert all(e.target_type == "caller" and "532" not in str(e.details) for e in entries)
