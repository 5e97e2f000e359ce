"""Conference rooms: who is in them, who hears whom, and the events they report.

Rules (TWILIO.md §1, §2; twilio-python's Conference and Participant resources):
- A room is `init` until a participant with startConferenceOnEnter joins: then it starts
  (`conference-start`, status `in-progress`). Until then everyone waits to the waitUrl.
- It ends (`conference-end`, status `completed`) when the last participant leaves or is
  kicked, when a participant with endConferenceOnExit leaves or is kicked, or through the
  REST API; ReasonConferenceEnded and CallSidEndingConference say which. Everyone still
  in it leaves (ReasonParticipantLeft `conference_ended_via_api` or
  `moderator_ended_conference`), and their Dial ends.
- Who hears whom: nobody before the room starts; a listener on hold hears nobody; a muted
  or held speaker is heard by nobody; a coach is heard only by the participant coached,
  and hears everyone.
- A beep (`beep` true, onEnter, onExit) is heard by everyone in a started room.
- Events go to the statusCallback of the first participant that named one, for its
  subscribed events only (`start end join leave mute hold modify`; default `start end`),
  numbered from 1 per room. Assumptions: which participant's callback a room uses, the
  default events and the first SequenceNumber are not confirmed in TWILIO.md.
- ReasonParticipantLeft values (participant_hung_up, participant_updated_via_api,
  conference_ended_via_api, moderator_ended_conference) follow third-party copies of
  Twilio's payloads [UNCONFIRMED].
- A name may be used again once its room has completed; the new room gets a new sid.
- Changed under the exchange's lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from helpline.sandbox.ids import new_sid
from helpline.sandbox.signals import Goto

from .legs import Leg

RoomStatus = Literal["init", "in-progress", "completed"]
CONFERENCE_EVENTS = frozenset(
    {"start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"}
)
DEFAULT_CONFERENCE_EVENTS = frozenset({"start", "end"})
DEFAULT_MAX_PARTICIPANTS = 250
HUNG_UP = "participant_hung_up"
UPDATED_VIA_API = "participant_updated_via_api"
ENDED_VIA_API = "conference_ended_via_api"
MODERATOR_ENDED = "moderator_ended_conference"
_SUBSCRIPTION = {
    "conference-start": "start",
    "conference-end": "end",
    "participant-join": "join",
    "participant-leave": "leave",
    "participant-mute": "mute",
    "participant-unmute": "mute",
    "participant-hold": "hold",
    "participant-unhold": "hold",
    "participant-modify": "modify",
}


@dataclass(frozen=True)
class ConferenceCallback:
    url: str
    method: str = "POST"
    events: frozenset[str] = DEFAULT_CONFERENCE_EVENTS


@dataclass
class Participant:
    leg: Leg
    label: str | None
    muted: bool
    start_on_enter: bool
    end_on_exit: bool
    beep: str  # true, false, onEnter, onExit
    wait: Goto  # its waitUrl (sounds.HOLD_MUSIC for the default, "" for silence)
    joined: dt.datetime
    coaching: bool = False
    call_sid_to_coach: str | None = None
    hold: bool = False
    hold_url: Goto | None = None
    updated: dt.datetime | None = None
    left: str | None = None  # ReasonParticipantLeft, once gone

    @property
    def call_sid(self) -> str:
        return self.leg.sid


@dataclass(frozen=True)
class RoomEvent:
    """A conference event to report: `about` is the leg whose transcript logs the delivery."""

    name: str
    about: Leg | None
    participant: Participant | None
    extra: dict[str, str] = field(default_factory=dict)


class Room:
    def __init__(self, name: str, account_sid: str, created: dt.datetime) -> None:
        self.sid = new_sid("CF")
        self.name = name
        self.account_sid = account_sid
        self.created = created
        self.updated = created
        self.status: RoomStatus = "init"
        self.participants: dict[str, Participant] = {}
        self.callback: ConferenceCallback | None = None
        self.max_participants = DEFAULT_MAX_PARTICIPANTS
        self.reason_ended: str | None = None
        self.ended_by: str | None = None
        self.sequence = 0
        # Participants added through the API whose calls have not joined: sid -> the call,
        # its label and the options it will join with.
        self.pending: dict[str, tuple[Leg, str | None, dict[str, bool]]] = {}

    @property
    def started(self) -> bool:
        return self.status == "in-progress"

    def find(self, call_sid_or_label: str) -> Participant | None:
        found = self.participants.get(call_sid_or_label)
        if found is not None:
            return found
        return next((p for p in self.participants.values() if p.label == call_sid_or_label), None)

    def waiting(self) -> list[tuple[Leg, str | None, dict[str, bool]]]:
        """Participants added through the API that are still on their way in."""
        return [
            entry
            for sid, entry in self.pending.items()
            if sid not in self.participants and not entry[0].ended.is_set()
        ]

    def find_waiting(self, key: str) -> tuple[Leg, str | None, dict[str, bool]] | None:
        """A participant on its way in, by call sid or label."""
        return next((entry for entry in self.waiting() if key in (entry[0].sid, entry[1])), None)

    def labels(self) -> set[str]:
        taken = {p.label for p in self.participants.values() if p.label}
        return taken | {label for _, label, _ in self.waiting() if label}

    def hears(self) -> dict[str, frozenset[str]]:
        """For each participant, the call sids of the participants they hear."""
        heard: dict[str, frozenset[str]] = {}
        for listener in self.participants.values():
            if not self.started or listener.hold:
                heard[listener.call_sid] = frozenset()
                continue
            heard[listener.call_sid] = frozenset(
                speaker.call_sid
                for speaker in self.participants.values()
                if speaker is not listener
                and not speaker.muted
                and not speaker.hold
                and (not speaker.coaching or speaker.call_sid_to_coach == listener.call_sid)
            )
        return heard

    def join(self, participant: Participant, at: dt.datetime) -> list[RoomEvent]:
        """Add a participant (the caller checked the room is open and not full)."""
        self.participants[participant.call_sid] = participant
        self.pending.pop(participant.call_sid, None)
        self.updated = at
        events = [RoomEvent("participant-join", participant.leg, participant)]
        if not self.started and participant.start_on_enter:
            self.status = "in-progress"
            events.append(RoomEvent("conference-start", participant.leg, None))
            for other in self.participants.values():
                other.leg.wake()
        return events

    def leave(self, participant: Participant, reason: str, at: dt.datetime) -> list[RoomEvent]:
        """Take a participant out; end the room if that is what their leaving means."""
        if participant.left is not None or self.participants.get(participant.call_sid) is None:
            return []
        participant.left = reason
        del self.participants[participant.call_sid]
        self.updated = at
        participant.leg.wake()
        extra = {"ReasonParticipantLeft": reason}
        events = [RoomEvent("participant-leave", participant.leg, participant, extra)]
        kicked = reason == UPDATED_VIA_API
        if participant.end_on_exit:
            why = "participant-with-end-conference-on-exit-" + ("kicked" if kicked else "left")
            events += self.end(why, participant.leg, at)
        elif not self.participants and self.status != "completed":
            why = "last-participant-kicked" if kicked else "last-participant-left"
            events += self.end(why, participant.leg, at)
        return events

    def end(self, why: str, by: Leg | None, at: dt.datetime) -> list[RoomEvent]:
        """Complete the room: everyone still in it leaves. `by` is None through the API."""
        if self.status == "completed":
            return []
        self.status = "completed"
        self.reason_ended = why
        self.ended_by = by.sid if by is not None else None
        reason = ENDED_VIA_API if why == "conference-ended-via-api" else MODERATOR_ENDED
        events: list[RoomEvent] = []
        for other in list(self.participants.values()):
            events += self.leave(other, reason, at)
        extra = {"ReasonConferenceEnded": why}
        if self.ended_by:
            extra["CallSidEndingConference"] = self.ended_by
        events.append(RoomEvent("conference-end", by, None, extra))
        return events

    def subscribed(self, event: str) -> bool:
        callback = self.callback
        return callback is not None and _SUBSCRIPTION.get(event, "") in callback.events

    def event_params(self, event: RoomEvent, timestamp: str) -> dict[str, str]:
        """The conference status callback's parameters for `event` (numbers it)."""
        self.sequence += 1
        params = {
            "AccountSid": self.account_sid,
            "ConferenceSid": self.sid,
            "FriendlyName": self.name,
            "StatusCallbackEvent": event.name,
            "SequenceNumber": str(self.sequence),
            "Timestamp": timestamp,
        }
        participant = event.participant
        if participant is not None:
            params |= {
                "CallSid": participant.call_sid,
                "Muted": _flag(participant.muted),
                "Hold": _flag(participant.hold),
                "Coaching": _flag(participant.coaching),
                "EndConferenceOnExit": _flag(participant.end_on_exit),
                "StartConferenceOnEnter": _flag(participant.start_on_enter),
            }
            if participant.label:
                params["ParticipantLabel"] = participant.label
            if participant.call_sid_to_coach:
                params["CallSidToCoach"] = participant.call_sid_to_coach
        return params | event.extra


def _flag(value: bool) -> str:
    return "true" if value else "false"
