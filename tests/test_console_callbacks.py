"""My callbacks and follow-ups, through the test client with real CSRF tokens: the list,
call now (its dial job really queued in Redis), reschedule in the line's time zone,
record the outcome; ownership, roles, bad input and the audit trail."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import redis
import sqlalchemy as sa
from flask.testing import FlaskClient
from rq import Queue

from helpline.models import (
    AuditEntry,
    CallbackRequest,
    CallEvent,
    Staff,
    utcnow,
)
from helpline.models.enums import CallbackReason, CallbackStatus
from tests.factories import Factory, csrf_token, login

PAGE = "/console/callbacks/"
NUMBER = "+905321114455"
MASKED = "+90 5** *** ** 55"
NOTE = "She is afraid her brother will find out"
ISTANBUL = ZoneInfo("Europe/Istanbul")


@dataclasses.dataclass
class Scene:
    ayse: Staff
    yusuf: Staff
    assigned: CallbackRequest
    preferred: CallbackRequest
    follow_up: CallbackRequest
    failed: CallbackRequest
    yusufs: CallbackRequest
    closed: CallbackRequest


def _scene(factory: Factory) -> Scene:
    """Ayşe's callbacks: one assigned, one preferring her, the follow-up of her record
    (preferring nobody now), one failed yesterday; Yusuf's own; one of hers closed."""
    ayse = factory.staff("ayse", languages=("ar", "tr"))
    yusuf = factory.staff("yusuf", languages=("ar",))
    caller = factory.caller(NUMBER, language="ar")
    call = factory.call(caller, counsellor_id=ayse.id, language="ar", topic="violence")
    record = factory.contact_record(call, ayse, [NOTE])

    def made(**fields: object) -> CallbackRequest:
        callback = factory.callback(call)
        for name, value in fields.items():
            setattr(callback, name, value)
        factory.session.commit()
        return callback

    yesterday = utcnow() - dt.timedelta(days=1)
    return Scene(
        ayse=ayse,
        yusuf=yusuf,
        assigned=made(assigned_staff_id=ayse.id),
        preferred=made(preferred_staff_id=ayse.id, topic="violence"),
        follow_up=made(reason=CallbackReason.FOLLOW_UP.value, contact_record_id=record.id),
        failed=made(
            preferred_staff_id=ayse.id, status=CallbackStatus.FAILED.value, completed_at=yesterday
        ),
        yusufs=made(preferred_staff_id=yusuf.id),
        closed=made(preferred_staff_id=ayse.id, status=CallbackStatus.COMPLETED.value),
    )


def _token(client: FlaskClient) -> str:
    return csrf_token(client.get(PAGE).get_data(as_text=True))


