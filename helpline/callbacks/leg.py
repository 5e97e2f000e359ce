"""What the person called back did, as the provider tells it. Pure: no I/O.

The caller's leg (voice/callbacks.py) is answered by a person or a machine; a person
presses 1 to talk now, anything else (or nothing) is "not safe now"; a leg that ends
before the room tells the attempt's outcome by its final status. The sweeper asks the
provider for that status when the leg's own callback was lost (tasks/callbacks.py).
"""

from __future__ import annotations

from helpline.models.enums import CallbackOutcome

# Twilio's AnsweredBy values that are not a person (answering-machine detection).
MACHINES = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}
)
# A leg's final status, when it ended before the caller joined the room.
STATUS_OUTCOMES = {
    "busy": CallbackOutcome.BUSY,
    "no-answer": CallbackOutcome.NO_ANSWER,
    "failed": CallbackOutcome.NO_ANSWER,
    "canceled": CallbackOutcome.NO_ANSWER,
    "completed": CallbackOutcome.NOT_SAFE_NOW,  # answered, then hung up before pressing 1
}


def is_machine(answered_by: str) -> bool:
    """Did a machine (or a fax) answer? It hears only a neutral message."""
    return answered_by in MACHINES


def wants_to_talk(digits: str | None, *, timed_out: bool) -> bool:
    """The discreet question's answer: 1, pressed in time, is "I can talk now"."""
    return not timed_out and digits == "1"


def outcome_of_status(call_status: str | None, unknown: str) -> str:
    """The attempt's outcome for the leg's final status; `unknown` for any other status."""
    return STATUS_OUTCOMES.get(call_status or "", unknown)
