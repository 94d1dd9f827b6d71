"""Schedule use cases by hand: move, swap, add, remove and lock meetings, checked at once.

Every change is checked against the hard rules before it is made; a refusal names the rule
and the people in the organiser's words. Services change models and flush; the caller commits.
"""

from flask_babel import gettext as _

from matchmaker.accounts.models import User
from matchmaker.events.models import Event
from matchmaker.events.queries import pair_vetoed
from matchmaker.extensions import db
from matchmaker.matching.services import pair_reasons, pair_scores
from matchmaker.scheduling.building import origin_of
from matchmaker.scheduling.models import ScheduleMeeting, ScheduleVersion
from matchmaker.scheduling.problem import meeting_key, participant_id, profile_id_of
from matchmaker.scheduling.solver import Problem, check
from matchmaker.scheduling.versions import (
    ScheduleError,
    editable_version,
    humanise,
    meeting_of,
    names_of,
    problem_names,
)

REQUIRED_MISSING = "required meetings unscheduled"


def _entries(version: ScheduleVersion, changes: dict[str, tuple[int, int] | None]) -> list[dict]:
    """Return the version's meetings in solver form with some moved (or removed: None)."""
    entries = []
    for m in version.meetings:
        target = changes.get(m.key, (m.slot, m.table))
        if target is not None:
            entries.append({"id": m.key, "slot": target[0], "table": target[1]})
    for key, target in changes.items():
        if target is not None and not any(e["id"] == key for e in entries):
            entries.append({"id": key, "slot": target[0], "table": target[1]})
    return entries


def _refuse_breaks(
    event: Event, version: ScheduleVersion, changes: dict[str, tuple[int, int] | None]
) -> None:
    """Refuse a change that breaks a hard rule; say which in the organiser's words."""
    problem = Problem.coerce(version.problem)
    parts = problem.participant_map()
    names = problem_names(version)
    before = _entries(version, {})
    after = _entries(version, changes)

    def name(q: str) -> str:
        return names.get(profile_id_of(q), q)

    for key, target in changes.items():
        if target is None:
            continue
        slot, table = target
        meeting = problem.meeting(key)
        if not 1 <= slot <= problem.slots:
            raise ScheduleError(_("Choose a slot from 1 to %(n)d.", n=problem.slots))
        if not 1 <= table <= problem.tables:
            raise ScheduleError(_("Choose a table from 1 to %(n)d.", n=problem.tables))
        for other in after:
            if other["id"] == key or other["slot"] != slot:
                continue
            other_meeting = problem.meeting(other["id"])
            if other["table"] == table:
                raise ScheduleError(
                    _(
                        "%(table)s is already taken in slot %(slot)d (%(a)s and %(b)s meet there).",
                        table=event.table_title(table),
                        slot=slot,
                        a=name(other_meeting.a),
                        b=name(other_meeting.b),
                    )
                )
            for q in (meeting.a, meeting.b):
                if q in (other_meeting.a, other_meeting.b):
                    partner = other_meeting.b if q == other_meeting.a else other_meeting.a
                    raise ScheduleError(
                        _(
                            "%(name)s already has a meeting in slot %(slot)d (with %(other)s).",
                            name=name(q),
                            slot=slot,
                            other=name(partner),
                        )
                    )
        for q in (meeting.a, meeting.b):
            if slot in parts[q].unavailable:
                raise ScheduleError(
                    _("%(name)s is not available in slot %(slot)d.", name=name(q), slot=slot)
                )
            cap = parts[q].max_meetings
            count = sum(1 for e in after if q in _sides(problem, e["id"]))
            if cap is not None and count > cap:
                raise ScheduleError(
                    _(
                        "%(name)s would have %(n)d meetings, but the limit is %(cap)d.",
                        name=name(q),
                        n=count,
                        cap=cap,
                    )
                )
    # The solver's own checker is the final word (precedence, windows, pairs met twice ...).
    old = set(check(problem, before))
    new = [v for v in check(problem, after) if v not in old and not v.endswith(REQUIRED_MISSING)]
    if new:
        raise ScheduleError(
            _(
                "This change breaks a rule of the schedule: %(details)s",
                details=humanise("; ".join(new), names),
            )
        )


def _sides(problem: Problem, key: str) -> tuple[str, str]:
    meeting = problem.meeting(key)
    return meeting.a, meeting.b


def _place(targets: dict[ScheduleMeeting, tuple[int, int]]) -> None:
    """Move meetings to their targets without tripping the unique (slot, table) on the way."""
    for meeting in targets:
        meeting.slot, meeting.table = 0, -meeting.id
    db.session.flush()
    for meeting, (slot, table) in targets.items():
        meeting.slot, meeting.table = slot, table
    db.session.flush()


