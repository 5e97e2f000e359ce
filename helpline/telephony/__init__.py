"""Twilio on the wire: what the production app and the sandbox both speak.

- `client`: the app's twilio REST client, pointed at the sandbox by TWILIO_API_BASE_URL.
- `playback`: streaming a recording's audio from the provider to staff who may hear it.
- `signing`: the X-Twilio-Signature of a request.
- `twiml`: parse a TwiML document and read attributes by Twilio's rules.

The local Twilio (emulator, practice phone, simulated callers) is `helpline.sandbox`; the
app never imports it.
"""
