"""The alert sweep (maintenance queue): ring the duty supervisor for alerts nobody
acknowledged (helpline/alerts/rules.py).

Workers queue `sweep_alerts` between their jobs, at most every ALERT_SWEEP_SECONDS
(`enqueue_alert_sweep`, from worker.HelplineWorker). With nothing due the sweep is one
indexed query. Each due alert is claimed with a conditional write before anyone is
dialled, so two sweeps at once ring once. The phone call only says, in the supervisor's
console language, that there is an urgent alert on the console: nothing of the caller.
"""

from __future__ import annotations

import datetime as dt
import logging

import redis
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from helpline.alerts import repository, rules
from helpline.extensions import db
from helpline.models import Staff, utcnow
from helpline.routing import live
from helpline.routing.staff_twiml import say_to_staff
from helpline.tasks.periodic import enqueue_once
from helpline.telephony.client import helpline_number, rest_client
from helpline.web import settings

log = logging.getLogger(__name__)
ALERT_SWEEP_KEY = "helpline:maintenance:alert-sweep"
ALERT_SWEEP_SECONDS = 5
RING_TIMEOUT_SECONDS = 30


def enqueue_alert_sweep(connection: redis.Redis) -> bool:
    """Queue `sweep_alerts` unless one was queued in the last ALERT_SWEEP_SECONDS (by any
    worker, between its jobs)."""
    return enqueue_once(
        connection, ALERT_SWEEP_KEY, ALERT_SWEEP_SECONDS, sweep_alerts, "sweep-alerts"
    )


def sweep_alerts() -> int:
    """Ring the duty supervisor for each alert due; returns how many alerts rang."""
    config = settings()
    now = utcnow()
    due = repository.due_to_ring(db.session, now, config.alert_ring_seconds)
    db.session.rollback()  # end the read; each claim is a transaction of its own
    rang = 0
    for event_id in due:
        if not repository.claim_ring(db.session, event_id, now):
            db.session.rollback()
            continue  # acknowledged, or rung by another sweep, meanwhile
        db.session.commit()  # claimed before anyone is dialled: a retry never rings twice
        rings = _ring_duty_supervisors(now, config.session_idle_minutes)
        repository.note_rings(db.session, event_id, rings)
        db.session.commit()
        log.info("alert %s unacknowledged: rang %s supervisor phone(s)", event_id, rings)
        rang += 1
    return rang


def _ring_duty_supervisors(now: dt.datetime, idle_minutes: int) -> int:
    """Dial the duty supervisors' phones; returns how many calls the provider accepted."""
    everyone = repository.supervisors(db.session, now, dt.timedelta(minutes=idle_minutes))
    wanted = set(rules.to_ring(supervisor for _, supervisor in everyone))
    staff = [person for person, _ in everyone if person.id in wanted]
    if not staff:
        log.warning("an alert is unacknowledged and no supervisor has a phone to ring")
        return 0
    client = rest_client(settings())
    try:
        return sum(_ring(client, person) for person in staff)
    finally:
        client.http_client.session.close()


def _ring(client: Client, person: Staff) -> bool:
    voice = live.whispers().for_language(person.ui_language)
    spoken = say_to_staff(voice, voice.texts["alert"], hang_up=False)
    spoken.pause(length=1)
    spoken.say(voice.texts["alert"], voice=voice.voice, language=voice.language)
    spoken.hangup()
    try:
        client.calls.create(
            to=person.phone_encrypted,
            from_=helpline_number(settings()),
            twiml=str(spoken),
            timeout=RING_TIMEOUT_SECONDS,
        )
    except TwilioException as error:
        log.warning("ringing supervisor %s failed: %s", person.id, type(error).__name__)
        return False
    return True