def first_free_table(version: ScheduleVersion, slot: int, ignore: str | None = None) -> int:
    """Return the lowest free table in a slot (tables + 1 when all are taken)."""
    used = {m.table for m in version.meetings if m.slot == slot and m.key != ignore}
    tables = int(version.problem.get("tables", 0))
    return next((t for t in range(1, tables + 1) if t not in used), tables + 1)


def move_meeting(
    event: Event, user: User | None, key: str, slot: int, table: int | None
) -> ScheduleMeeting:
    """Move a meeting to another slot and table (the first free one when none is given)."""
    version = editable_version(event, user)
    meeting = meeting_of(version, key)
    if table is None:
        table = first_free_table(version, slot, ignore=key)
        if table > int(version.problem.get("tables", 0)):
            raise ScheduleError(_("Every table is taken in slot %(slot)d.", slot=slot))
    _refuse_breaks(event, version, {key: (slot, table)})
    _place({meeting: (slot, table)})
    return meeting


def swap_meetings(event: Event, user: User | None, key: str, other_key: str) -> None:
    """Exchange the slots and tables of two meetings."""
    version = editable_version(event, user)
    first, second = meeting_of(version, key), meeting_of(version, other_key)
    if first is second:
        raise ScheduleError(_("Choose two different meetings to swap."))
    changes = {key: (second.slot, second.table), other_key: (first.slot, first.table)}
    _refuse_breaks(event, version, changes)
    _place({first: changes[key], second: changes[other_key]})


def remove_meeting(event: Event, user: User | None, key: str) -> ScheduleMeeting:
    """Take a meeting out of the schedule; its pair stays a candidate for re-optimising."""
    version = editable_version(event, user)
    meeting = meeting_of(version, key)
    version.meetings.remove(meeting)
    db.session.flush()
    return meeting


def set_locked(event: Event, user: User | None, key: str, locked: bool) -> ScheduleMeeting:
    """Lock a meeting where it is (re-optimising keeps it), or release it."""
    version = editable_version(event, user)
    meeting = meeting_of(version, key)
    meeting.locked = locked
    db.session.flush()
    return meeting


def add_meeting(
    event: Event, user: User | None, a: int, b: int, slot: int, table: int | None
) -> ScheduleMeeting:
    """Add a meeting of two participants by hand, at a slot and table."""
    version = editable_version(event, user)
    if a == b:
        raise ScheduleError(_("Choose two different participants."))
    ids = {profile_id_of(p["id"]) for p in version.problem.get("participants", [])}
    names = names_of([a, b])
    for pid in (a, b):
        if pid not in ids:
            raise ScheduleError(
                _(
                    "%(name)s is not a participant of this schedule.",
                    name=names.get(pid, _("Unknown profile")),
                )
            )
    key = meeting_key(a, b)
    for m in version.meetings:
        if m.key == key:
            raise ScheduleError(
                _(
                    "%(a)s and %(b)s already meet in slot %(slot)d.",
                    a=names[a],
                    b=names[b],
                    slot=m.slot,
                )
            )
    if pair_vetoed(event.id, a, b):
        raise ScheduleError(
            _(
                "%(a)s and %(b)s do not want to meet each other (“not interested”).",
                a=names[a],
                b=names[b],
            )
        )
    problem = version.problem
    if not any(m["id"] == key for m in problem.get("meetings", [])):
        low, high = sorted((a, b))
        score = pair_scores([(low, high)])[(low, high)]
        item = {
            "id": key,
            "a": participant_id(low),
            "b": participant_id(high),
            "score": round(score, 4),
            "required": False,
            "window": "any",
            "fixed_slot": None,
            "requested": False,
        }
        # Assign a new dict: JSON columns only notice replaced values.
        version.problem = {**problem, "meetings": [*problem.get("meetings", []), item]}
    if table is None:
        table = first_free_table(version, slot)
        if table > int(version.problem.get("tables", 0)):
            raise ScheduleError(_("Every table is taken in slot %(slot)d.", slot=slot))
    _refuse_breaks(event, version, {key: (slot, table)})
    low, high = sorted((a, b))
    meeting = ScheduleMeeting(
        key=key,
        profile_a_id=low,
        profile_b_id=high,
        slot=slot,
        table=table,
        score=next(m["score"] for m in version.problem["meetings"] if m["id"] == key),
        origin=origin_of(key, version.problem),
        reasons=pair_reasons(low, high),
        locked=False,
    )
    version.meetings.append(meeting)
    db.session.flush()
    return meeting
