"""Callbacks: calling people back, discreetly, on time and exactly once (docs/callbacks.md)."""

# What the person called back may hear (voice/callbacks.py), for the linter and the audio.
PROMPTS = ("callback_greeting", "callback_machine", "callback_later", "connected")
