"""The audit log: the hash chain every audited action is appended to, and its
verification (`chain`)."""
