"""The call log: calls, callers and their timelines, and the provider's parameters that
feed them. Shared by the voice webhooks, the jobs and the outage journal's replay."""
