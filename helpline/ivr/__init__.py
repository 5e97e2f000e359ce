"""The IVR: declarative flows from ivr_flows/, the pure engine, and TwiML rendering."""
