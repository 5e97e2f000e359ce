"""Routing: the pure router, its policy from ivr_flows/routing.yaml, presence, reservation."""
