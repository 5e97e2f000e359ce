"""The simulated network of `helpline simulate`: nobody real is on the other end.

Rules:
- A `<Dial>` ends as the caller's `dial …` script step says, else as `outcomes` says for
  each target, else by the defaults in `dial` (answered after a ring, 60 s of talk).
- Nobody answers a queue: the caller hears the wait music for `max_queue_rounds` rounds,
  then gives up (QueueResult `hangup`), unless the script or a `<Leave>` ends it sooner.
  A scripted `hangup` in a queue happens at its moment, even mid-prompt; one with no
  `wait` before it comes after one round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from helpline.sandbox import dial
from helpline.sandbox.enqueue import HANGUPS, MAX_QUEUE_SIZE, EnqueueVerb, queue_round
from helpline.sandbox.ids import new_sid
from helpline.sandbox.run import CallRun
from helpline.sandbox.script import DialOutcome
from helpline.sandbox.signals import End, Goto, Next
from helpline.sandbox.transcript import Dialed, EndReason, Enqueued, Note
from helpline.telephony import twiml


@dataclass
class _Place:
    """The caller's place in a queue nobody serves: always first and alone."""

    sid: str
    entered: float

    def params(self, now: float) -> dict[str, str]:
        waited = str(round(now - self.entered))
        return {
            "QueueSid": self.sid,
            "QueueTime": waited,
            "QueuePosition": "1",
            "AvgQueueTime": waited,
            "CurrentQueueSize": "1",
            "MaxQueueSize": str(MAX_QUEUE_SIZE),
        }


class SimulatedNetwork:
    def __init__(self, outcomes: Mapping[str, DialOutcome] | None = None) -> None:
        self.outcomes = dict(outcomes or {})

    def dial(self, run: CallRun, verb: Element, document: str) -> Next | None:
        """Ring the targets; post the Dial action, or go on with the next verb without one."""
        action = twiml.url(verb, "action", document)
        method = twiml.method(verb)
        timeout = twiml.integer(verb, "timeout", 30, minimum=1)
        time_limit = twiml.integer(verb, "timeLimit", 14400, minimum=1)
        dialled = dial.targets(verb)
        scripted = run.inputs.peek()
        if isinstance(scripted, DialOutcome):
            run.inputs.take()
            outcomes = [scripted] * len(dialled)
        else:
            outcomes = [dial.behaviour(target, self.outcomes) for target in dialled]
        result = dial.settle(dialled, outcomes, timeout, time_limit)
        labels = tuple(target.label for target in dialled)
        shown = result.talk if result.status == "answered" else result.seconds
        run.transcript.add(Dialed(run.now, labels, result.status, shown))
        run.pass_to(run.now + result.seconds)
        if action is None:
            return None
        recorded = verb.get("record", "do-not-record") != "do-not-record"
        params = result.action_params(run.setup.account_sid, recorded)
        return Goto(action, method, params, "dial action")

    def enqueue(self, run: CallRun, verb: Element, document: str) -> Next | None:
        """Wait in a queue, replaying the waitUrl document; nobody answers in this simulation.

        The Enqueue action gets QueueResult `leave` (after <Leave>), `error` (bad waitUrl), or
        `hangup` (posted after the call ended). Without an action the next verb runs.
        """
        spec = EnqueueVerb.read(verb, document)
        place = _Place(new_sid("QU"), run.now)
        run.transcript.add(Enqueued(run.now, spec.name, spec.wait.url))
        try:
            result = self._wait(run, spec, place)
        except End as end:
            goto = spec.result({"QueueResult": "hangup", **place.params(run.now)})
            if goto is not None and end.reason in HANGUPS:
                run.status = "completed"
                run.notify(goto)
            raise
        finally:
            run.hang_at = None
        waited = place.params(run.now)["QueueTime"]
        return spec.result({"QueueResult": result, "QueueSid": place.sid, "QueueTime": waited})

    def _wait(self, run: CallRun, spec: EnqueueVerb, place: _Place) -> str:
        """Play rounds of the wait document; return the QueueResult, or end the call."""
        run.listen()
        goto = spec.wait
        for _ in range(run.limits.max_queue_rounds):
            following = queue_round(run, spec.wait, goto, place.params(run.now))
            if isinstance(following, str):
                return following
            goto = following
        run.transcript.add(Note(run.now, "nobody answers the queue in this simulation"))
        raise End(EndReason.CALLER_HANGUP, "gave up waiting in the queue")
