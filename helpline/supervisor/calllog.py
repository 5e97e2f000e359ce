"""The supervisor's call log: filtered, keyset-paginated searches over `call`.

Every query starts from `call` (its indexes: (started_at, id), (wait_seconds, id),
(duration_seconds, id), and language, outcome, counsellor, interpreter and site each
with started_at), joins a call's contact record by its unique call_id, and tests
callbacks with EXISTS on callback_request.call_id. Lists select columns, never whole
rows: no phone number or note text is read for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from helpline.ivr import model
from helpline.models import Call, CallbackRequest, ContactRecord, Site, Staff, StaffTopic
from helpline.models.base import DbSession
from helpline.models.enums import Role
from helpline.supervisor import keyset
from helpline.supervisor.filters import (
    CALLBACK_ANY,
    CALLBACK_NONE,
    SORTS,
    CallFilter,
    Choices,
    Period,
)

# What a row of the list (and of the export) shows.
LIST_COLUMNS = (
    Call.id,
    Call.started_at,
    Call.direction,
    Call.language,
    Call.topic,
    Call.outcome,
    Call.queued_at,
    Call.answered_at,
    Call.ended_at,
    Call.wait_seconds,
    Call.duration_seconds,
    Call.counsellor_id,
    Call.interpreter_id,
    Call.site_id,
    Call.flow_id,
    Call.flow_version,
    Call.is_number_withheld,
    ContactRecord.risk_level,
)


def known_topics(catalog: model.Catalog) -> set[str]:
    """Every topic a flow can give a call."""
    found: set[str] = set()
    for flow in catalog.flows.values():
        for node in flow.nodes.values():
            assignments = [node.assign, *(choice.assign for choice in node.choices.values())]
            found.update(str(a["topic"]) for a in assignments if "topic" in a)
    return found


def staff_names(session: DbSession) -> dict[int, str]:
    """Every member of staff, active or not, by id (the table is small)."""
    rows = session.execute(sa.select(Staff.id, Staff.display_name, Staff.username)).all()
    return {row.id: f"{row.display_name} ({row.username})" for row in rows}


def site_names(session: DbSession) -> dict[int, str]:
    return {row.id: row.code for row in session.execute(sa.select(Site.id, Site.code)).all()}


def load_choices(session: DbSession, catalog: model.Catalog) -> Choices:
    """The values the call log's selects offer."""
    people = session.scalars(sa.select(Staff).order_by(Staff.display_name, Staff.id)).all()

    def with_role(role: Role) -> dict[int, str]:
        return {s.id: f"{s.display_name} ({s.username})" for s in people if role in s.roles}

    topics = known_topics(catalog) | set(session.scalars(sa.select(StaffTopic.topic).distinct()))
    sites = session.execute(sa.select(Site.id, Site.code, Site.name).order_by(Site.code)).all()
    return Choices(
        languages={
            code: f"{language.english_name} ({code})"
            for code, language in sorted(catalog.languages.items())
        },
        topics={topic: topic.replace("_", " ") for topic in sorted(topics)},
        counsellors=with_role(Role.COUNSELLOR),
        interpreters=with_role(Role.INTERPRETER),
        sites={row.id: f"{row.code}: {row.name}" for row in sites},
    )


def in_period(column: Any, period: Period) -> list[sa.ColumnElement[bool]]:
    conditions = []
    if period.since is not None:
        conditions.append(column >= period.since)
    if period.until is not None:
        conditions.append(column < period.until)
    return conditions


