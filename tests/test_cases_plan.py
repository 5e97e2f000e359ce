"""A case's plan: goals and actions, follow-up callbacks made from call actions, overdue
work, and the next due time "My cases" sorts by."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from helpline.callbacks import service as callbacks
from helpline.cases import plan
from helpline.cases.access import CaseForbidden, CaseInvalid
from helpline.models import CallbackRequest, CallerConsent, CasePlanChange
from tests.cases import DAY, HOUR, T0, actions, audit_text, line, person_with_case
from tests.factories import Factory

STEP = "Go with her to the SSC in Altındağ for the social assistance file"


def test_a_call_action_becomes_a_follow_up_callback_due_with_it(factory: Factory) -> None:
    """A call action makes a pending follow-up callback at once, due at the action's time,
    preferring its owner, in the language of the person's last call, with the caller's
    consent recorded; the callback machinery finds it due exactly then."""
    staff = line(factory)
    session = factory.session
    _, case, record = person_with_case(factory, staff.worker)
    due = T0 + 2 * DAY
    with pytest.raises(CaseInvalid) as refused:
        plan.add_action(
            session, case, "Call her back", owner_id=staff.worker.id, due_at=due,
            by=staff.worker, now=T0, call=plan.CallInput(consent=False),
        )  # fmt: skip
    assert [p.field for p in refused.value.problems] == ["consent"]
    action = plan.add_action(
        session, case, "Call her back", owner_id=staff.worker.id, due_at=due,
        by=staff.worker, now=T0, call=plan.CallInput(consent=True),
    )  # fmt: skip
    session.commit()
    callback = session.get(CallbackRequest, action.callback_request_id)
    assert callback is not None
    assert (callback.reason, callback.status, callback.language) == ("follow_up", "pending", "ar")
    assert (callback.due_from, callback.next_attempt_at) == (due, due)
    assert callback.expires_at == due + callbacks.FOLLOW_UP_VALID_FOR
    assert (callback.caller_id, callback.contact_record_id) == (record.caller_id, record.id)
    assert callback.preferred_staff_id == staff.worker.id
    assert callbacks.list_due(session, due - HOUR) == []
    assert callbacks.list_due(session, due) == [callback.id]
    assert callbacks.is_mine(session, callback.id, staff.worker)
    consent = session.scalars(sa.select(CallerConsent)).one()
    assert (consent.kind, consent.is_granted, consent.caller_id) == (
        "follow_up", True, record.caller_id,
    )  # fmt: skip


def test_rescheduling_and_finishing_move_or_cancel_the_callback(factory: Factory) -> None:
    """A pending callback moves with its action, and is cancelled when the action is done
    or cancelled; every change is a plan-change row and an audit entry without the text."""
    staff = line(factory)
    session = factory.session
    _, case, _ = person_with_case(factory, staff.worker)
    call = plan.add_action(
        session, case, "Call her back", owner_id=staff.worker.id, due_at=T0 + DAY,
        by=staff.worker, now=T0, call=plan.CallInput(consent=True),
    )  # fmt: skip
    plan.reschedule_action(session, call, T0 + 3 * DAY, by=staff.worker, now=T0 + HOUR)
    session.commit()
    callback = session.get(CallbackRequest, call.callback_request_id)
    assert callback is not None
    session.refresh(callback)
    assert (callback.next_attempt_at, callback.status) == (T0 + 3 * DAY, "pending")
    with pytest.raises(CaseInvalid):
        plan.reschedule_action(session, call, T0, by=staff.worker, now=T0 + HOUR)
    plan.finish_action(session, call, "done", by=staff.worker, now=T0 + 2 * DAY)
    session.commit()
    session.refresh(callback)
    assert (callback.status, callback.outcome) == ("cancelled", "cancelled")
    with pytest.raises(CaseInvalid):
        plan.finish_action(session, call, "done", by=staff.worker, now=T0 + 2 * DAY)
    kinds = session.scalars(sa.select(CasePlanChange.kind).order_by(CasePlanChange.id)).all()
    assert kinds == ["action_added", "action_rescheduled", "action_done"]
    assert actions(factory, "case").count("case_plan_changed") == 3
    assert "Call her back" not in audit_text(factory)


def test_overdue_actions_and_the_next_due_time(factory: Factory) -> None:
    """An open action past its due time is overdue; the case's next due time is the
    earliest open action's, and moves as actions are finished; goals are achieved or
    dropped once."""
    staff = line(factory)
    session = factory.session
    _, case, _ = person_with_case(factory, staff.worker)
    goal = plan.add_goal(session, case, "Stable housing by spring", by=staff.worker, now=T0)
    first = plan.add_action(
        session, case, STEP, owner_id=staff.worker.id, due_at=T0 + DAY, by=staff.worker,
        now=T0, goal_id=goal.id,
    )  # fmt: skip
    second = plan.add_action(
        session, case, "Ask the muhtar about the lease", owner_id=staff.colleague.id,
        due_at=T0 + 5 * DAY, by=staff.worker, now=T0,
    )  # fmt: skip
    session.commit()
    assert case.next_due_at == T0 + DAY
    later = T0 + 2 * DAY
    assert [plan.is_overdue(a, later) for a in (first, second)] == [True, False]
    assert [a.id for a in plan.list_overdue(session, staff.worker, later)] == [first.id]
    assert plan.list_overdue(session, staff.colleague, later) == []
    plan.finish_action(session, first, "cancelled", by=staff.worker, now=later)
    session.commit()
    assert case.next_due_at == T0 + 5 * DAY
    assert [a.id for a in plan.list_actions(session, case)] == [second.id, first.id]
    with pytest.raises(CaseInvalid):
        plan.add_action(
            session, case, STEP, owner_id=staff.supervisor.id, due_at=T0 + DAY,
            by=staff.worker, now=T0,
        )  # fmt: skip
    with pytest.raises(CaseInvalid):
        plan.add_action(
            session, case, STEP, owner_id=staff.worker.id, due_at=T0 + 400 * DAY,
            by=staff.worker, now=T0,
        )  # fmt: skip
    plan.set_goal_status(session, goal, "achieved", by=staff.worker, now=later)
    with pytest.raises(CaseInvalid):
        plan.set_goal_status(session, goal, "dropped", by=staff.worker, now=later)
    with pytest.raises(CaseForbidden):
        plan.add_goal(session, case, "Another", by=staff.colleague, now=later)
    session.commit()
    stored = session.execute(sa.text("SELECT description_encrypted FROM case_action")).scalars()
    assert not any("Altındağ" in text for text in stored)