def _audit(factory: Factory, action: str) -> list[AuditEntry]:
    factory.session.expire_all()
    return list(factory.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def _row(factory: Factory, callback: CallbackRequest) -> CallbackRequest:
    factory.session.expire_all()
    found = factory.session.get(CallbackRequest, callback.id)
    assert found is not None
    return found


def _queue(redis_url: str) -> Queue:
    return Queue("callbacks", connection=redis.Redis.from_url(redis_url))


def _local(value: dt.datetime) -> tuple[str, str]:
    """A UTC time as the reschedule form's date and time fields, in the line's zone."""
    local = value.astimezone(ISTANBUL)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M")


def test_my_callbacks_page_lists_what_the_counsellor_may_act_on(
    client: FlaskClient, factory: Factory
) -> None:
    """The page lists the callbacks assigned to or preferring the counsellor, the
    follow-ups of their own records and their recent failed ones; not a colleague's, not
    a closed one; masked number, language, topic, reason, due window, attempts and
    status, never the whole number or a note; opening it is audited."""
    scene = _scene(factory)
    login(client, "ayse")
    response = client.get(PAGE)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    shown = {cb.id for cb in (scene.assigned, scene.preferred, scene.follow_up, scene.failed)}
    for callback in (scene.assigned, scene.preferred, scene.follow_up, scene.failed):
        assert f'id="callback-{callback.id}"' in page
    for callback in (scene.yusufs, scene.closed):
        assert f'id="callback-{callback.id}"' not in page
    assert MASKED in page
    assert NUMBER not in page
    assert NOTE not in page
    for text in ("Arabic", "Violence", "Follow-up", "Asked while waiting", "Due window"):
        assert text in page
    assert "0 / 3" in page
    assert "Waiting" in page
    assert "Failed" in page
    # A failed one can only get an outcome: one "Call now" per pending callback.
    assert page.count(">Call now</button>") == 3
    [entry] = _audit(factory, "my_callbacks_viewed")
    assert entry.details == {"rows": len(shown)}
    home = client.get("/console/").get_data(as_text=True)
    assert f'href="{PAGE}"' in home


def test_my_callbacks_call_now_makes_it_due_and_queues_the_dial(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """Call now makes a later callback due at once, prefers the counsellor who asked,
    is audited, and queues `dial_callback` for it on the callbacks queue in Redis."""
    scene = _scene(factory)
    later = utcnow() + dt.timedelta(hours=5)
    scene.follow_up.next_attempt_at = later
    factory.session.commit()
    login(client, "ayse")
    response = client.post(
        f"/console/callbacks/{scene.follow_up.id}/call-now", data={"csrf_token": _token(client)}
    )
    assert response.status_code == 302
    row = _row(factory, scene.follow_up)
    assert row.next_attempt_at <= utcnow()
    assert (row.preferred_staff_id, row.status) == (scene.ayse.id, "pending")
    [entry] = _audit(factory, "callback_call_now")
    assert (entry.target_id, entry.actor_id) == (str(row.id), scene.ayse.id)
    [job] = _queue(redis_url).get_jobs()
    assert (str(job.func_name).rsplit(".", 1)[-1], job.args) == ("dial_callback", (row.id,))
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The callback is being made: you are offered it first." in followed


def test_my_callbacks_reschedule_in_the_line_time_zone(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """A new date and time are the line's wall-clock time (Europe/Istanbul, UTC+3): the
    callback's next attempt moves there, the move is audited and the dial is scheduled."""
    scene = _scene(factory)
    login(client, "ayse")
    date, time = _local(utcnow() + dt.timedelta(days=2))
    response = client.post(
        f"/console/callbacks/{scene.preferred.id}/reschedule",
        data={"csrf_token": _token(client), "date": date, "time": time},
    )
    assert response.status_code == 302
    row = _row(factory, scene.preferred)
    wanted = dt.datetime.fromisoformat(f"{date}T{time}").replace(tzinfo=ISTANBUL)
    assert row.next_attempt_at == wanted.astimezone(dt.UTC)
    assert row.expires_at > row.next_attempt_at
    [entry] = _audit(factory, "callback_rescheduled")
    assert entry.target_id == str(row.id)
    scheduled = _queue(redis_url).scheduled_job_registry
    assert len(scheduled.get_job_ids()) == 1
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"The callback is now due at {date} {time}." in followed


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"date": "2020-01-01", "time": "10:00"}, "Choose a time in the future."),
        ({"date": "2099-01-01", "time": "10:00"}, "Choose a time within the next 30 days."),
        ({"date": "tomorrow", "time": "10:00"}, "Give a date and a time for the new call."),
        ({"date": "2026-12-01"}, "Give a date and a time for the new call."),
    ],
)
def test_my_callbacks_reschedule_refuses_a_bad_time(
    client: FlaskClient, factory: Factory, fields: dict[str, str], message: str
) -> None:
    """A past time, one beyond 30 days or an unreadable one is a 400 page saying so;
    the callback is unchanged and nothing is audited."""
    scene = _scene(factory)
    before = scene.preferred.next_attempt_at
    login(client, "ayse")
    response = client.post(
        f"/console/callbacks/{scene.preferred.id}/reschedule",
        data={"csrf_token": _token(client), **fields},
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _row(factory, scene.preferred).next_attempt_at == before
    assert _audit(factory, "callback_rescheduled") == []


def test_my_callbacks_refuse_an_expired_callback(client: FlaskClient, factory: Factory) -> None:
    """A pending callback past its expiry (the sweeper not there yet) can be neither
    rescheduled nor called now: a 400 saying it has expired."""
    scene = _scene(factory)
    scene.preferred.expires_at = utcnow() - dt.timedelta(minutes=1)
    factory.session.commit()
    login(client, "ayse")
    token = _token(client)
    date, time = _local(utcnow() + dt.timedelta(hours=3))
    for action, fields in (("reschedule", {"date": date, "time": time}), ("call-now", {})):
        response = client.post(
            f"/console/callbacks/{scene.preferred.id}/{action}",
            data={"csrf_token": token, **fields},
        )
        assert response.status_code == 400, action
        assert "This callback has expired." in response.get_data(as_text=True)
    assert _audit(factory, "callback_rescheduled") == []
    assert _audit(factory, "callback_call_now") == []


def test_my_callbacks_record_outcome_closes_it(client: FlaskClient, factory: Factory) -> None:
    """Recording "reached another way" closes a pending callback as completed, and
    "cancelled" a failed one as cancelled; each with a CallEvent and an audit entry."""
    scene = _scene(factory)
    login(client, "ayse")
    token = _token(client)
    for callback, outcome, status in (
        (scene.follow_up, "connected", "completed"),
        (scene.failed, "cancelled", "cancelled"),
    ):
        response = client.post(
            f"/console/callbacks/{callback.id}/outcome",
            data={"csrf_token": token, "outcome": outcome},
        )
        assert response.status_code == 302
        row = _row(factory, callback)
        assert (row.status, row.outcome) == (status, outcome)
        assert row.completed_at is not None
    entries = _audit(factory, "callback_outcome_recorded")
    assert [e.details for e in entries] == [{"outcome": "connected"}, {"outcome": "cancelled"}]
    events = factory.session.scalars(
        sa.select(CallEvent).where(CallEvent.kind == "callback_outcome")
    ).all()
    assert [e.data["outcome"] for e in events] == ["connected", "cancelled"]
    page = client.get(PAGE).get_data(as_text=True)
    assert f'id="callback-{scene.follow_up.id}"' not in page


def test_my_callbacks_page_speaks_the_staff_language(client: FlaskClient, factory: Factory) -> None:
    """A counsellor reading the console in Arabic gets the page right to left, its
    buttons and the service's refusal in Arabic."""
    scene = _scene(factory)
    scene.ayse.ui_language = "ar"
    factory.session.commit()
    login(client, "ayse")
    page = client.get(PAGE).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert ">اتصل الآن</button>" in page
    assert "معاودات الاتصال الخاصة بي" in page  # the menu's link
    response = client.post(
        f"/console/callbacks/{scene.preferred.id}/reschedule",
        data={"csrf_token": csrf_token(page), "date": "2020-01-01", "time": "10:00"},
    )
    assert response.status_code == 400
    assert "اختر وقتاً في المستقبل." in response.get_data(as_text=True)


@pytest.mark.parametrize("outcome", ["machine", "", "no_answer"])
def test_my_callbacks_record_outcome_refuses_an_unknown_one(
    client: FlaskClient, factory: Factory, outcome: str
) -> None:
    """Only the outcomes offered can be recorded; anything else is a 400 saying so."""
    scene = _scene(factory)
    login(client, "ayse")
    response = client.post(
        f"/console/callbacks/{scene.preferred.id}/outcome",
        data={"csrf_token": _token(client), "outcome": outcome},
    )
    assert response.status_code == 400
    assert "Choose an outcome from the list." in response.get_data(as_text=True)
    assert _row(factory, scene.preferred).status == "pending"
    assert _audit(factory, "callback_outcome_recorded") == []


def test_my_callbacks_record_outcome_refuses_a_closed_one(
    client: FlaskClient, factory: Factory
) -> None:
    """A callback being made now cannot be closed by hand: 400 with the service's reason."""
    scene = _scene(factory)
    scene.assigned.status = CallbackStatus.DIALLING.value
    factory.session.commit()
    login(client, "ayse")
    response = client.post(
        f"/console/callbacks/{scene.assigned.id}/outcome",
        data={"csrf_token": _token(client), "outcome": "connected"},
    )
    assert response.status_code == 400
    assert "being made now, or is already closed" in response.get_data(as_text=True)


ACTIONS = {
    "call-now": {},
    "reschedule": {"date": "2026-12-30", "time": "10:00"},
    "outcome": {"outcome": "cancelled"},
}


def test_my_callbacks_actions_need_the_csrf_token(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """Without the CSRF token every action is a 400 page asking to reload the form, and
    nothing changes or is queued."""
    scene = _scene(factory)
    login(client, "ayse")
    for action, fields in ACTIONS.items():
        response = client.post(f"/console/callbacks/{scene.preferred.id}/{action}", data=fields)
        assert response.status_code == 400, action
        assert "reload the page and try again" in response.get_data(as_text=True)
    row = _row(factory, scene.preferred)
    assert (row.status, row.next_attempt_at) == ("pending", scene.preferred.next_attempt_at)
    assert len(_audit(factory, "callback_call_now")) == 0
    assert _queue(redis_url).get_jobs() == []


def test_my_callbacks_refuse_another_counsellors_callback(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """Another counsellor's callback is 403 for every action, an unknown one 404; nothing
    changes, nothing is audited or queued."""
    scene = _scene(factory)
    login(client, "yusuf")
    token = _token(client)
    for action, fields in ACTIONS.items():
        for callback in (scene.assigned, scene.follow_up):
            url = f"/console/callbacks/{callback.id}/{action}"
            assert client.post(url, data={"csrf_token": token, **fields}).status_code == 403
        missing = f"/console/callbacks/{scene.closed.id + 1000}/{action}"
        assert client.post(missing, data={"csrf_token": token, **fields}).status_code == 404
    for callback in (scene.assigned, scene.follow_up):
        assert _row(factory, callback).status == "pending"
    factory.session.expire_all()
    targeted = factory.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.target_type == "callback_request")
    ).all()
    assert targeted == []
    assert _queue(redis_url).get_jobs() == []
    # Yusuf's own list has his callback only.
    page = client.get(PAGE).get_data(as_text=True)
    assert f'id="callback-{scene.yusufs.id}"' in page
    assert f'id="callback-{scene.assigned.id}"' not in page


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        ("interpreter", "/console/interpreter"),
        ("supervisor", "/supervisor/"),
        ("admin", "/admin/staff"),
    ],
)
def test_my_callbacks_refuse_other_roles(
    client: FlaskClient, factory: Factory, redis_url: str, role: str, landing: str
) -> None:
    """Interpreters, supervisors and administrators get 403 on the page and every
    action, even on a callback preferring them."""
    scene = _scene(factory)
    other = factory.staff("other", roles=(role,), languages=("ar",))
    scene.preferred.preferred_staff_id = other.id
    factory.session.commit()
    login(client, "other")
    token = csrf_token(client.get(landing).get_data(as_text=True))
    assert client.get(PAGE).status_code == 403
    for action, fields in ACTIONS.items():
        url = f"/console/callbacks/{scene.preferred.id}/{action}"
        assert client.post(url, data={"csrf_token": token, **fields}).status_code == 403, action
    assert _row(factory, scene.preferred).status == "pending"
    assert _queue(redis_url).get_jobs() == []
