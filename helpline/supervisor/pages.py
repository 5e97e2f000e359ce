"""The supervisors' blueprint with every page registered on it: the one place that imports
the supervisor views modules (each adds its routes to `blueprint.bp`). `create_app`
registers `bp` from here."""

from __future__ import annotations

from helpline.supervisor import (
    blocklist,
    board_views,
    programme,
    recordings,
    retention_views,
    views,
    voicemails,
)
from helpline.supervisor.blueprint import bp

# Importing a views module registers its routes; this names them, for readers and linters.
VIEWS = (views, board_views, blocklist, programme, recordings, retention_views, voicemails)

__all__ = ["VIEWS", "bp"]
