"""The networking session of an event: slot times and the checks of its settings."""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _

from matchmaker.events.models import Event


def compute_slot_times(
    day: date, first_slot: time, slot_minutes: int, slot_count: int, breaks: Iterable[dict]
) -> list[tuple[datetime, datetime]]:
    """Return each slot's start and end: back to back, with breaks after the given slots."""
    pause = {}
    for item in breaks:
        pause[int(item["after_slot"])] = pause.get(int(item["after_slot"]), 0) + int(
            item["minutes"]
        )
    start = datetime.combine(day, first_slot)
    times = []
    for number in range(1, slot_count + 1):
        end = start + timedelta(minutes=slot_minutes)
        times.append((start, end))
        start = end + timedelta(minutes=pause.get(number, 0))
    return times


def slot_times(event: Event) -> list[tuple[datetime, datetime]]:
    """Return the start and end of every slot of the event's networking session (slot 1 first)."""
    return compute_slot_times(
        event.date, event.first_slot, event.slot_minutes, event.slot_count, event.breaks or []
    )


def session_problems(data: dict) -> dict[str, str]:
    """Check the networking session of event data; return a message per offending field."""
    problems: dict[str, str] = {}
    slots = data["slot_count"]
    after_slots = [b["after_slot"] for b in data.get("breaks") or []]
    for item in data.get("breaks") or []:
        if not 1 <= item["after_slot"] < slots:
            problems["breaks"] = _(
                "A break must come after one of slots 1 to %(last)d.", last=max(slots - 1, 1)
            )
        elif item["minutes"] <= 0:
            problems["breaks"] = _("A break must last at least one minute; slots would overlap.")
    if "breaks" not in problems and len(after_slots) != len(set(after_slots)):
        problems["breaks"] = _("Two breaks after the same slot overlap; merge them into one.")
    if data["morning_slots"] > slots:
        problems["morning_slots"] = _("There are only %(n)d slots.", n=slots)
    if data["max_meetings"] > slots:
        problems["max_meetings"] = _(
            "Nobody can have more meetings than there are slots (%(n)d).", n=slots
        )
    names = data.get("table_names") or []
    if names and len(names) != data["table_count"]:
        problems["table_names"] = _(
            "Give one name per table (%(n)d), or none at all.", n=data["table_count"]
        )
    if len({n.lower() for n in names}) != len(names):
        problems["table_names"] = _("Table names must differ from each other.")
    if "breaks" not in problems:
        times = compute_slot_times(
            data["date"], data["first_slot"], data["slot_minutes"], slots, data.get("breaks") or []
        )
        if times and times[-1][1] > datetime.combine(data["date"] + timedelta(days=1), time(0)):
            problems["slot_count"] = _(
                "The session would run past midnight; start earlier or plan fewer or shorter slots."
            )
    if data["registration_closes"] <= data["registration_opens"]:
        problems["registration_closes"] = _("Registration must close after it opens.")
    elif data["registration_closes"] > datetime.combine(data["date"], time(23, 59)):
        problems["registration_closes"] = _("Registration must close by the day of the event.")
    return problems
