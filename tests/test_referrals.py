"""Referrals, closed loop: the state machine, who takes which step, the focal point's
scope, overdue lists, the audited number reveal, retention of referral notes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpline.config import DEFAULT_DATA_PATH
from helpline.models import Referral, ReferralStep, Staff
from helpline.models.enums import ReferralStatus as S
from helpline.privacy import retention
from helpline.records import catalog as catalogs
from helpline.records import service as records
from helpline.records.service import RecordInput, ReferralInput
from helpline.referrals import queries, service, states
from helpline.staff import accounts as staffing
from tests.factories import TEST_ACTOR, Factory

CATALOG = catalogs.load_catalog(DEFAULT_DATA_PATH)
T0 = dt.datetime(2030, 3, 3, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
REASON = "Kapasite dolu, Şehitkamil merkezine yönlendirin"
SERVICE_NOTE = "Ev ziyareti yapıldı, kira yardımı başvurusu alındı"
NUMBER = "+905321112233"
CONSENT = service.Consent("mornings", "ar")


# --- the state machine, without a database -----------------------------------------------

TRANSITIONS = [
    (S.PROPOSED, S.CONSENTED, True),
    (S.PROPOSED, S.SENT, False),
    (S.PROPOSED, S.CLOSED, True),
    (S.CONSENTED, S.SENT, True),
    (S.CONSENTED, S.ACCEPTED, False),
    (S.SENT, S.ACCEPTED, True),
    (S.SENT, S.DECLINED, True),
    (S.SENT, S.CLOSED, False),
    (S.ACCEPTED, S.SERVICE_PROVIDED, True),
    (S.ACCEPTED, S.DECLINED, False),
    (S.DECLINED, S.CLOSED, True),
    (S.DECLINED, S.SERVICE_PROVIDED, False),
    (S.SERVICE_PROVIDED, S.CLOSED, True),
    (S.CLOSED, S.PROPOSED, False),
    (S.CLOSED, S.CONSENTED, False),
]


@pytest.mark.parametrize(("current", "wanted", "allowed"), TRANSITIONS)
def test_states_transitions(current: S, wanted: S, allowed: bool) -> None:
    """Only the loop's transitions are allowed; the rest are refused with a reason."""
    if allowed:
        states.check_step(current.value, wanted)
    else:
        with pytest.raises(states.StepRefused):
            states.check_step(current.value, wanted)


def test_states_send_needs_consent() -> None:
    """A proposed referral cannot be sent: the refusal says to record consent first."""
    with pytest.raises(states.StepRefused, match="consent"):
        states.check_step(S.PROPOSED.value, S.SENT)


def test_states_due_and_overdue() -> None:
    """The next step is due `act_within_days` after a step; a closed referral is never due."""
    assert states.due_after(S.SENT, T0, 5) == T0 + 5 * DAY
    assert states.due_after(S.CLOSED, T0, 5) is None
    assert states.is_overdue(S.SENT.value, T0, T0)
    assert not states.is_overdue(S.SENT.value, T0 + DAY, T0)
    assert not states.is_overdue(S.CLOSED.value, T0 - DAY, T0)


def test_states_parties() -> None:
    """The case worker consents, sends and closes; the destination answers."""
    assert {step for step, who in states.TAKEN_BY.items() if who is states.Party.DESTINATION} == {
        S.ACCEPTED,
        S.DECLINED,
        S.SERVICE_PROVIDED,
    }


# --- the catalog ------------------------------------------------------------------------


def test_catalog_reads_act_within_days_and_site_links() -> None:
    """Each kind has its period; the directory links Şahinbey to the GAZ-SHB site."""
    assert CATALOG.act_within_days("social_service_centre") == 5
    assert CATALOG.act_within_days("police") == 1
    centre = CATALOG.centre("Gaziantep", "Şahinbey Sosyal Hizmet Merkezi")
    assert centre is not None
    assert centre.site_code == "GAZ-SHB"


