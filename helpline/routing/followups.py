"""What routing starts after a member of staff answered an offer. Pure: no I/O.

The offer webhooks (voice/offers.py) record the answer and commit; what follows is slow
work (REST calls), which they queue after the commit, in the order given here.
"""

from __future__ import annotations

import enum

from helpline.routing.legs import COUNSELLOR, INTERPRETER, TRANSFER


class FollowUp(enum.Enum):
    """A job to queue once an answer is committed."""

    DIAL_CALLBACK = "dial_callback"  # a callback's counsellor accepted: dial the person
    CONNECT_CALLER = "connect_caller"  # a counsellor accepted: bring the caller in
    HAND_OVER = "hand_over"  # a warm transfer was taken: the first counsellor may leave
    RING_INTERPRETER = "ring_interpreter"  # the interpreter reserved with the counsellor
    DISPATCH = "dispatch"  # a routing decision (the next counsellor, or an interpreter)
    ADD_INTERPRETER = "add_interpreter"  # another interpreter for a connected call


def after_accept(
    role: str, *, is_callback: bool, interpreter_reserved: bool, is_emergency: bool
) -> tuple[FollowUp, ...]:
    """A first acceptance (not a repeat): bring the other side in, then any interpreter.

    An emergency caller is put through before their interpreter is found: a routing
    decision looks for one once the counsellor is in."""
    first: tuple[FollowUp, ...] = ()
    if role == COUNSELLOR:
        first = (FollowUp.DIAL_CALLBACK if is_callback else FollowUp.CONNECT_CALLER,)
    elif role == TRANSFER:
        first = (FollowUp.HAND_OVER,)
    if interpreter_reserved:
        return (*first, FollowUp.RING_INTERPRETER)
    if role == COUNSELLOR and is_emergency:
        return (*first, FollowUp.DISPATCH)
    return first


def after_refusal(role: str) -> FollowUp | None:
    """Declined, missed or freed: the next counsellor for the waiting caller, or another
    interpreter. A transfer nobody took leaves the call with its counsellor, who may ask
    again."""
    if role == TRANSFER:
        return None
    if role == INTERPRETER:
        return FollowUp.ADD_INTERPRETER
    return FollowUp.DISPATCH
