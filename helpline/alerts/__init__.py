"""The duty supervisor's live alerts: escalations, emergencies waiting, urgent voicemails.

- `rules`: what an alert is, when it is open, when it is due to ring, who is rung (pure).
- `repository`: reading open alerts, acknowledging, claiming a ring (the database).
"""