@pytest.mark.parametrize(
    ("value", "problem"),
    [("", "needs `act_within_days:`"), ("0", "1 to 365"), ("366", "1 to 365"), ("x", "whole")],
)
def test_catalog_refuses_a_bad_act_within_days(tmp_path: Path, value: str, problem: str) -> None:
    """A kind without a usable period is a problem naming the file and line."""
    for name in (catalogs.CATEGORIES_FILE, catalogs.DIRECTORY_FILE, catalogs.REFERRALS_FILE):
        (tmp_path / name).write_text((DEFAULT_DATA_PATH / name).read_text("utf-8"), "utf-8")
    path = tmp_path / catalogs.REFERRALS_FILE
    text = path.read_text("utf-8").replace(
        "    act_within_days: 1\n", f"    act_within_days: {value}\n" if value else "", 1
    )
    path.write_text(text, "utf-8")
    _catalog, problems = catalogs.read(tmp_path)
    assert len(problems) == 1
    assert problems[0].path.endswith("referrals.yaml")
    assert problem in problems[0].message


# --- the loop, on a database ------------------------------------------------------------


@dataclasses.dataclass
class Scene:
    owner: Staff
    other_counsellor: Staff
    focal: Staff
    other_focal: Staff
    interpreter: Staff
    supervisor: Staff
    referral: Referral


def _scene(factory: Factory, **referral: str | None) -> Scene:
    gaziantep = factory.site("GAZ-SHB", "Gaziantep")
    istanbul = factory.site("IST-ESY", "İstanbul")
    ankara = factory.site("ANK-ALT", "Ankara")
    owner = factory.staff("owner", site=ankara, password=None)
    caller = factory.caller(NUMBER, language="ar")
    call = factory.call(caller, counsellor_id=owner.id, answered_at=T0, language="ar")
    record = factory.contact_record(call, owner, ["first words"])
    return Scene(
        owner=owner,
        other_counsellor=factory.staff("other", site=gaziantep, password=None),
        focal=factory.staff(
            "focal", roles=("ssc_focal_point",), site=gaziantep, languages=(), password=None
        ),
        other_focal=factory.staff(
            "focal2", roles=("ssc_focal_point",), site=istanbul, languages=(), password=None
        ),
        interpreter=factory.staff("interp", roles=("interpreter",), site=gaziantep, password=None),
        supervisor=factory.staff("sup", roles=("supervisor",), password=None),
        referral=factory.referral(record, at=T0, **referral),  # type: ignore[arg-type]
    )


def _to_sent(factory: Factory, scene: Scene, at: dt.datetime = T0) -> None:
    session, referral = factory.session, scene.referral
    service.record_consent(session, referral, CONSENT, by=scene.owner, now=at, catalog=CATALOG)
    service.send(session, referral, by=scene.owner, now=at, catalog=CATALOG)
    session.commit()


def test_referral_loop_dated_steps_by_whom(factory: Factory) -> None:
    """Consent, send (reaching the centre's site), accept, service, close: each step is a
    row with its time and who took it; the next step falls due by the kind's period; the
    audit log names each step and holds no note."""
    scene = _scene(factory)
    session, referral = factory.session, scene.referral
    service.record_consent(session, referral, CONSENT, by=scene.owner, now=T0, catalog=CATALOG)
    assert (referral.contact_preference, referral.language) == ("mornings", "ar")
    service.send(session, referral, by=scene.owner, now=T0 + DAY, catalog=CATALOG)
    assert referral.site_id == scene.focal.site_id
    assert referral.due_at == T0 + DAY + 5 * DAY
    service.accept(session, referral, by=scene.focal, now=T0 + 2 * DAY, catalog=CATALOG)
    provided = service.Service((T0 + 3 * DAY).date(), "Home visit", SERVICE_NOTE)
    service.record_service(
        session, referral, provided, by=scene.focal, now=T0 + 3 * DAY, catalog=CATALOG
    )
    service.close(session, referral, by=scene.owner, now=T0 + 4 * DAY, catalog=CATALOG)
    session.commit()
    session.expire_all()
    steps = session.scalars(
        sa.select(ReferralStep).where(ReferralStep.referral_id == referral.id).order_by("id")
    ).all()
    assert [(s.status, s.by_id, s.at) for s in steps] == [
        ("proposed", scene.owner.id, T0),
        ("consented", scene.owner.id, T0),
        ("sent", scene.owner.id, T0 + DAY),
        ("accepted", scene.focal.id, T0 + 2 * DAY),
        ("service_provided", scene.focal.id, T0 + 3 * DAY),
        ("closed", scene.owner.id, T0 + 4 * DAY),
    ]
    closed = session.get(Referral, referral.id)
    assert closed is not None
    assert (closed.status, closed.due_at) == ("closed", None)
    assert referral.service_note_encrypted == SERVICE_NOTE
    stored = session.scalar(
        sa.text("SELECT service_note_encrypted FROM referral WHERE id = :id"), {"id": referral.id}
    )
    assert "Ev ziyareti" not in stored
    entries = factory.audit_entries("referral_step")
    assert [e.details["status"] for e in entries] == [
        "consented",
        "sent",
        "accepted",
        "service_provided",
        "closed",
    ]
    assert "Ev ziyareti" not in str([e.details for e in entries])


