"""RQ jobs, grouped by purpose: one module per queue."""
