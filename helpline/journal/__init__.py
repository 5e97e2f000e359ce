"""A call log that survives a database outage (docs/resilience.md).

When a caller's webhook cannot reach the database, `voice.common.safe` answers the
fallback TwiML as before and `record` appends the request to this process's journal
file (`store`): encrypted, fsync'ed, in `<instance>/journal/`. `replay` writes the
entries into the call log once the database answers again: on the next webhook of the
same process, by the workers' periodic `replay_journal` job, or `helpline journal replay`.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask, current_app, request

from helpline.journal.store import Entry, Journal, new_key
from helpline.privacy import crypto as privacy

EXTENSION = "helpline.journal"
# What a replay needs of a webhook's form; nothing else is kept.
FORM_NAMES = (
    "CallSid",
    "ParentCallSid",
    "From",
    "To",
    "Direction",
    "CallStatus",
    "SequenceNumber",
    "Timestamp",
    "CallDuration",
    "Digits",
    "DialCallStatus",
    "QueueResult",
    "QueueTime",
    "RecordingSid",
    "RecordingUrl",
    "RecordingStatus",
    "RecordingDuration",
    "ErrorCode",
    "StatusCallbackEvent",
)
ARG_LIMIT = 64
VALUE_LIMIT = 512


def journal_of(app: Flask) -> Journal:
    """The app's journal, made on first use (in `<instance path>/journal`)."""
    journal: Journal | None = app.extensions.get(EXTENSION)
    if journal is None:
        journal = Journal(
            app.extensions["helpline.settings"].instance_path / "journal", privacy.keyring()
        )
        app.extensions[EXTENSION] = journal
    return journal


def record() -> None:
    """Journal the current webhook request, durably (raises OSError if it cannot)."""
    form = {name: request.form[name][:VALUE_LIMIT] for name in FORM_NAMES if name in request.form}
    args = {
        name: value[:ARG_LIMIT] for name, value in request.args.items() if len(name) <= ARG_LIMIT
    }
    entry = Entry(
        key=new_key(request.headers.get("I-Twilio-Idempotency-Token")),
        webhook=request.endpoint or "",
        path=request.path,
        args=args,
        form=form,
        received_at=dt.datetime.now(dt.UTC),
    )
    journal_of(current_app._get_current_object()).append(entry)  # type: ignore[attr-defined]