def test_referral_cannot_be_sent_without_consent(factory: Factory) -> None:
    """Sending a proposed referral is refused and changes nothing."""
    scene = _scene(factory)
    with pytest.raises(service.ReferralError, match="consent"):
        service.send(factory.session, scene.referral, by=scene.owner, now=T0, catalog=CATALOG)
    assert scene.referral.status == "proposed"
    assert scene.referral.site_id is None


def test_referral_focal_point_sees_only_what_was_sent_to_its_centre(factory: Factory) -> None:
    """Before sending, no focal point may read it; after, only the focal point of the
    centre it was sent to. An interpreter, a counsellor of another site and the focal
    point of another centre never may; a supervisor reads but takes no step."""
    scene = _scene(factory)
    referral = scene.referral

    def readers() -> set[str]:
        everyone = (
            scene.owner,
            scene.other_counsellor,
            scene.focal,
            scene.other_focal,
            scene.interpreter,
            scene.supervisor,
        )
        return {s.username for s in everyone if service.allows("referral.read", referral, s, T0)}

    assert readers() == {"owner", "sup"}
    _to_sent(factory, scene)
    assert readers() == {"owner", "sup", "focal"}
    assert service.next_steps(referral, scene.focal, T0) == [S.ACCEPTED, S.DECLINED]
    for nobody in (scene.other_focal, scene.interpreter, scene.other_counsellor, scene.supervisor):
        assert service.next_steps(referral, nobody, T0) == []
        with pytest.raises(service.ReferralForbidden):
            service.accept(factory.session, referral, by=nobody, now=T0, catalog=CATALOG)
        with pytest.raises(service.ReferralForbidden):
            service.reveal_number(factory.session, referral, by=nobody, now=T0)
    # The case worker does not answer for a centre that has its own focal point.
    assert service.next_steps(referral, scene.owner, T0) == []
    with pytest.raises(service.ReferralForbidden):
        service.accept(factory.session, referral, by=scene.owner, now=T0, catalog=CATALOG)


def test_referral_focal_point_takes_no_case_worker_step(factory: Factory) -> None:
    """A focal point cannot record consent, send or close."""
    scene = _scene(factory)
    with pytest.raises(service.ReferralForbidden):
        service.record_consent(
            factory.session, scene.referral, CONSENT, by=scene.focal, now=T0, catalog=CATALOG
        )


def test_referral_to_another_service_is_answered_by_the_case_worker(factory: Factory) -> None:
    """A destination that is not one of the helpline's sites (the police) has no focal
    point: the case worker records its answer; no focal point ever sees it."""
    scene = _scene(factory, kind="police", province=None, destination="Şahinbey Karakolu")
    _to_sent(factory, scene)
    referral = scene.referral
    assert referral.site_id is None
    assert service.next_steps(referral, scene.owner, T0) == [S.ACCEPTED, S.DECLINED]
    assert not service.allows("referral.read", referral, scene.focal, T0)
    service.accept(factory.session, referral, by=scene.owner, now=T0, catalog=CATALOG)
    assert referral.due_at == T0 + 1 * DAY  # police: act within 1 day


def test_referral_decline_needs_a_reason_kept_encrypted(factory: Factory) -> None:
    """Declining without a reason is refused; the reason is stored encrypted and the
    audit entry says only that there was one."""
    scene = _scene(factory)
    _to_sent(factory, scene)
    session, referral = factory.session, scene.referral
    with pytest.raises(service.ReferralError, match="reason"):
        service.decline(session, referral, "  ", by=scene.focal, now=T0, catalog=CATALOG)
    service.decline(session, referral, REASON, by=scene.focal, now=T0, catalog=CATALOG)
    session.commit()
    assert referral.steps[-1].note_encrypted == REASON
    raw = session.scalar(
        sa.text("SELECT note_encrypted FROM referral_step WHERE status = 'declined'")
    )
    assert "Kapasite" not in raw
    entry = factory.audit_entries("referral_step")[-1]
    assert entry.details["with_note"] is True
    assert "Kapasite" not in str(entry.details)
    service.close(session, referral, by=scene.owner, now=T0 + DAY, catalog=CATALOG)
    assert referral.status == "closed"


