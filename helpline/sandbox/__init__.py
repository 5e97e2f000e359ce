"""Twilio on the wire: signing, transports, a TwiML interpreter, and the telephony sandbox.

- `signing` and `webhook`: the X-Twilio-Signature of a request, and sending one signed.
- `transport`: send a webhook in-process through Flask or over real HTTP.
- `twiml`: parse a TwiML document and read attributes by Twilio's rules.
- `sounds`: what Say, Play and Pause sound like and how long they take.
- `run`: `CallRun`, the verbs of one call leg, over a pluggable clock, caller and network.
- `clock` and `timeline`: instant or real time, and sleeps other threads can cut short.
- `dial`, `enqueue`, `simulated`: what Dial and Enqueue ask for, and the simulated network
  where nobody real answers.
- `script` and `caller`: what a scripted caller does and when; a keypad a person types on.
- `progress` and `recording`: what status and recording callbacks carry.
- `transcript`: what happened on the call, as typed events.
- `interpreter`: `CallSimulator`, one simulated call on the instant clock
  (`helpline simulate`, `helpline flows test`).
- `emulator`: the sandbox, a local Twilio (REST API, real-time exchange, control API).
- `client`: the app's twilio REST client, pointed at the sandbox by TWILIO_API_BASE_URL.
- `ids`: Twilio-style sids and recording URLs.
"""
