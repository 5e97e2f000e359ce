"""Twilio webhooks: thin views over the IVR engine and the call log."""
