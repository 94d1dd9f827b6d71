"""The time: now in UTC for stored timestamps, now in the events' time zone for the programme."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def local_zone() -> ZoneInfo:
    """Return the events' time zone (``BABEL_DEFAULT_TIMEZONE``)."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def local_now() -> datetime:
    """Return the current wall-clock time of the events' time zone, without tzinfo."""
    return datetime.now(local_zone()).replace(tzinfo=None)