def test_referral_service_day_between_sending_and_today(factory: Factory) -> None:
    """The service's day cannot be before the referral was sent, nor in the future."""
    scene = _scene(factory)
    _to_sent(factory, scene, at=T0 + DAY)
    session, referral = factory.session, scene.referral
    service.accept(session, referral, by=scene.focal, now=T0 + DAY, catalog=CATALOG)
    for day in (T0.date(), (T0 + 5 * DAY).date()):
        with pytest.raises(service.ReferralError, match="between"):
            service.record_service(
                session,
                referral,
                service.Service(day, "Visit"),
                by=scene.focal,
                now=T0 + 2 * DAY,
                catalog=CATALOG,
            )


def test_referral_reveal_number_for_the_focal_point_is_audited(factory: Factory) -> None:
    """The focal point of the centre sees the whole number; the reveal is audited with the
    referral, and the number is in no audit entry."""
    scene = _scene(factory)
    _to_sent(factory, scene)
    number = service.reveal_number(factory.session, scene.referral, by=scene.focal, now=T0)
    factory.session.commit()
    assert number == NUMBER
    entry = factory.audit_entries("number_revealed")[-1]
    assert entry.details == {"referral_id": scene.referral.id}
    assert entry.actor_id == scene.focal.id
    assert "5321112233" not in str(entry.details)


def test_referral_view_is_audited(factory: Factory) -> None:
    """Opening a referral is audited; one who may not read it is refused, unaudited."""
    scene = _scene(factory)
    _to_sent(factory, scene)
    service.open_referral(factory.session, scene.referral, by=scene.focal, now=T0)
    with pytest.raises(service.ReferralForbidden):
        service.open_referral(factory.session, scene.referral, by=scene.other_focal, now=T0)
    factory.session.commit()
    viewed = factory.audit_entries("referral_viewed")
    assert [e.actor_id for e in viewed] == [scene.focal.id]


def test_referral_lists_for_the_focal_point_and_overdue(factory: Factory) -> None:
    """The focal point's list holds what was sent to its centre, overdue first, and is
    audited; overdue lists: the case worker's own, every one (a site's) for supervisors;
    an interpreter and a focal point have none."""
    scene = _scene(factory)
    session = factory.session
    record = scene.referral.contact_record
    _to_sent(factory, scene, at=T0)
    later = factory.referral(record, at=T0)
    service.record_consent(session, later, CONSENT, by=scene.owner, now=T0, catalog=CATALOG)
    service.send(session, later, by=scene.owner, now=T0 + 4 * DAY, catalog=CATALOG)
    unsent = factory.referral(record, at=T0)
    session.commit()
    now = T0 + 6 * DAY  # the first is overdue (due T0+5), the second not (T0+9)
    rows = queries.list_for_focal_point(session, by=scene.focal, now=now)
    assert [(r.id, r.is_overdue) for r in rows] == [
        (scene.referral.id, True),
        (later.id, False),
    ]
    assert rows[0].categories == ("psychosocial.anxiety",)
    assert queries.list_for_focal_point(session, by=scene.other_focal, now=now) == []
    listed = factory.audit_entries("referrals_listed")
    assert listed[0].details == {"referral_ids": [scene.referral.id, later.id]}
    with pytest.raises(service.ReferralForbidden):
        queries.list_for_focal_point(session, by=scene.owner, now=now)

    overdue = {scene.referral.id, unsent.id}  # unsent: consent due T0+5
    assert {r.id for r in queries.list_overdue(session, by=scene.owner, now=now)} == overdue
    assert queries.list_overdue(session, by=scene.other_counsellor, now=now) == []
    every = queries.list_overdue(session, by=scene.supervisor, now=now)
    assert {r.id for r in every} == overdue
    sent_there = queries.list_overdue(
        session, by=scene.supervisor, now=now, site_id=scene.focal.site_id
    )
    assert {r.id for r in sent_there} == {scene.referral.id}
    by_writers = queries.list_overdue(
        session, by=scene.supervisor, now=now, site_id=scene.owner.site_id
    )
    assert {r.id for r in by_writers} == overdue
    for nobody in (scene.interpreter, scene.focal):
        with pytest.raises(service.ReferralForbidden):
            queries.list_overdue(session, by=nobody, now=now)