def _conditions(found: CallFilter) -> list[sa.ColumnElement[bool]]:
    conditions = in_period(Call.started_at, found.period)
    equal: Sequence[tuple[Any, Any]] = (
        (Call.language, found.language),
        (Call.topic, found.topic),
        (Call.outcome, found.outcome),
        (Call.counsellor_id, found.counsellor_id),
        (Call.interpreter_id, found.interpreter_id),
        (Call.site_id, found.site_id),
        (ContactRecord.risk_level, found.risk),
    )
    conditions += [column == value for column, value in equal if value is not None]
    bounds: Sequence[tuple[Any, int | None, int | None]] = (
        (Call.wait_seconds, found.wait_min, found.wait_max),
        (Call.duration_seconds, found.duration_min, found.duration_max),
    )
    for column, low, high in bounds:
        if low is not None:
            conditions.append(column >= low)
        if high is not None:
            conditions.append(column <= high)
    if found.scope is not None:
        conditions.append(found.scope)
    if found.callback is not None:
        linked = sa.select(CallbackRequest.id).where(CallbackRequest.call_id == Call.id)
        if found.callback == CALLBACK_NONE:
            conditions.append(~linked.exists())
        elif found.callback == CALLBACK_ANY:
            conditions.append(linked.exists())
        else:
            conditions.append(linked.where(CallbackRequest.status == found.callback).exists())
    # Ordering by wait or duration lists only calls that have one.
    column = sort_key(found)
    if column is not Call.started_at:
        conditions.append(column.is_not(None))
    return conditions


def sort_key(found: CallFilter) -> Any:
    columns = {
        "started_at": Call.started_at,
        "wait_seconds": Call.wait_seconds,
        "duration_seconds": Call.duration_seconds,
    }
    return columns[SORTS[found.sort].column]


def search(found: CallFilter, *columns: Any) -> sa.Select[Any]:
    """The filtered calls (unordered), selecting `columns` (by default LIST_COLUMNS)."""
    statement = (
        sa.select(*(columns or LIST_COLUMNS))
        .select_from(Call)
        .outerjoin(ContactRecord, ContactRecord.call_id == Call.id)
    )
    return statement.where(*_conditions(found))


def ordered_search(found: CallFilter, *columns: Any) -> sa.Select[Any]:
    """The filtered calls in the filter's order, as the export streams them."""
    return keyset.ordered(
        search(found, *columns), sort_key(found), Call.id, SORTS[found.sort].descending
    )


def count(session: DbSession, found: CallFilter) -> int:
    statement = sa.select(sa.func.count()).select_from(Call)
    if found.risk is not None:
        statement = statement.join(ContactRecord, ContactRecord.call_id == Call.id)
    return int(session.scalar(statement.where(*_conditions(found))) or 0)


def bound_of(found: CallFilter) -> Any:
    """How to read a row's (key, id), for the keyset cursor."""
    name = SORTS[found.sort].column

    def read(row: sa.Row[Any]) -> keyset.Bound:
        return getattr(row, name), row.id

    return read


def page(
    session: DbSession,
    found: CallFilter,
    size: int,
    after: keyset.Bound | None = None,
    before: keyset.Bound | None = None,
) -> keyset.Page:
    return keyset.fetch(
        session,
        search(found),
        key=sort_key(found),
        tiebreak=Call.id,
        descending=SORTS[found.sort].descending,
        size=size,
        bound_of=bound_of(found),
        after=after,
        before=before,
    )


def callback_statuses(session: DbSession, call_ids: Iterable[int]) -> dict[int, list[str]]:
    """The statuses of each call's callbacks, oldest first."""
    ids = list(call_ids)
    found: dict[int, list[str]] = {}
    if not ids:
        return found
    rows = session.execute(
        sa.select(CallbackRequest.call_id, CallbackRequest.status)
        .where(CallbackRequest.call_id.in_(ids))
        .order_by(CallbackRequest.call_id, CallbackRequest.id)
    ).all()
    for call_id, status in rows:
        if call_id is not None:
            found.setdefault(call_id, []).append(status)
    return found


def stream(
    session: DbSession, statement: sa.Executable, batch: int
) -> Iterator[Sequence[sa.Row[Any]]]:
    """The statement's rows in batches, from a server-side cursor where the database has one.

    `yield_per` makes SQLAlchemy fetch `batch` rows at a time (PostgreSQL: a named
    cursor); memory holds one batch, however many rows match.
    """
    result = session.execute(statement, execution_options={"yield_per": batch})
    try:
        yield from result.partitions()
    finally:
        result.close()
