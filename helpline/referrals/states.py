"""The closed loop of a referral, as pure rules: which step follows which, who takes it,
and when the next one is due.

    proposed -> consented -> sent -> accepted -> service_provided -> closed
                                  -> declined -> closed
    proposed, consented -> closed (the person said no, or the need passed)

The case worker (the counsellor who wrote the record) records the person's consent,
sends and closes. The destination answers: accepts, declines with a reason, records the
service provided. For a centre linked to one of the helpline's sites that is its SSC
focal point; for any other destination (a hospital, the police) the case worker records
what the destination said. A referral cannot be sent without consent: `sent` only
follows `consented`.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping

from helpline.models.enums import ReferralStatus as S


class Party(enum.StrEnum):
    """Who takes a step."""

    CASE_WORKER = "case_worker"
    DESTINATION = "destination"


NEXT: Mapping[S, frozenset[S]] = {
    S.PROPOSED: frozenset({S.CONSENTED, S.CLOSED}),
    S.CONSENTED: frozenset({S.SENT, S.CLOSED}),
    S.SENT: frozenset({S.ACCEPTED, S.DECLINED}),
    S.ACCEPTED: frozenset({S.SERVICE_PROVIDED}),
    S.DECLINED: frozenset({S.CLOSED}),
    S.SERVICE_PROVIDED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}
TAKEN_BY: Mapping[S, Party] = {
    S.PROPOSED: Party.CASE_WORKER,  # with the record, when it is finalised
    S.CONSENTED: Party.CASE_WORKER,
    S.SENT: Party.CASE_WORKER,
    S.CLOSED: Party.CASE_WORKER,
    S.ACCEPTED: Party.DESTINATION,
    S.DECLINED: Party.DESTINATION,
    S.SERVICE_PROVIDED: Party.DESTINATION,
}
# The destination knows of a referral from the moment it is sent.
SEEN_BY_DESTINATION = frozenset({S.SENT, S.ACCEPTED, S.DECLINED, S.SERVICE_PROVIDED, S.CLOSED})
OPEN = frozenset(status for status in S if status is not S.CLOSED)
# Steps that need a written reason or note.
NEEDS_NOTE = frozenset({S.DECLINED})


class StepRefused(ValueError):
    """That step cannot follow the referral's status; the message is safe to show."""


def status_of(value: str) -> S:
    """A stored status; StepRefused for one this version does not know."""
    try:
        return S(value)
    except ValueError:
        raise StepRefused(f"Unknown referral status {value!r}.") from None


def check_step(current: str, wanted: S) -> None:
    """Refuse a step that cannot follow `current` (consent before sending included)."""
    status = status_of(current)
    if wanted in NEXT[status]:
        return
    if wanted is S.SENT and status is S.PROPOSED:
        raise StepRefused("Record the person's consent before sending the referral.")
    raise StepRefused(f"A referral that is {status.value} cannot become {wanted.value}.")


def party(step: S) -> Party:
    return TAKEN_BY[step]


def due_after(status: S, at: dt.datetime, act_within_days: int) -> dt.datetime | None:
    """When the step after `status`, reached `at`, is overdue; None once closed."""
    if status not in OPEN:
        return None
    return at + dt.timedelta(days=act_within_days)


def is_overdue(status: str, due_at: dt.datetime | None, now: dt.datetime) -> bool:
    return due_at is not None and status != S.CLOSED.value and due_at <= now


def open_first_key(status: str, due_at: dt.datetime | None, now: dt.datetime) -> tuple[int, int]:
    """Sort key: overdue first, then open ones, then closed ones."""
    closed = status == S.CLOSED.value
    return (1 if closed else 0, 0 if is_overdue(status, due_at, now) else 1)
