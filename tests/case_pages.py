"""The staff and the case the case pages' tests use: two centres, each role, and an open
case made through the domain from an Arabic contact, with a goal, an action and a
linked relative."""

from __future__ import annotations

import dataclasses

from flask.testing import FlaskClient

from helpline.cases import cases, persons, plan
from helpline.models import Case, CaseAction, CaseGoal, ContactRecord, Person, Site, Staff, utcnow
from helpline.models.base import DbSession
from helpline.records import service as records
from tests.cases import DAY, NUMBER
from tests.factories import Factory, csrf_token, login

NAME = "Amina Haddad"


@dataclasses.dataclass
class Desk:
    site: Site
    far_site: Site
    worker: Staff  # the case worker, at `site`
    far_worker: Staff  # a counsellor of another site
    supervisor: Staff  # of `site`
    far_supervisor: Staff  # of another site
    interpreter: Staff
    admin: Staff
    focal: Staff  # an SSC focal point of `site`
    record: ContactRecord
    person: Person
    relative: Person  # another profile on the same phone, linked to the case
    case: Case
    goal: CaseGoal
    action: CaseAction


USERNAMES = {
    "worker": "ayse",
    "far_worker": "deniz",
    "supervisor": "elif",
    "far_supervisor": "hakan",
    "interpreter": "omar",
    "admin": "root",
    "focal": "focal",
}


def desk(factory: Factory) -> Desk:
    site = factory.site("ANK-1", "Ankara")
    far = factory.site("HAT-1", "Hatay")

    def staff(key: str, role: str, at: Site | None) -> Staff:
        return factory.staff(USERNAMES[key], roles=(role,), languages=("tr", "ar"), site=at)

    worker = staff("worker", "counsellor", site)
    people = {
        "far_worker": staff("far_worker", "counsellor", far),
        "supervisor": staff("supervisor", "supervisor", site),
        "far_supervisor": staff("far_supervisor", "supervisor", far),
        "interpreter": staff("interpreter", "interpreter", site),
        "admin": staff("admin", "admin", None),
        "focal": staff("focal", "ssc_focal_point", site),
    }
    session, now = factory.session, utcnow()
    caller = factory.caller(NUMBER, language="ar")
    call = factory.call(
        caller, counsellor_id=worker.id, language="ar", started_at=now, answered_at=now
    )
    record = records.create_draft(session, by=worker, now=now, call=call)
    opened = open_case(session, record.id, worker)
    session.commit()
    case = cases.find_by_reference(session, opened.reference)
    assert case is not None
    return Desk(
        site, far, worker, people["far_worker"], people["supervisor"], people["far_supervisor"],
        people["interpreter"], people["admin"], people["focal"], record,
        persons.get_person(session, opened.person_id),
        persons.get_person(session, opened.relative_id), case,
        session.get_one(CaseGoal, opened.goal_id), plan.get_action(session, opened.action_id),
    )  # fmt: skip


def logged_in(client: FlaskClient, username: str) -> str:
    """Log the client in; the CSRF token of its session."""
    assert login(client, username).status_code == 302
    return csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))


@dataclasses.dataclass(frozen=True)
class Opened:
    reference: str
    person_id: int
    relative_id: int  # a profile on the same phone, linked to the case as a child
    goal_id: int
    action_id: int


def open_case(session: DbSession, record_id: int, worker: Staff) -> Opened:
    """A case opened by `worker` from their record (for a new profile with consent), with
    a relative linked, a goal and an action; the caller commits."""
    now = utcnow()
    person = persons.create_from_record(session, record_id, consent=True, by=worker, now=now)
    relative = persons.create_from_record(session, record_id, consent=True, by=worker, now=now)
    case = cases.open_case(session, record_id, person.id, by=worker, now=now)
    cases.link_person(session, case, relative.id, "child", by=worker, now=now)
    goal = plan.add_goal(session, case, "Her residence papers renewed", by=worker, now=now)
    action = plan.add_action(
        session, case, "Book the appointment", owner_id=worker.id, due_at=now + DAY,
        by=worker, now=now,
    )  # fmt: skip
    return Opened(case.reference, person.id, relative.id, goal.id, action.id)
