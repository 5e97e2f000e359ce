"""Is the counsellor who accepted a callback still waiting for the caller in its room?"""

from __future__ import annotations

import redis

from helpline.models import Call
from helpline.models.enums import PresenceState
from helpline.routing import presence


def counsellor_waits(connection: redis.Redis, call: Call) -> bool:
    """The counsellor who accepted this call is busy with it still (not gone to wrap-up)."""
    if call.counsellor_id is None:
        return False
    state = presence.live_state(connection, call.counsellor_id)
    return state.get("state") == PresenceState.BUSY and state.get("call") == str(call.id)
