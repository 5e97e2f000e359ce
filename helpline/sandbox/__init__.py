"""The telephony sandbox: a local Twilio, so the helpline runs and is tested without an account.

Only the sandbox's own commands (`helpline sandbox`, `simulate`, `demo-traffic`,
`flows test`) and tests import this package; the production app never does
(tests/test_layers_sandbox.py checks). What both sides speak, signing and TwiML parsing,
is in `helpline.telephony`.

- `webhook`: sending a webhook signed (with `helpline.telephony.signing`).
- `transport`: send a webhook in-process through Flask or over real HTTP.
- `sounds`: what Say, Play and Pause sound like and how long they take; `audio`: the
  length of a recording.
- `run`: `CallRun`, the verbs of one call leg, over a pluggable clock, caller and network.
- `clock` and `timeline`: instant or real time, and sleeps other threads can cut short.
- `dial`, `enqueue`, `simulated`: what Dial and Enqueue ask for, and the simulated network
  where nobody real answers.
- `script` and `caller`: what a scripted caller does and when; a keypad a person types on.
- `progress` and `recording`: what status and recording callbacks carry.
- `transcript`: what happened on the call, as typed events.
- `interpreter`: `CallSimulator`, one simulated call on the instant clock
  (`helpline simulate`, `helpline flows test`); `scenarios`: the flows' scenario tests.
- `local`: a throwaway app for in-process simulation; `traffic`: `helpline demo-traffic`.
- `emulator`: the sandbox, a local Twilio (REST API, real-time exchange, control API,
  practice phone).
- `ids`: Twilio-style sids and recording URLs.
"""
