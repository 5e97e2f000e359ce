"""The JSON the REST API answers with, shaped like Twilio's (the fields twilio-python reads).

Dates are RFC 2822 in UTC; every resource carries its `uri` relative to the API root.
Lists are pages: the records under one key, plus `uri`, `first_page_uri`,
`next_page_uri`, `previous_page_uri`, `page`, `page_size`, `start` and `end`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from helpline.sandbox.ids import API_VERSION
from helpline.sandbox.recording import Recording

from .legs import Leg
from .queues import CallQueue, Member
from .rooms import Participant, Room

Json = dict[str, Any]
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def date(value: dt.datetime | None) -> str | None:
    return None if value is None else format_datetime(value.astimezone(dt.UTC))


def account_uri(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}"


def call(leg: Leg) -> Json:
    """A Call resource. Read under the exchange's lock."""
    setup = leg.setup
    uri = f"{account_uri(setup.account_sid)}/Calls/{leg.sid}"
    duration = leg.duration()
    updated = leg.end_time or leg.start_time or leg.created
    return {
        "sid": leg.sid,
        "account_sid": setup.account_sid,
        "parent_call_sid": setup.parent_call_sid,
        "date_created": date(leg.created),
        "date_updated": date(updated),
        "to": setup.to,
        "to_formatted": setup.to,
        "from": setup.from_,
        "from_formatted": setup.from_,
        "phone_number_sid": None,
        "status": leg.status,
        "start_time": date(leg.start_time),
        "end_time": date(leg.end_time),
        "duration": None if duration is None else str(duration),
        "price": None,
        "price_unit": "USD",
        "direction": setup.direction,
        "answered_by": leg.answered_by,
        "api_version": API_VERSION,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": "0",
        "trunk_sid": None,
        "uri": f"{uri}.json",
        "subresource_uris": {
            "recordings": f"{uri}/Recordings.json",
            "notifications": f"{uri}/Notifications.json",
        },
    }


def conference(room: Room) -> Json:
    uri = f"{account_uri(room.account_sid)}/Conferences/{room.sid}"
    return {
        "sid": room.sid,
        "account_sid": room.account_sid,
        "friendly_name": room.name,
        "status": room.status,
        "date_created": date(room.created),
        "date_updated": date(room.updated),
        "api_version": API_VERSION,
        "region": "us1",
        "reason_conference_ended": room.reason_ended,
        "call_sid_ending_conference": room.ended_by,
        "uri": f"{uri}.json",
        "subresource_uris": {
            "participants": f"{uri}/Participants.json",
            "recordings": f"{uri}/Recordings.json",
        },
    }


def participant(room: Room, who: Participant) -> Json:
    return {
        "account_sid": room.account_sid,
        "call_sid": who.call_sid,
        "conference_sid": room.sid,
        "label": who.label,
        "call_sid_to_coach": who.call_sid_to_coach,
        "coaching": who.coaching,
        "date_created": date(who.joined),
        "date_updated": date(who.updated or who.joined),
        "end_conference_on_exit": who.end_on_exit,
        "start_conference_on_enter": who.start_on_enter,
        "muted": who.muted,
        "hold": who.hold,
        "status": "complete" if who.left else "connected",
        "queue_time": None,
        "uri": f"{account_uri(room.account_sid)}/Conferences/{room.sid}/Participants/"
        f"{who.call_sid}.json",
    }


def pending_participant(
    room: Room, leg: Leg, label: str | None, options: Mapping[str, bool]
) -> Json:
    """A participant added through the API whose call has not joined yet."""
    status = {"queued": "queued", "ringing": "ringing", "in-progress": "connecting"}
    return {
        "account_sid": room.account_sid,
        "call_sid": leg.sid,
        "conference_sid": room.sid,
        "label": label,
        "call_sid_to_coach": None,
        "coaching": options.get("coaching", False),
        "date_created": date(leg.created),
        "date_updated": date(leg.created),
        "end_conference_on_exit": options.get("end_on_exit", False),
        "start_conference_on_enter": options.get("start_on_enter", True),
        "muted": options.get("muted", False),
        "hold": False,
        "status": status.get(leg.status, "failed"),
        "queue_time": "0",
        "uri": f"{account_uri(room.account_sid)}/Conferences/{room.sid}/Participants/"
        f"{leg.sid}.json",
    }


def queue(found: CallQueue) -> Json:
    uri = f"{account_uri(found.account_sid)}/Queues/{found.sid}"
    return {
        "sid": found.sid,
        "account_sid": found.account_sid,
        "friendly_name": found.name,
        "current_size": len(found.members),
        "max_size": found.max_size,
        "average_wait_time": found.average_wait(),
        "date_created": date(found.created),
        "date_updated": date(found.updated or found.created),
        "uri": f"{uri}.json",
        "subresource_uris": {"members": f"{uri}/Members.json"},
    }


def member(found: CallQueue, who: Member, now: float) -> Json:
    return {
        "call_sid": who.leg.sid,
        "queue_sid": found.sid,
        "date_enqueued": date(who.entered_date),
        "position": found.position(who),
        "wait_time": round(now - who.entered),
        "uri": f"{account_uri(found.account_sid)}/Queues/{found.sid}/Members/{who.leg.sid}.json",
    }


def recording(found: Recording) -> Json:
    uri = f"{account_uri(found.account_sid)}/Recordings/{found.sid}"
    return {
        "sid": found.sid,
        "account_sid": found.account_sid,
        "call_sid": found.call_sid,
        "duration": str(found.duration),
        "channels": found.channels,
        "source": found.source,
        "status": "completed",
        "date_created": date(found.started),
        "start_time": date(found.started),
        "api_version": API_VERSION,
        "uri": f"{uri}.json",
    }


def page(
    key: str,
    items: Sequence[Json],
    uri: str,
    args: Mapping[str, str],
    kept: Callable[[str], bool] = lambda name: name not in ("Page", "PageSize", "PageToken"),
) -> Json:
    """One page of `items` by the Page and PageSize arguments (filters kept in the links)."""
    size = _bounded(args.get("PageSize"), DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    number = _bounded(args.get("Page"), 0, 0, 10**6)
    filters = {name: value for name, value in args.items() if kept(name)}

    def link(at: int) -> str:
        return f"{uri}?{urlencode({**filters, 'Page': at, 'PageSize': size})}"

    start = number * size
    chosen = list(items[start : start + size])
    more = start + size < len(items)
    return {
        key: chosen,
        "uri": link(number),
        "first_page_uri": link(0),
        "next_page_uri": link(number + 1) if more else None,
        "previous_page_uri": link(number - 1) if number > 0 else None,
        "page": number,
        "page_size": size,
        "start": start,
        "end": start + max(len(chosen) - 1, 0),
    }


def _bounded(raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None or not raw.isdigit():
        return default
    return max(low, min(int(raw), high))
