"""Referrals, closed loop: states, steps, the focal point's queries (docs/referrals.md)."""
