"""The block list: callers who abuse the line are refused for a while, then let back in.

`entries.py` holds the rules and the database rows; `mirror.py` their Redis mirror and the
check of an incoming number."""
