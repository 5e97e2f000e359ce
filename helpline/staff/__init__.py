"""Staff and sites: creating and changing accounts (`accounts`), and the demo sites and
staff for the sandbox and training (`demo`)."""
