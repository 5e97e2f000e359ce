"""Voicemail messages: filed from the recording callback, a counsellor's work until handled."""
