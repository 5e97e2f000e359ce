"""Twilio on the wire: signing, transports, and a TwiML interpreter that plays a simulated call.

- `signing`: the X-Twilio-Signature of a webhook request (the official library computes it).
- `transport`: send a webhook in-process through Flask or over real HTTP.
- `twiml`: parse a TwiML document and read attributes by Twilio's rules.
- `sounds`: what Say, Play and Pause sound like and how long they take.
- `dial`: how a Dial ends, and what its action request carries.
- `script` and `caller`: what the simulated caller does, and when.
- `transcript`: what happened on the call, as typed events.
- `interpreter`: `CallSimulator`, which places one call and executes the app's TwiML.
- `ids`: Twilio-style sids and placeholder recording URLs.
"""
