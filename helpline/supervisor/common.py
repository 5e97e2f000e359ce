"""What several supervisor views modules share: the line's time zone and IVR catalog, and
times shown as the line's local time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app

from helpline.ivr.model import Catalog
from helpline.web import settings


def zone() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def catalog() -> Catalog:
    found: Catalog = current_app.extensions["helpline.flows"].catalog
    return found


def local_time(value: dt.datetime | None, seconds: bool = True) -> str:
    """A UTC time as the line's local time, the way the console shows times."""
    if value is None:
        return ""
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return value.astimezone(zone()).strftime(shape)
