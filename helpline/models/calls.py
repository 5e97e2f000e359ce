"""Callers, calls, the append-only call timeline, consents and recordings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpline.models.base import Base, DbSession, EncryptedText, UTCDateTime, partial_index, utcnow
from helpline.models.enums import CallDirection, CallOutcome

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class Caller(Base):
    """A person who called or was called, known only by a blind index of the number."""

    __tablename__ = "caller"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number_index: Mapped[str] = mapped_column(
        sa.String(64), unique=True, info={"blind_index_of": "number_encrypted"}
    )
    number_encrypted: Mapped[str] = mapped_column(EncryptedText)
    preferred_language: Mapped[str | None] = mapped_column(sa.String(8))
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    consents: Mapped[list[CallerConsent]] = relationship(
        back_populates="caller", order_by="CallerConsent.recorded_at"
    )

    def consent(self, kind: str) -> bool:
        """The latest answer the caller gave for this kind of consent (False if never asked)."""
        return latest_answer(((c.kind, c.is_granted) for c in self.consents), kind)


def latest_answer(answers: Iterable[tuple[str, bool]], kind: str) -> bool:
    """Of a caller's consent answers (kind, granted), oldest first, the latest for `kind`;
    False if they were never asked."""
    granted = False
    for answered, value in answers:
        if answered == kind:
            granted = value
    return granted


class CallerConsent(Base):
    """One answer a caller gave to a consent question; the latest answer wins."""

    __tablename__ = "caller_consent"
    __table_args__ = (sa.Index("ix_caller_consent_caller_kind", "caller_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    caller_id: Mapped[int] = mapped_column(sa.ForeignKey("caller.id", ondelete="CASCADE"))
    call_id: Mapped[int | None] = mapped_column(sa.ForeignKey("call.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    is_granted: Mapped[bool]
    source: Mapped[str] = mapped_column(sa.String(16), default="ivr")
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    caller: Mapped[Caller] = relationship(back_populates="consents")


# Waiting for a counsellor now: queued, not dequeued (answered, left or hung up), not ended.
WAITING = "queued_at IS NOT NULL AND dequeued_at IS NULL AND ended_at IS NULL"
# Emergency calls not ended: the dispatcher looks among them for one still without an
# interpreter it needs (routing/offers.py `needing_interpreter`).
EMERGENCY_OPEN = "is_emergency AND ended_at IS NULL"
# An opening-hours check that found the line closed (`CallEventKind.HOURS_CHECKED`), as
# each database reads `data["open"].as_boolean().is_(False)`: on PostgreSQL the planner
# uses the index only when the query's condition is this one.
CLOSED_HOURS_CHECK_PG = "kind = 'hours_checked' AND ((data ->> 'open')::boolean) IS FALSE"
CLOSED_HOURS_CHECK_SQLITE = "kind = 'hours_checked' AND json_extract(data, '$.open') IS 0"


class Call(Base):
    """One call leg the helpline handled, inbound or outbound (a callback)."""

    __tablename__ = "call"
    __table_args__ = (
        # Keyset pagination of the supervisor's call log: (started_at, id) is its order.
        sa.Index("ix_call_started_id", "started_at", "id"),
        sa.Index("ix_call_started_language", "started_at", "language"),
        sa.Index("ix_call_started_outcome", "started_at", "outcome"),
        sa.Index("ix_call_counsellor_started", "counsellor_id", "started_at"),
        sa.Index("ix_call_interpreter_started", "interpreter_id", "started_at"),
        sa.Index("ix_call_site_started", "site_id", "started_at"),
        sa.Index("ix_call_caller_started", "caller_id", "started_at"),
        # A callback's attempts (callbacks.service.current_call, a case's timeline).
        sa.Index("ix_call_callback_request", "callback_request_id"),
        sa.Index("ix_call_wait_id", "wait_seconds", "id"),
        sa.Index("ix_call_duration_id", "duration_seconds", "id"),
        partial_index("ix_call_waiting", "queued_at", "id", where=WAITING),
        partial_index("ix_call_emergency_open", "answered_at", "id", where=EMERGENCY_OPEN),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_sid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    parent_call_sid: Mapped[str | None] = mapped_column(sa.String(64))
    direction: Mapped[str] = mapped_column(sa.String(16), default=CallDirection.INBOUND.value)
    caller_id: Mapped[int | None] = mapped_column(sa.ForeignKey("caller.id", ondelete="SET NULL"))
    is_number_withheld: Mapped[bool] = mapped_column(default=False)
    twilio_status: Mapped[str | None] = mapped_column(sa.String(16))
    last_sequence_number: Mapped[int | None]

    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    language_selected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    queued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dequeued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # stopped waiting
    offered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    wrap_up_ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Whole seconds, stored so the call log can filter and sort on them with an index;
    # `_settle_seconds` recomputes them on every ORM flush (a Core UPDATE of the phase
    # times must set them too). Wait: from queued until answered, or until the caller
    # left; duration: from started until ended.
    wait_seconds: Mapped[int | None]
    duration_seconds: Mapped[int | None]

    language: Mapped[str | None] = mapped_column(sa.String(8))
    topic: Mapped[str | None] = mapped_column(sa.String(32))
    # What the caller said of their age in the IVR (`child`: under 18, or `adult`).
    age_group: Mapped[str | None] = mapped_column(sa.String(8))
    priority: Mapped[int] = mapped_column(default=0)
    # Waits (or waited) in an emergency queue: at the front, for any counsellor.
    is_emergency: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    flow_id: Mapped[str | None] = mapped_column(sa.String(64))
    flow_version: Mapped[str | None] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(24), default=CallOutcome.IN_PROGRESS.value)

    counsellor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    interpreter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    callback_request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("callback_request.id", ondelete="SET NULL", use_alter=True)
    )
    is_recording_consented: Mapped[bool] = mapped_column(default=False)
    # Where the call is in its IVR flow (helpline.ivr.engine.State), between webhooks.
    ivr_state: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    caller: Mapped[Caller | None] = relationship()
    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by=lambda: TIMELINE_ORDER, passive_deletes=True
    )
    recordings: Mapped[list[Recording]] = relationship(back_populates="call")


def whole_seconds(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    """Seconds from start to end, rounded half up; None unless both are known.

    `trunc(x + 0.5)`, exactly as migration 0004 computed it in SQL for existing rows.
    """
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() + 0.5)


@sa.event.listens_for(Call, "before_insert")
@sa.event.listens_for(Call, "before_update")
def _settle_seconds(_mapper: Any, _connection: Any, call: Call) -> None:
    """Keep the stored wait and duration in step with the phase times on every ORM flush."""
    # On insert the column default applies only after this hook: set it here.
    if cast("dt.datetime | None", call.started_at) is None:
        call.started_at = utcnow()
    call.wait_seconds = whole_seconds(call.queued_at, call.answered_at or call.ended_at)
    call.duration_seconds = whole_seconds(call.started_at, call.ended_at)


class CallEvent(Base):
    """One typed entry in a call's append-only timeline.

    An entry written for a provider's callback keeps the provider's time (`occurred_at`,
    its Timestamp) and SequenceNumber, and `delivery`: which callback it was, the same on
    every redelivery (`calls.log.delivery_key`). Unique per call, `delivery` stores
    each callback once, whatever arrives twice (`append_once`). A timeline is read in
    `TIMELINE_ORDER`. `data` never holds a phone number or note text.
    """

    __tablename__ = "call_event"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "delivery", name="uq_call_event_call_delivery"),
        sa.Index("ix_call_event_call_occurred", "call_id", "occurred_at"),
        sa.Index("ix_call_event_kind_occurred", "kind", "occurred_at"),
        # The programme report's calls out of hours: the opening-hours checks that found
        # the line closed, by time (the report's condition, word for word, on PostgreSQL).
        sa.Index(
            "ix_call_event_closed_hours",
            "occurred_at",
            "call_id",
            postgresql_where=sa.text(CLOSED_HOURS_CHECK_PG),
            sqlite_where=sa.text(CLOSED_HOURS_CHECK_SQLITE),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    source: Mapped[str] = mapped_column(sa.String(16))
    sequence_number: Mapped[int | None]
    delivery: Mapped[str | None] = mapped_column(sa.String(80))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    call: Mapped[Call] = relationship(back_populates="events")


# A call's timeline in the order things happened: by time (the provider's, for its
# callbacks), then by the provider's SequenceNumber (its Timestamp has whole seconds),
# then as written.
TIMELINE_ORDER: tuple[sa.ColumnExpressionArgument[Any], ...] = (
    CallEvent.occurred_at,
    CallEvent.sequence_number.asc().nulls_last(),
    CallEvent.id,
)


class Recording(Base):
    """A reference to a recording held by the telephony provider (never the audio itself)."""

    __tablename__ = "recording"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("call.id", ondelete="CASCADE"), index=True)
    recording_sid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    kind: Mapped[str] = mapped_column(sa.String(16), default="call")  # call | voicemail
    duration_seconds: Mapped[int | None]
    channels: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the provider confirmed the audio deleted (retention; None while it may hold it).
    provider_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship(back_populates="recordings")


_INSERT_EVENT = sa.insert(cast("sa.Table", CallEvent.__table__))


def timeline_entry(
    kind: str,
    source: str,
    data: dict[str, Any] | None = None,
    *,
    sequence_number: int | None = None,
    staff_id: int | None = None,
    delivery: str | None = None,
    occurred_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """One entry of a call's timeline, as `append_timeline` writes it (now, unless the
    provider said when it happened)."""
    return {
        "kind": kind,
        "source": source,
        "data": data or {},
        "sequence_number": sequence_number,
        "staff_id": staff_id,
        "delivery": delivery,
        "occurred_at": occurred_at or utcnow(),
    }


def append_timeline(session: DbSession, call_id: int, entries: list[dict[str, Any]]) -> None:
    """Write timeline entries with one Core INSERT: no RETURNING, no identity map.

    Every entry is written this way: through the ORM's unit of work, the entries of an
    IVR step cost more than the rest of the step (docs/BENCHMARKS.md). A loaded
    `Call.events` collection does not see them until it is loaded again.
    """
    if entries:  # one compiled statement, executed for each row (psycopg pipelines them)
        rows = [{**entry, "call_id": call_id} for entry in entries]
        session.execute(_INSERT_EVENT, rows)


def append_once(session: DbSession, call_id: int, entry: dict[str, Any]) -> bool:
    """Write a callback's timeline entry unless its `delivery` is already on the call's
    timeline; False for a duplicate (a redelivery, or the same callback racing itself).

    In a savepoint: a duplicate leaves the rest of the transaction as it was.
    """
    try:
        with session.begin_nested():
            append_timeline(session, call_id, [entry])
    except sa.exc.IntegrityError:
        return False
    return True
