"""Console authentication: passwords, server-side sessions, throttling and role checks."""
