"""Everything about one call, for the supervisor's call detail page."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from helpline.models import (
    Call,
    CallbackRequest,
    CallEvent,
    ContactRecord,
    ContactRecordVersion,
    Recording,
    Voicemail,
)
from helpline.models.base import DbSession
from helpline.models.calls import TIMELINE_ORDER


@dataclasses.dataclass(frozen=True)
class CallDetail:
    call: Call
    events: Sequence[CallEvent]
    record: ContactRecord | None
    versions: Sequence[ContactRecordVersion]
    callbacks: Sequence[CallbackRequest]
    answers_callback: CallbackRequest | None  # the request this call (a callback) answers
    recordings: Sequence[Recording]
    # The voicemail message each voicemail recording was filed as, by recording id.
    voicemails: Mapping[int, Voicemail] = dataclasses.field(default_factory=dict)


def find_call_detail(session: DbSession, call_id: int) -> CallDetail | None:
    call = session.get(Call, call_id)
    if call is None:
        return None
    events = session.scalars(
        sa.select(CallEvent).where(CallEvent.call_id == call_id).order_by(*TIMELINE_ORDER)
    ).all()
    record = session.scalars(
        sa.select(ContactRecord)
        .where(ContactRecord.call_id == call_id)
        .options(selectinload(ContactRecord.referrals), selectinload(ContactRecord.versions))
    ).one_or_none()
    callbacks = session.scalars(
        sa.select(CallbackRequest)
        .where(CallbackRequest.call_id == call_id)
        .order_by(CallbackRequest.created_at, CallbackRequest.id)
    ).all()
    answers = (
        None
        if call.callback_request_id is None
        else session.get(CallbackRequest, call.callback_request_id)
    )
    recordings = session.scalars(
        sa.select(Recording)
        .where(Recording.call_id == call_id)
        .order_by(Recording.created_at, Recording.id)
    ).all()
    return CallDetail(
        call=call,
        events=events,
        record=record,
        versions=record.versions if record is not None else (),
        callbacks=callbacks,
        answers_callback=answers,
        recordings=recordings,
        voicemails={
            v.recording_id: v
            for v in session.scalars(sa.select(Voicemail).where(Voicemail.call_id == call_id))
        },
    )
