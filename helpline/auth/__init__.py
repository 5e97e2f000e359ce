"""Console authentication and authorisation: passwords, server-side sessions, throttling,
role checks on views (`access`) and the data-access rules from `permissions.yaml`
(`permissions`)."""
