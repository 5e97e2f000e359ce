"""Place one simulated call: fetch the app's TwiML and execute it as Twilio would.

The verbs are `run.CallRun`'s (TWILIO.md §2); here they run on the instant simulated clock
(nothing sleeps), with the caller following a script and the simulated network of
`simulated` (nobody real answers a Dial or a queue). Status callbacks are sent at once, in
order. `run()` never raises for app misbehaviour: it ends up in the transcript.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping, Sequence

from helpline.sandbox.caller import Caller
from helpline.sandbox.clock import InstantClock
from helpline.sandbox.ids import new_sid
from helpline.sandbox.progress import CALLBACK_EVENTS, status_params
from helpline.sandbox.run import CallRun, Hooks, LegSetup, Limits
from helpline.sandbox.script import DialOutcome, Script, ScriptSource
from helpline.sandbox.signals import Goto
from helpline.sandbox.simulated import SimulatedNetwork
from helpline.sandbox.timeline import Timeline
from helpline.sandbox.transcript import Transcript, origin_of
from helpline.sandbox.transport import Transport

__all__ = ["CallSimulator", "Limits"]


class CallSimulator:
    """Place inbound calls to one voice URL with a caller script; `run()` returns the transcript.

    `dial_outcomes` maps a dialled target (`+4420…`, `client:alice`, `conference:room`,
    `queue:support`) to how it answers; a `dial …` script step overrides it for one Dial.
    `extra_params` are added to every request (e.g. FromCountry) and may override defaults.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        account_sid: str,
        auth_token: str,
        url: str,
        method: str = "POST",
        from_: str = "+15005550006",
        to: str = "+15005550001",
        script: Script | ScriptSource | None = None,
        status_callback: str | None = None,
        status_callback_method: str = "POST",
        status_callback_events: Sequence[str] = ("completed",),
        dial_outcomes: Mapping[str, DialOutcome] | None = None,
        extra_params: Mapping[str, str] | None = None,
        call_sid: str | None = None,
        limits: Limits | None = None,
        started_at: dt.datetime | None = None,
    ) -> None:
        if not account_sid.startswith("AC"):
            raise ValueError("account_sid must start with AC")
        if not auth_token:
            raise ValueError("auth_token is required")
        for name, value in (("url", url), ("status_callback", status_callback)):
            parts = urllib.parse.urlsplit(value or "")
            if value is not None and (parts.scheme not in ("http", "https") or not parts.netloc):
                raise ValueError(f"{name} must be an absolute http(s) URL, not {value!r}")
        for name, value in (("method", method), ("status_callback_method", status_callback_method)):
            if value not in ("GET", "POST"):
                raise ValueError(f"{name} must be GET or POST, not {value!r}")
        if unknown := set(status_callback_events) - CALLBACK_EVENTS:
            raise ValueError(f"unknown status callback events: {', '.join(sorted(unknown))}")
        if call_sid is not None and not call_sid.startswith("CA"):
            raise ValueError("call_sid must start with CA")
        if started_at is not None and started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware")
        self.transport = transport
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.url = url
        self.method = method
        self.from_ = from_
        self.to = to
        self.script = Script.parse(script)
        self.status_callback = status_callback
        self.status_callback_method = status_callback_method
        self.status_callback_events = frozenset(status_callback_events)
        self.dial_outcomes = dict(dial_outcomes or {})
        self.extra_params = dict(extra_params or {})
        self.call_sid = call_sid
        self.limits = limits or Limits()
        self.started_at = started_at

    def run(self) -> Transcript:
        """Place the call and return what happened; app misbehaviour ends up in the transcript."""
        call_sid = self.call_sid or new_sid("CA")
        transcript = Transcript(call_sid, origin_of(self.url))
        setup = LegSetup(
            transport=self.transport,
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            call_sid=call_sid,
            from_=self.from_,
            to=self.to,
            started_at=self.started_at or dt.datetime.now(dt.UTC),
            extra_params=self.extra_params,
            limits=self.limits,
        )
        hooks = _Callbacks(self)
        run = CallRun(
            setup,
            timeline=Timeline(InstantClock(), self.limits.max_seconds),
            inputs=Caller(self.script, self.limits.patience, transcript.add),
            network=SimulatedNetwork(self.dial_outcomes),
            hooks=hooks,
            transcript=transcript,
        )
        hooks.progress(run, "initiated")
        hooks.progress(run, "ringing")
        run.run(Goto(self.url, self.method, {}, "voice"))
        hooks.progress(run, "completed")
        return transcript


class _Callbacks(Hooks):
    """Status callbacks as the simulator's caller asked for them, sent at once."""

    def __init__(self, sim: CallSimulator) -> None:
        self.sim = sim
        self.sequence = 0

    def answered(self, run: CallRun) -> None:
        self.progress(run, "answered")

    def progress(self, run: CallRun, event: str) -> None:
        sim = self.sim
        if sim.status_callback is None or event not in sim.status_callback_events:
            return
        connected = None if run.answered_at is None else run.now - run.answered_at
        when = run.setup.date(run.now)
        params = status_params(event, run.status, self.sequence, when, connected)
        self.sequence += 1
        purpose = f"status callback {event}"
        run.notify(Goto(sim.status_callback, sim.status_callback_method, params, purpose))