def test_referral_steps_feed_a_timeline(factory: Factory) -> None:
    """A record's referral steps, oldest first, for a case's timeline and reports."""
    scene = _scene(factory)
    _to_sent(factory, scene, at=T0 + DAY)
    entries = queries.timeline(factory.session, [scene.referral.contact_record_id])
    assert [(e.status, e.at) for e in entries] == [
        ("proposed", T0),
        ("consented", T0 + DAY),
        ("sent", T0 + DAY),
    ]
    assert queries.timeline(factory.session, []) == []


def test_referral_focal_point_account_needs_one_site_and_no_other_role(factory: Factory) -> None:
    """An SSC focal point belongs to a site and has no other role."""
    site = factory.site()
    spec = staffing.StaffSpec("focal.one", "F", ("ssc_focal_point",), (), (), None, None, None)
    with pytest.raises(staffing.StaffError, match="site"):
        staffing.add_staff(factory.session, spec, TEST_ACTOR)
    factory.session.rollback()
    both = dataclasses.replace(spec, roles=("ssc_focal_point", "supervisor"), site_code=site.code)
    with pytest.raises(staffing.StaffError, match="no other role"):
        staffing.add_staff(factory.session, both, TEST_ACTOR)
    factory.session.rollback()


def test_record_finalising_proposes_its_referrals_and_an_edit_keeps_sent_ones(
    factory: Factory,
) -> None:
    """Finalising a record proposes its referrals (a dated step, consent due); an edit that
    removes a referral already sent keeps it."""
    owner = factory.staff("writer", password=None)
    call = factory.call(factory.caller(NUMBER), counsellor_id=owner.id, answered_at=T0)
    record = records.create_draft(factory.session, by=owner, now=T0, call=call)
    ssc = ReferralInput("social_service_centre", "Gaziantep", "Şahinbey Sosyal Hizmet Merkezi")
    data = RecordInput(
        call_type="data",
        categories=("psychosocial.anxiety",),
        summary="words",
        risk_level="low",
        referrals=(ssc,),
    )
    common = {"by": owner, "catalog": CATALOG, "timezone": "Europe/Istanbul"}
    records.finalise(factory.session, record, data, now=T0, **common)  # type: ignore[arg-type]
    referral = record.referrals[0]
    assert (referral.status, referral.due_at) == ("proposed", T0 + 5 * DAY)
    assert [(s.status, s.by_id) for s in referral.steps] == [("proposed", owner.id)]
    service.record_consent(factory.session, referral, CONSENT, by=owner, now=T0, catalog=CATALOG)
    factory.session.commit()
    records.edit(
        factory.session,
        record,
        dataclasses.replace(data, referrals=()),
        now=T0 + dt.timedelta(hours=1),
        **common,  # type: ignore[arg-type]
    )
    factory.session.commit()
    assert [r.id for r in record.referrals] == [referral.id]


def test_retention_destroys_referral_notes_and_keeps_the_loop(factory: Factory) -> None:
    """Past its period, a referral's decline reason and service note are destroyed; the
    referral, its steps and statuses stay; the destruction log counts them."""
    scene = _scene(factory)
    _to_sent(factory, scene)
    session, referral = factory.session, scene.referral
    service.decline(session, referral, REASON, by=scene.focal, now=T0, catalog=CATALOG)
    session.commit()
    policy = retention.Policy(
        periods={
            "recordings": 90,
            "notes": 3650,
            "referral_notes": 30,
            "caller_numbers": 3650,
            "cases": 3650,
            "persons": 3650,
            "audit": 3650,
        },
        purge_every_days=30,
        destruction_log_days=1095,
    )
    due = {d.kind: d.count for d in retention.preview(session, policy, T0 + 10 * DAY)}
    assert due["referral_notes"] == 0
    due = {d.kind: d.count for d in retention.preview(session, policy, T0 + 40 * DAY)}
    assert due["referral_notes"] == 1
    run = retention.purge(session, policy, T0 + 40 * DAY, TEST_ACTOR)
    session.commit()
    session.expire_all()
    assert {d.kind: d.count for d in run.destroyed}["referral_notes"] == 1
    steps = session.scalars(sa.select(ReferralStep).where(ReferralStep.referral_id == referral.id))
    assert [(s.status, s.note_encrypted) for s in steps] == [
        ("proposed", None),
        ("consented", None),
        ("sent", None),
        ("declined", None),
    ]
    kept = session.get(Referral, referral.id)
    assert kept is not None
    assert kept.status == "declined"
