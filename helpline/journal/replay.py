"""Replay journalled webhooks into the call log, once each.

Two kinds of webhook are journalled:

- Those that report what the provider saw (`/voice/status`, `/voice/recording`,
  `/voice/fallback`, `/voice/room`, a callback leg's status): replaying runs the
  webhook's own view on the journalled request (its signature was checked when it came),
  so the call row, timeline entries, outcome, ended time and recording are exactly what
  the webhook writes.
- Those of the caller's way through the IVR and the queue (`/voice/incoming`, `/step`,
  `/wait`, `/hold`, `/connect`, `/requeue`): the caller heard the fallback (the apology
  and the duty line), not the IVR, so replaying records the call (`calls.start_call`)
  and a `fallback` event, never an IVR step that did not happen.

Every replayed call gets a `journalled` event, and the entries the replay wrote take
the time the webhook came (`received_at`), not the time of the replay. Each entry's key
goes into `journal_replay` in the same transaction as its writes: a second replay of
the same entry, by any process, fails there and writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import inspect
import logging
from typing import cast

import sqlalchemy as sa
from flask import Flask

from helpline.calls import log as calls
from helpline.calls.params import VoiceParams
from helpline.extensions import db
from helpline.journal import journal_of
from helpline.journal.store import Claimed, Entry, Journal
from helpline.models import Call, CallEvent
from helpline.models.base import DbSession
from helpline.models.enums import CallEventKind, EventSource
from helpline.models.journal import JournalReplay
from helpline.staff import accounts as staffing

log = logging.getLogger(__name__)

BY_VIEW = frozenset(
    {
        "voice.status",
        "voice.recording",
        "voice.fallback",
        "voice_queue.room",
        "voice_callbacks.status",
    }
)
FELL_BACK = frozenset(
    {
        "voice.incoming",
        "voice.step",
        "voice_queue.wait",
        "voice_queue.hold",
        "voice_queue.connect",
        "voice_queue.requeue",
    }
)
JOURNALLED = BY_VIEW | FELL_BACK
# These only add to a call already known; before it is, they wait (its first webhook
# may be in another process's file), for up to WAIT_FOR_CALL.
NEEDS_CALL = frozenset({"voice.recording", "voice.fallback", "voice_queue.room"})
WAIT_FOR_CALL = dt.timedelta(hours=1)
LATE = "journalled during a database outage"
_EVENT = cast("sa.Table", CallEvent.__table__)


class Result(enum.StrEnum):
    WRITTEN = "written"
    DUPLICATE = "duplicate"  # replayed before
    DEFERRED = "deferred"  # its call is not known yet
    ASIDE = "aside"  # cannot be replayed: kept in an `.aside` file


@dataclasses.dataclass
class Report:
    written: int = 0
    duplicate: int = 0
    deferred: int = 0
    aside: int = 0
    interrupted: bool = False  # the database went away again; the rest waits

    def count(self, result: Result) -> None:
        setattr(self, result.value, getattr(self, result.value) + 1)


def replay(app: Flask, journal: Journal | None = None) -> Report:
    """Replay every pending entry (oldest first) in the app context; returns counts."""
    journal = journal or journal_of(app)
    report = Report()
    claimed = list(journal.claim_all())
    entries = sorted(
        (entry for file in claimed for entry in file.entries),
        key=lambda e: (e.received_at, VoiceParams.parse(e.form).sequence_number or 0),
    )
    later: list[Entry] = []
    aside: list[str] = []
    for position, entry in enumerate(entries):
        try:
            result = replay_entry(app, entry)
        except sa.exc.OperationalError:
            _discard()
            later.extend(entries[position:])
            report.interrupted = True
            log.warning("journal replay stopped: the database is unreachable again")
            break
        except Exception:  # a bad entry must not hold up the others: kept aside, counted
            log.exception("journal entry of %s could not be replayed; set aside", entry.webhook)
            _discard()
            result = Result.ASIDE
        if result == Result.DEFERRED:
            later.append(entry)
        elif result == Result.ASIDE:
            aside.append(journal.seal(entry))
        report.count(result)
    _settle_files(journal, claimed, later, aside, report)
    if claimed:
        log.info(
            "journal replayed: %s written, %s duplicate, %s waiting for their call, %s set aside",
            report.written,
            report.duplicate,
            report.deferred,
            report.aside,
        )
    if not later:
        journal.mark_replayed()
    return report


def _settle_files(
    journal: Journal, claimed: list[Claimed], later: list[Entry], aside: list[str], report: Report
) -> None:
    """Put back what waits, set aside what cannot be replayed, then drop the claims."""
    for entry in later:
        journal.append(entry)
    unreadable = [line for file in claimed for line in file.unreadable]
    report.aside += len(unreadable)
    if claimed:
        where = journal.set_aside(claimed[0], aside + unreadable)
        if where is not None:
            log.warning(
                "journal: %s entries cannot be replayed; kept in %s",
                len(aside) + len(unreadable),
                where.name,
            )
    for file in claimed:
        journal.release(file)


def replay_entry(app: Flask, entry: Entry) -> Result:
    """Write one entry into the call log in its own transaction (in an app context)."""
    session = db.session
    if entry.webhook not in JOURNALLED:
        return Result.ASIDE
    params = VoiceParams.parse(entry.form)
    call = _find(session, params, entry.args)
    if call is None and entry.webhook in NEEDS_CALL:
        # Decided before the key is claimed: on SQLite, a savepoint taken outside a
        # transaction commits when released, so a claim rolled back here would stay.
        session.rollback()
        young = dt.datetime.now(dt.UTC) - entry.received_at < WAIT_FOR_CALL
        return Result.DEFERRED if young else Result.ASIDE
    if not _claim(session, entry.key):
        return Result.DUPLICATE
    before = _Before.of(session, call)
    if entry.webhook in FELL_BACK:
        call = call or _start(session, params, entry)
        if call is not None:
            calls.add_event(
                session,
                call,
                CallEventKind.FALLBACK,
                EventSource.TWILIO,
                {"reason": "database unreachable"},
            )
        session.commit()
    else:
        _run_view(app, entry)
        session.commit()
        call = _find(session, params, entry.args)
    if call is not None:
        _mark_late(session, call, entry, params, before)
        session.commit()
    return Result.WRITTEN


def _claim(session: DbSession, key: str) -> bool:
    """Take the entry's key for this transaction; False if it was replayed already."""
    try:
        with session.begin_nested():
            session.add(JournalReplay(key=key))
    except sa.exc.IntegrityError:
        session.rollback()
        return False
    return True


