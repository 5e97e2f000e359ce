"""`<Enqueue>`: what the verb asks for, and one round of the music a caller waits to.

Rules (TWILIO.md §1, §2):
- The body is the queue's name, at most 64 characters.
- `waitUrl` absent: hold music; empty: silence; otherwise a document requested (with the
  queue parameters) each time the previous one runs out, holding only Play, Say, Pause,
  Hangup, Redirect, Leave and Gather. Anything else ends the wait with QueueResult `error`.
- The action gets QueueResult, and QueueSid and QueueTime when the call was enqueued.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from xml.etree.ElementTree import Element

from helpline.sandbox import sounds
from helpline.sandbox.run import CallRun
from helpline.sandbox.script import HangUp
from helpline.sandbox.signals import End, Goto, LeaveQueue
from helpline.sandbox.transcript import EndReason
from helpline.telephony import twiml

MAX_QUEUE_SIZE = 1000
HANGUPS = frozenset({EndReason.CALLER_HANGUP, EndReason.TWIML_HANGUP, EndReason.SCRIPT_ENDED})


@dataclass(frozen=True)
class EnqueueVerb:
    name: str
    action: str | None
    method: str
    wait: Goto  # url is sounds.HOLD_MUSIC for the default, "" for silence

    @classmethod
    def read(cls, verb: Element, document: str) -> EnqueueVerb:
        name = twiml.text(verb)
        if not name or len(name) > 64:
            raise twiml.TwimlError("<Enqueue> needs a queue name of at most 64 characters")
        raw_wait = verb.get("waitUrl")
        if raw_wait is None:
            wait_url = sounds.HOLD_MUSIC
        else:  # an empty waitUrl means silence
            wait_url = twiml.resolve(raw_wait, document) if raw_wait.strip() else ""
        return cls(
            name=name,
            action=twiml.url(verb, "action", document),
            method=twiml.method(verb),
            wait=Goto(wait_url, twiml.method(verb, "waitUrlMethod"), {}, "queue wait"),
        )

    def result(self, params: Mapping[str, str]) -> Goto | None:
        """The action request with these parameters, or None without an action."""
        if self.action is None:
            return None
        return Goto(self.action, self.method, params, "enqueue action")


def wait_round(
    run: CallRun,
    wait: Goto,
    current: Goto,
    params: Mapping[str, str],
    allowed: frozenset[str] = twiml.QUEUE_VERBS,
    where: str = "a waitUrl",
) -> Goto:
    """Play one round of waiting; return the document for the next round.

    Hold music and silence play for a fixed round; a document runs with only `allowed`
    verbs, and what it leads to (a Redirect, a Gather's action) is requested next.
    Raise LeaveQueue for `<Leave>` or a forbidden verb; a scripted hangup ends the call.
    """
    if wait.url in (sounds.HOLD_MUSIC, ""):
        hold = sounds.HOLD if wait.url else sounds.HOLD_SILENCE
        if run.play([hold], run.hang_at):
            raise run.caller_hangs_up()
        return current
    verbs, document = run.document(replace(current, params={**current.params, **params}))
    with run.restricted(allowed, where):
        following = run.execute(verbs, document)
    return following if isinstance(following, Goto) else wait


def scripted_hangup(run: CallRun) -> tuple[float | None, bool]:
    """When a scripted caller hangs up while waiting: (moment, or None; after one round)."""
    step, at = run.inputs.next(run.now, math.inf)
    if not isinstance(step, HangUp):
        return None, False
    return (at, False) if at < math.inf else (None, True)


def queue_round(run: CallRun, wait: Goto, current: Goto, params: Mapping[str, str]) -> Goto | str:
    """One round of a caller's wait in a queue: the next document, or the QueueResult.

    `<Leave>` or a forbidden verb leaves with its result, a failed document with `error`;
    a caller scripted to hang up does so at its moment, or after this round when it has none.
    """
    hang_at, after_round = scripted_hangup(run)
    run.hang_at = hang_at
    try:
        following = wait_round(run, wait, current, params)
    except LeaveQueue as leave:
        return leave.result
    except End as end:
        if end.reason is not EndReason.ERROR:
            raise
        return "error"
    if after_round:  # a caller who did not wait first hangs up after one round
        raise run.caller_hangs_up()
    return following
