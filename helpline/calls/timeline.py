"""A call's timeline made readable: labels for event kinds, their data, and the IVR path.

Pure. Event data never holds a phone number or note text (see CallEvent), so it is
shown as it is, escaped by the template.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

LABELS = {
    "call_started": "Call started",
    "status_callback": "Telephony status",
    "ivr_step": "IVR step",
    "key_pressed": "Key pressed",
    "input_timeout": "No key pressed in time",
    "input_invalid": "Key not on the menu",
    "branch": "IVR moved on",
    "hours_checked": "Opening hours checked",
    "out_of_sequence": "Out-of-sequence request",
    "dial_result": "Dial result",
    "language_selected": "Language selected",
    "topic_selected": "Topic selected",
    "age_group_selected": "Age group given",
    "consent_recorded": "Consent recorded",
    "emergency_transfer": "Put through to the duty line",
    "queued": "Queued",
    "queue_result": "Left the queue",
    "queue_leave": "Taken out of the queue",
    "callback_asked": "Asked for a callback while waiting",
    "announcement": "Position announced",
    "reserved": "Staff reserved",
    "offered": "Offered to staff",
    "offer_accepted": "Offer accepted",
    "offer_declined": "Offer declined",
    "offer_timeout": "Offer not answered",
    "offer_failed": "Staff phone could not be rung",
    "connected": "Caller connected to the room",
    "requeued": "Back in the queue (the counsellor left first)",
    "room_event": "Conference room",
    "room_ended": "Conversation ended",
    "staff_joined": "Staff joined",
    "interpreter_joined": "Interpreter joined",
    "participant_left": "Participant left",
    "hold": "Caller put on hold",
    "unhold": "Caller taken off hold",
    "ended_by_staff": "Ended by staff",
    "supervisor_listen": "Supervisor listening",
    "supervisor_coach": "Supervisor coaching",
    "transferred": "Transferred to another counsellor",
    "callback_requested": "Callback requested",
    "voicemail_recorded": "Voicemail recorded",
    "recording_ready": "Recording ready",
    "callback_attempt": "Callback attempt",
    "callback_outcome": "Callback outcome",
    "ended": "Call ended",
}


def label(kind: str) -> str:
    return LABELS.get(kind) or kind.replace("_", " ").capitalize()


def show(value: Any) -> str:
    """One data value as text: yes/no, lists joined, mappings as key=value."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={show(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return ", ".join(show(v) for v in value)
    return str(value)


def details(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An event's data as (name, value) pairs, in a stable order."""
    return [(name.replace("_", " "), show(value)) for name, value in sorted(data.items())]


def ivr_path(events: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """The IVR nodes a call went through, in order, from its timeline events."""
    path: list[str] = []
    for kind, data in events:
        node = None
        if kind == "ivr_step" and data.get("action") == "start":
            node = data.get("node")
        elif kind == "branch":
            node = data.get("to")
        if isinstance(node, str) and (not path or path[-1] != node):
            path.append(node)
    return path