def _find(session: DbSession, params: VoiceParams, args: dict[str, str]) -> Call | None:
    if params.call_sid is not None:
        call = calls.find_call(session, params.call_sid)
        if call is not None:
            return call
    raw = args.get("c", "")
    if raw.isdigit() and len(raw) <= 18:
        return session.get(Call, int(raw))
    return None


def _start(session: DbSession, params: VoiceParams, entry: Entry) -> Call | None:
    """The call a journalled IVR webhook belongs to (not a member of staff calling the
    staff line, which `/voice/incoming` would not log as a call either)."""
    if params.call_sid is None:
        return None
    staff_line = entry.webhook == "voice.incoming" and entry.args.get("as") != "caller"
    if staff_line and staffing.find_by_phone(session, params.caller) is not None:
        return None
    return calls.start_call(session, params, params.call_sid)


@dataclasses.dataclass(frozen=True)
class _Before:
    """What the call was before the replay (nothing, for a call it creates)."""

    existed: bool
    ended: bool
    last_event_id: int

    @classmethod
    def of(cls, session: DbSession, call: Call | None) -> _Before:
        if call is None:
            return cls(existed=False, ended=False, last_event_id=0)
        last = session.scalar(
            sa.select(sa.func.max(_EVENT.c.id)).where(_EVENT.c.call_id == call.id)
        )
        return cls(existed=True, ended=call.ended_at is not None, last_event_id=last or 0)


def _mark_late(
    session: DbSession, call: Call, entry: Entry, params: VoiceParams, before: _Before
) -> None:
    """Say on the timeline that this was written late, and date what the replay wrote
    to when the webhook came."""
    calls.add_event(
        session,
        call,
        CallEventKind.JOURNALLED,
        EventSource.TWILIO,
        {"webhook": entry.path, "received_at": entry.received_at.isoformat(), "note": LATE},
    )
    session.execute(
        sa.update(_EVENT)
        .where(_EVENT.c.call_id == call.id, _EVENT.c.id > before.last_event_id)
        .values(occurred_at=entry.received_at)
    )
    if not before.existed and call.started_at > entry.received_at:
        call.started_at = entry.received_at
    ended_now = not before.ended and call.ended_at is not None
    if ended_now and params.timestamp is None and call.ended_at is not None:
        call.ended_at = max(entry.received_at, call.started_at)
        if call.dequeued_at is not None and call.dequeued_at > call.ended_at:
            call.dequeued_at = call.ended_at


def _run_view(app: Flask, entry: Entry) -> None:
    """The webhook's own view on the journalled request (signature and `safe` aside:
    the signature was checked when it came, and a failure here must reach `replay`)."""
    view = inspect.unwrap(app.view_functions[entry.webhook])
    with app.test_request_context(
        entry.path, method="POST", query_string=entry.args, data=entry.form
    ):
        view()


def _discard() -> None:
    try:
        db.session.rollback()
    except sa.exc.DBAPIError:
        db.session().invalidate()
