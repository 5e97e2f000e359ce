"""The permission rules (`helpline.permissions`) applied to calls in the supervisor console."""

from __future__ import annotations

from helpline import permissions
from helpline.models import Call, Site, Staff, utcnow
from helpline.models.base import DbSession


def call_subject(session: DbSession, call: Call) -> permissions.What:
    """A call as the rules see it: its counsellor, its centre and province, and whether the
    caller consented to recording."""
    site = session.get(Site, call.site_id) if call.site_id is not None else None
    return permissions.What(
        owner_id=call.counsellor_id,
        site_id=call.site_id,
        province=site.province if site is not None else None,
        since=call.ended_at,
        consent=call.is_recording_consented,
    )


def may(action: str, staff: Staff, what: permissions.What) -> bool:
    """The deployment's rules allow `staff` this action on `what`, now."""
    return permissions.allows(permissions.rules(), action, permissions.who(staff), what, utcnow())
