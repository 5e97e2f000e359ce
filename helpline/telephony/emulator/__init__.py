"""The telephony sandbox: a local Twilio emulator the helpline talks to as it would to Twilio.

The app reaches it only through the official `twilio` REST client pointed at
TWILIO_API_BASE_URL, and through signed webhooks.
"""
