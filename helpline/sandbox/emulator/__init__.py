"""The telephony sandbox: a local Twilio emulator, so the helpline runs without an account.

The app reaches it only as it reaches Twilio: through the official `twilio` REST client
pointed at TWILIO_API_BASE_URL (`helpline.telephony.client.rest_client`), and through
webhooks signed with the account's auth token.

Modules, one job each:
- `exchange`: the registry of legs, rooms, queues and phones, its lock, and their operations.
- `switchboard`: the line (`Line`) and what programs and the network use of the exchange.
- `legs`: one call leg: status, status callbacks, transcript, interrupts from other threads;
  `Bridge`, two legs talking.
- `programs`: what a leg does in its thread (inbound caller, REST call, dialled number).
- `network`: `<Dial>` (numbers, conferences, queues) and `<Enqueue>` for `CallRun`.
- `bridges`, `rooms`, `queues`: a `<Dial>` ringing numbers at once; conference rooms;
  call queues.
- `phones`: simulated staff phones and how they answer.
- `deliveries`: the callback worker, with fault injection.
- `rest`, `resources`: Twilio's REST API and its JSON; `control`: the JSON control API.
- `server`: `serve()` and `SandboxServer`, the HTTP server around all of it.

Emulated: inbound calls from simulated callers (scripted, or a person at a keypad); REST
calls with status callbacks, machine detection (AnsweredBy), recording, redirect and end;
`<Dial>` to numbers (whisper `url`, first answer wins, busy/no-answer/failed, timeLimit,
hangupOnStar, record), to conferences (start/end rules, waitUrl, muted, coach, hold,
beep, maxParticipants, conference events) and to queues; `<Enqueue>` with waitUrl,
`<Leave>`, REST dequeue; participants through REST; recordings with their callbacks and
silent audio; the fallback URL; idempotency tokens; duplicated, reordered and delayed
callbacks on demand.

Not emulated: speech recognition, `<Connect>`/`<Stream>` and the other verbs the
interpreter skips, SIP and `<Client>` beyond ringing like a phone, conference recording
and announcements, `sendDigits`, queue `<Task>`/TaskRouter, webhook retries
(connection overrides), pricing, and real audio.

Assumptions not confirmed in TWILIO.md are noted where they are made (`network`,
`rooms`, `switchboard.Line`, `run`); each is a small, isolated choice.
"""

from helpline.sandbox.emulator.deliveries import Faults
from helpline.sandbox.emulator.exchange import Exchange, OutboundCall
from helpline.sandbox.emulator.phones import Behaviour
from helpline.sandbox.emulator.server import SandboxServer, create_app, line_for, serve
from helpline.sandbox.emulator.switchboard import Line

__all__ = [
    "Behaviour",
    "Exchange",
    "Faults",
    "Line",
    "OutboundCall",
    "SandboxServer",
    "create_app",
    "line_for",
    "serve",
]
