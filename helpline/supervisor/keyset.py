"""Keyset pagination: pages of a query ordered by (key, id), with no OFFSET.

A page starts strictly after (or, going back, strictly before) the (key, id) of a row,
so a page costs the same however deep it is, and rows sharing a key are neither lost
nor repeated. The condition is written `key <= k AND (key < k OR id < i)` rather than
as a row value: both SQLite and PostgreSQL turn its first half into an index range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from helpline.models.base import DbSession

Bound = tuple[Any, int]


@dataclasses.dataclass(frozen=True)
class Page:
    rows: Sequence[sa.Row[Any]]
    next_after: Bound | None  # where the next page starts, if there is one
    previous_before: Bound | None  # where the previous page ends, if there is one


def _beyond(key: Any, tiebreak: Any, bound: Bound, descending: bool) -> sa.ColumnElement[bool]:
    value, row_id = bound
    if descending:
        return sa.and_(key <= value, sa.or_(key < value, tiebreak < row_id))
    return sa.and_(key >= value, sa.or_(key > value, tiebreak > row_id))


def ordered(statement: sa.Select[Any], key: Any, tiebreak: Any, descending: bool) -> sa.Select[Any]:
    """The statement in the pages' order (exports stream it whole)."""
    if descending:
        return statement.order_by(key.desc(), tiebreak.desc())
    return statement.order_by(key.asc(), tiebreak.asc())


def fetch(
    session: DbSession,
    statement: sa.Select[Any],
    *,
    key: Any,
    tiebreak: Any,
    descending: bool,
    size: int,
    bound_of: Callable[[sa.Row[Any]], Bound],
    after: Bound | None = None,
    before: Bound | None = None,
) -> Page:
    """One page: the first, the one after `after`, or the one before `before`."""
    if before is not None:
        backwards = ordered(
            statement.where(_beyond(key, tiebreak, before, not descending)),
            key,
            tiebreak,
            not descending,
        )
        rows = list(session.execute(backwards.limit(size + 1)).all())
        if len(rows) <= size:  # back at the start: show the first page as it is now
            return fetch(
                session,
                statement,
                key=key,
                tiebreak=tiebreak,
                descending=descending,
                size=size,
                bound_of=bound_of,
            )
        rows = rows[:size]
        rows.reverse()
        return Page(rows, bound_of(rows[-1]), bound_of(rows[0]))

    query = statement
    if after is not None:
        query = query.where(_beyond(key, tiebreak, after, descending))
    rows = list(session.execute(ordered(query, key, tiebreak, descending).limit(size + 1)).all())
    more = len(rows) > size
    rows = rows[:size]
    return Page(
        rows,
        bound_of(rows[-1]) if more else None,
        bound_of(rows[0]) if after is not None and rows else None,
    )
