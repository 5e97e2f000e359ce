"""A case's plan: goals, and actions with an owner and a due date.

Rules:
- Goals and actions are added by the case worker; their text is encrypted. Every change
  is a `CasePlanChange` row (the timeline) and an audit entry naming ids, never text.
- An action that is a call to the person makes a follow-up `CallbackRequest` at once,
  due at the action's due time (the existing callback machinery dials it then; it
  prefers the action's owner). The person's answer is recorded as the caller's
  `follow_up` consent, as a record's follow-up does.
- Rescheduling moves a still pending callback with the action; finishing or cancelling
  the action cancels it.
- An open action past its due time is overdue. `Case.next_due_at` is the earliest due
  time of the case's open actions, so "My cases" sorts overdue work first by index.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.callbacks import service as callbacks
from helpline.cases.access import (
    CaseInvalid,
    CaseNotFound,
    Problem,
    log,
    require_writable,
)
from helpline.cases.persons import linked_caller_ids
from helpline.models import (
    Call,
    CallbackRequest,
    Caller,
    Case,
    CaseAction,
    CaseGoal,
    CasePlanChange,
    ContactRecord,
    Staff,
)
from helpline.models.base import DbSession
from helpline.models.enums import (
    ActionStatus,
    CallbackOutcome,
    CallbackStatus,
    GoalStatus,
    PlanChangeKind,
    Role,
)

TEXT_MAX = 2_000
HORIZON = dt.timedelta(days=366)  # how far ahead an action can be due
K = PlanChangeKind


@dataclasses.dataclass(frozen=True)
class CallInput:
    """The action is a call to the person: on which of their numbers, in which language
    (None: the number's known language), and whether they agreed to being called."""

    caller_id: int | None = None
    language: str | None = None
    consent: bool = False


def is_overdue(action: CaseAction, now: dt.datetime) -> bool:
    """An open action whose due time has passed (pure)."""
    return action.status == ActionStatus.OPEN and action.due_at < now


def list_goals(session: DbSession, case: Case) -> list[CaseGoal]:
    return list(
        session.scalars(
            sa.select(CaseGoal).where(CaseGoal.case_id == case.id).order_by(CaseGoal.id)
        )
    )


def list_actions(session: DbSession, case: Case) -> list[CaseAction]:
    """The plan's actions: open ones by due time first, then the finished ones."""
    is_open = sa.case((CaseAction.status == ActionStatus.OPEN.value, 0), else_=1)
    return list(
        session.scalars(
            sa.select(CaseAction)
            .where(CaseAction.case_id == case.id)
            .order_by(is_open, CaseAction.due_at, CaseAction.id)
        )
    )


def refresh_next_due(session: DbSession, case: Case) -> None:
    """Set the case's `next_due_at` from its open actions."""
    session.flush()
    case.next_due_at = session.scalar(
        sa.select(sa.func.min(CaseAction.due_at)).where(
            CaseAction.case_id == case.id, CaseAction.status == ActionStatus.OPEN.value
        )
    )


def _change(
    session: DbSession,
    case: Case,
    kind: PlanChangeKind,
    by: Staff | None,
    now: dt.datetime,
    request: audit.RequestInfo | None,
    *,
    goal_id: int | None = None,
    action_id: int | None = None,
    extra: dict[str, str] | None = None,
) -> None:
    session.add(
        CasePlanChange(
            case_id=case.id,
            kind=kind.value,
            goal_id=goal_id,
            action_id=action_id,
            changed_by_id=by.id if by is not None else None,
            changed_at=now,
        )
    )
    case.updated_at = now
    if by is None:
        return
    details: dict[str, object] = {"kind": kind.value, "goal_id": goal_id, "action_id": action_id}
    log(session, "case_plan_changed", case, by, {**details, **(extra or {})}, request)


def _text(field: str, text: str) -> str:
    body = text.strip()
    if not body:
        raise CaseInvalid([Problem(field, "Write what it is.")])
    if len(body) > TEXT_MAX:
        raise CaseInvalid([Problem(field, f"Keep it under {TEXT_MAX} characters.")])
    return body


def add_goal(
    session: DbSession,
    case: Case,
    description: str,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> CaseGoal:
    require_writable(session, case, by, now)
    goal = CaseGoal(
        case_id=case.id,
        description_encrypted=_text("description", description),
        status=GoalStatus.OPEN.value,
        created_by_id=by.id,
        created_at=now,
        updated_at=now,
    )
    session.add(goal)
    session.flush()
    _change(session, case, K.GOAL_ADDED, by, now, request, goal_id=goal.id)
    return goal


def set_goal_status(
    session: DbSession,
    goal: CaseGoal,
    status: str,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> None:
    """Mark an open goal achieved or dropped."""
    case = _case_of(session, goal.case_id)
    require_writable(session, case, by, now)
    kinds = {GoalStatus.ACHIEVED.value: K.GOAL_ACHIEVED, GoalStatus.DROPPED.value: K.GOAL_DROPPED}
    if status not in kinds:
        raise CaseInvalid([Problem("status", "Choose achieved or dropped.")])
    if goal.status != GoalStatus.OPEN:
        raise CaseInvalid([Problem("status", "This goal is settled already.")])
    goal.status, goal.updated_at = status, now
    _change(session, case, kinds[status], by, now, request, goal_id=goal.id)


def _case_of(session: DbSession, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound("There is no such case.")
    return case


def _owner(session: DbSession, owner_id: int) -> Staff:
    owner = session.get(Staff, owner_id)
    if owner is None or not owner.is_active or not owner.has_role(Role.COUNSELLOR):
        raise CaseInvalid([Problem("owner", "Choose an active counsellor.")])
    return owner


def add_action(
    session: DbSession,
    case: Case,
    description: str,
    *,
    owner_id: int,
    due_at: dt.datetime,
    by: Staff,
    now: dt.datetime,
    goal_id: int | None = None,
    call: CallInput | None = None,
    request: audit.RequestInfo | None = None,
) -> CaseAction:
    """An action of the plan; a call makes its follow-up callback now, due at `due_at`."""
    require_writable(session, case, by, now)
    owner = _owner(session, owner_id)
    text = _text("description", description)
    if due_at > now + HORIZON:
        raise CaseInvalid([Problem("due_at", "Choose a date within a year.")])
    if goal_id is not None:
        goal = session.get(CaseGoal, goal_id)
        if goal is None or goal.case_id != case.id:
            raise CaseInvalid([Problem("goal", "Choose a goal of this case.")])
    action = CaseAction(
        case_id=case.id,
        goal_id=goal_id,
        description_encrypted=text,
        owner_id=owner.id,
        due_at=due_at,
        status=ActionStatus.OPEN.value,
        is_call=call is not None,
        created_by_id=by.id,
        created_at=now,
    )
    if call is not None:
        action.callback_request_id = _follow_up(session, case, call, owner, due_at, now).id
    session.add(action)
    session.flush()
    refresh_next_due(session, case)
    _change(
        session, case, K.ACTION_ADDED, by, now, request,
        goal_id=goal_id, action_id=action.id, extra={"due_at": due_at.isoformat()},
    )  # fmt: skip
    return action


def _follow_up(
    session: DbSession,
    case: Case,
    call: CallInput,
    owner: Staff,
    due_at: dt.datetime,
    now: dt.datetime,
) -> CallbackRequest:
    """The follow-up callback of a call action, with the caller's consent to it."""
    problems = []
    numbers = linked_caller_ids(session, case.person_id)
    caller_id = call.caller_id if call.caller_id is not None else (numbers[-1] if numbers else None)
    if caller_id is None or caller_id not in numbers:
        problems.append(Problem("caller", "Choose one of the person's numbers."))
    if due_at <= now:
        problems.append(Problem("due_at", "A call is due in the future."))
    if not call.consent:
        problems.append(Problem("consent", "Confirm the person agreed to a call back."))
    language = call.language or (_language(session, case, caller_id) if caller_id else None)
    if language is None:
        problems.append(Problem("language", "Say in which language to call."))
    if problems or caller_id is None or language is None:
        raise CaseInvalid(problems)
    latest = _latest_record(session, case, caller_id)
    wanted = callbacks.FollowUp(
        caller_id=caller_id,
        language=language,
        due=due_at,
        staff_id=owner.id,
        contact_record_id=latest.id if latest is not None else None,
    )
    callback = callbacks.request_follow_up(session, wanted, now)
    return callback


def _latest_record(session: DbSession, case: Case, caller_id: int) -> ContactRecord | None:
    return session.scalars(
        sa.select(ContactRecord)
        .where(ContactRecord.case_id == case.id, ContactRecord.caller_id == caller_id)
        .order_by(ContactRecord.created_at.desc(), ContactRecord.id.desc())
        .limit(1)
    ).first()


def _language(session: DbSession, case: Case, caller_id: int) -> str | None:
    """The language of the case's latest call from that number, or the number's own."""
    latest = _latest_record(session, case, caller_id)
    call = session.get(Call, latest.call_id) if latest and latest.call_id else None
    caller = session.get(Caller, caller_id)
    return (call.language if call else None) or (caller.preferred_language if caller else None)


def _cancel_callback(session: DbSession, callback_id: int | None, now: dt.datetime) -> bool:
    """Cancel a follow-up that is still pending (one being dialled is left to finish)."""
    if callback_id is None:
        return False
    done = session.execute(
        sa.update(CallbackRequest)
        .where(
            CallbackRequest.id == callback_id,
            CallbackRequest.status == CallbackStatus.PENDING.value,
        )
        .values(
            status=CallbackStatus.CANCELLED.value,
            outcome=CallbackOutcome.CANCELLED.value,
            completed_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def get_action(session: DbSession, action_id: int) -> CaseAction:
    action = session.get(CaseAction, action_id)
    if action is None:
        raise CaseNotFound("There is no such action.")
    return action


def reschedule_action(
    session: DbSession,
    action: CaseAction,
    due_at: dt.datetime,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> None:
    """Move an open action; its pending follow-up callback moves with it."""
    case = _case_of(session, action.case_id)
    require_writable(session, case, by, now)
    if action.status != ActionStatus.OPEN:
        raise CaseInvalid([Problem("status", "Only an open action can be moved.")])
    if due_at > now + HORIZON or (action.is_call and due_at <= now):
        raise CaseInvalid([Problem("due_at", "Choose a time in the future, within a year.")])
    action.due_at = due_at
    if action.callback_request_id is not None:
        session.execute(
            sa.update(CallbackRequest)
            .where(
                CallbackRequest.id == action.callback_request_id,
                CallbackRequest.status == CallbackStatus.PENDING.value,
            )
            .values(
                due_from=due_at,
                next_attempt_at=due_at,
                expires_at=due_at + callbacks.FOLLOW_UP_VALID_FOR,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    refresh_next_due(session, case)
    _change(
        session, case, K.ACTION_RESCHEDULED, by, now, request,
        action_id=action.id, extra={"due_at": due_at.isoformat()},
    )  # fmt: skip


def finish_action(
    session: DbSession,
    action: CaseAction,
    status: str,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> None:
    """Mark an open action done or cancelled; a pending follow-up callback is cancelled."""
    case = _case_of(session, action.case_id)
    require_writable(session, case, by, now)
    if status not in (ActionStatus.DONE, ActionStatus.CANCELLED):
        raise CaseInvalid([Problem("status", "Choose done or cancelled.")])
    if action.status != ActionStatus.OPEN:
        raise CaseInvalid([Problem("status", "This action is finished already.")])
    _finish(session, case, action, ActionStatus(status), by, now, request)


def _finish(
    session: DbSession,
    case: Case,
    action: CaseAction,
    status: ActionStatus,
    by: Staff | None,
    now: dt.datetime,
    request: audit.RequestInfo | None,
) -> None:
    action.status, action.completed_at = status.value, now
    _cancel_callback(session, action.callback_request_id, now)
    refresh_next_due(session, case)
    kind = K.ACTION_DONE if status == ActionStatus.DONE else K.ACTION_CANCELLED
    _change(session, case, kind, by, now, request, action_id=action.id)


def cancel_open_actions(session: DbSession, case: Case, by: Staff, now: dt.datetime) -> int:
    """Cancel every open action (a closing case); the closure's audit entry covers them."""
    open_actions = [a for a in list_actions(session, case) if a.status == ActionStatus.OPEN]
    for action in open_actions:
        action.status, action.completed_at = ActionStatus.CANCELLED.value, now
        _cancel_callback(session, action.callback_request_id, now)
        session.add(
            CasePlanChange(
                case_id=case.id,
                kind=K.ACTION_CANCELLED.value,
                action_id=action.id,
                changed_by_id=by.id,
                changed_at=now,
            )
        )
    refresh_next_due(session, case)
    return len(open_actions)


def hand_over(
    session: DbSession, case: Case, former_id: int, worker_id: int, now: dt.datetime
) -> None:
    """A transferred case's open actions of the former worker go to the new one, and so
    do their pending follow-up callbacks."""
    moved = list(
        session.scalars(
            sa.select(CaseAction).where(
                CaseAction.case_id == case.id,
                CaseAction.owner_id == former_id,
                CaseAction.status == ActionStatus.OPEN.value,
            )
        )
    )
    for action in moved:
        action.owner_id = worker_id
    callbacks = [a.callback_request_id for a in moved if a.callback_request_id is not None]
    if callbacks:
        session.execute(
            sa.update(CallbackRequest)
            .where(
                CallbackRequest.id.in_(callbacks),
                CallbackRequest.status == CallbackStatus.PENDING.value,
            )
            .values(preferred_staff_id=worker_id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    session.flush()


def list_overdue(session: DbSession, staff: Staff, now: dt.datetime) -> list[CaseAction]:
    """This member of staff's open actions past their due time, oldest due first."""
    return list(
        session.scalars(
            sa.select(CaseAction)
            .where(
                CaseAction.owner_id == staff.id,
                CaseAction.status == ActionStatus.OPEN.value,
                CaseAction.due_at < now,
            )
            .order_by(CaseAction.due_at, CaseAction.id)
        )
    )
