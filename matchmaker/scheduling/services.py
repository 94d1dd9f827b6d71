"""Schedule use cases: build, edit by hand with immediate checks, re-optimise, publish, compare.

Versions
--------
The newest version of an event is either a draft or published. Building, editing or
re-optimising works on the draft; when the newest version is published, the change first copies
it into a new draft (the next version number), so participants keep seeing the published
schedule until the organiser publishes again. Publishing tells every participant whose meetings
changed by e-mail (on the first publication: everybody).

Solving runs inside the organiser's request: for a 50-seat event the solver proves the optimum
in seconds, and ``SCHEDULE_TIME_LIMIT`` caps it; it always returns the best schedule found.

Services change models and flush; the caller commits, then sends the queued e-mails.
"""

import copy
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from matchmaker.accounts.models import User, utcnow
from matchmaker.directory.models import Profile
from matchmaker.events.models import NOT_INTERESTED, Event, ProfileMark
from matchmaker.events.services import local_now, pair_vetoed, slot_times
from matchmaker.extensions import db
from matchmaker.matching.services import cache
from matchmaker.scheduling import notifications
from matchmaker.scheduling.models import (
    DRAFT,
    MANUAL,
    MATCH,
    PUBLISHED,
    REQUEST,
    SUPERSEDED,
    WISH,
    ScheduleMeeting,
    SchedulePrint,
    ScheduleVersion,
)
from matchmaker.scheduling.problem import (
    ProblemData,
    absent_profiles,
    build_problem,
    meeting_key,
    pair_of,
    pair_scores,
    participant_id,
    profile_id_of,
)
from matchmaker.scheduling.solver import InvalidLockError, Problem, Result, check, solve

REQUIRED_MISSING = "required meetings unscheduled"


class ScheduleError(Exception):
    """A use case was refused; the message is meant for the user and nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- reading versions --------------------------------------------------------------------------


def versions_of(event: Event) -> list[ScheduleVersion]:
    """Return the schedule versions of an event, newest first."""
    return list(
        db.session.scalars(
            select(ScheduleVersion)
            .where(ScheduleVersion.event_id == event.id)
            .order_by(ScheduleVersion.number.desc())
        )
    )


def latest_version(event: Event) -> ScheduleVersion | None:
    """Return the newest version (draft or published), or None before the first build."""
    return db.session.scalar(
        select(ScheduleVersion)
        .where(ScheduleVersion.event_id == event.id)
        .options(selectinload(ScheduleVersion.meetings))
        .order_by(ScheduleVersion.number.desc())
        .limit(1)
    )


def published_version(event: Event) -> ScheduleVersion | None:
    """Return the version participants see, or None when nothing is published."""
    return db.session.scalar(
        select(ScheduleVersion)
        .where(ScheduleVersion.event_id == event.id, ScheduleVersion.status == PUBLISHED)
        .options(selectinload(ScheduleVersion.meetings))
        .order_by(ScheduleVersion.number.desc())
        .limit(1)
    )


def _new_version(event: Event, user: User | None, source: ScheduleVersion | None):
    latest = latest_version(event)
    version = ScheduleVersion(
        event_id=event.id,
        number=(latest.number + 1) if latest else 1,
        status=DRAFT,
        problem=copy.deepcopy(source.problem) if source else {},
        stats=copy.deepcopy(source.stats) if source else {},
        created_by_id=user.id if user else None,
    )
    db.session.add(version)
    if source is not None:
        for m in source.meetings:
            version.meetings.append(
                ScheduleMeeting(
                    key=m.key,
                    profile_a_id=m.profile_a_id,
                    profile_b_id=m.profile_b_id,
                    slot=m.slot,
                    table=m.table,
                    score=m.score,
                    origin=m.origin,
                    reasons=list(m.reasons or []),
                    locked=m.locked,
                )
            )
    db.session.flush()
    return version


def editable_version(event: Event, user: User | None) -> ScheduleVersion:
    """Return the draft to change, copying the published version into a new draft if needed."""
    latest = latest_version(event)
    if latest is None:
        raise ScheduleError(_("Build the schedule first."))
    if latest.is_draft:
        return latest
    return _new_version(event, user, latest)


def meeting_of(version: ScheduleVersion, key: str) -> ScheduleMeeting:
    """Return the meeting with this key in the version, or refuse."""
    for meeting in version.meetings:
        if meeting.key == key:
            return meeting
    raise ScheduleError(_("This meeting is not in the schedule (any more)."))


# -- names in messages -------------------------------------------------------------------------


def names_of(profile_ids) -> dict[int, str]:
    """Return the names of the given profiles."""
    ids = set(profile_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(Profile.id, Profile.name).where(Profile.id.in_(ids)))
    return dict(rows.all())


def humanise(text: str, names: dict[int, str]) -> str:
    """Replace solver ids (``p12``, ``12-34``) in a message with organisation names."""

    def pair(match: re.Match) -> str:
        a, b = int(match[1]), int(match[2])
        return f"{names.get(a, match[1])} – {names.get(b, match[2])}"

    text = re.sub(r"\b(\d+)-(\d+)\b", pair, text)
    return re.sub(r"\bp(\d+)\b", lambda m: names.get(int(m[1]), m[0]), text)


def problem_names(version: ScheduleVersion) -> dict[int, str]:
    """Return the names of everybody in a version's problem."""
    return names_of(profile_id_of(p["id"]) for p in version.problem.get("participants", []))


# -- solving -----------------------------------------------------------------------------------


def matching_reasons(a: int, b: int) -> list[str]:
    """Return the matching engine's reasons why two profiles fit (may be empty)."""
    model = cache().get()
    ref_a, ref_b = model.ids.get(a), model.ids.get(b)
    if model.engine is None or ref_a is None or ref_b is None:
        return []
    # The engine words reasons from the SME's side; either order gives the same reasons.
    return list(model.engine.explain(ref_a, ref_b).reasons)


def origin_of(key: str, problem: dict) -> str:
    """Tell why a meeting is in the schedule: request, wish, match or the organisers' hand."""
    listed = {m["id"]: m for m in problem.get("meetings", [])}
    item = listed.get(key)
    if item is None:
        return MANUAL
    if item.get("required"):
        return REQUEST
    if item.get("requested"):
        return WISH
    min_score = float(current_app.config["SCHEDULE_MIN_SCORE"])
    return MATCH if item.get("score", 0) >= min_score else MANUAL


def stats_of(result: Result, names: dict[int, str], **extra) -> dict:
    """Return what the organiser needs to know about a solver run, ready to store."""
    return {
        "score": result.score,
        "holes": result.holes,
        "fairness_misses": result.fairness_misses,
        "placed": len(result.meetings),
        "unscheduled": len(result.unscheduled),
        "optimal": result.optimal,
        "gap": result.gap,
        "score_bound": result.score_bound,
        "status": result.status,
        "seconds": round(result.seconds, 2),
        "required_unplaced": [
            {
                "a": names.get(profile_id_of(issue.a), issue.a),
                "b": names.get(profile_id_of(issue.b), issue.b),
                "reason": humanise(issue.reason, names),
            }
            for issue in result.required_unplaced
        ],
        "summary": result.summary(),
        "solved_at": utcnow().isoformat(timespec="seconds"),
        **extra,
    }


def _replace_meetings(version: ScheduleVersion, result: Result, locked_keys: set[str]) -> None:
    previous = {m.key: m for m in version.meetings}
    version.meetings.clear()
    # Deletes must reach the database before the inserts that reuse their slot and table.
    db.session.flush()
    for placed in result.meetings:
        a, b = profile_id_of(placed.a), profile_id_of(placed.b)
        before = previous.get(placed.id)
        version.meetings.append(
            ScheduleMeeting(
                key=placed.id,
                profile_a_id=a,
                profile_b_id=b,
                slot=placed.slot,
                table=placed.table,
                score=placed.score,
                # An agreed meeting stays one even when a no-show released it from "required".
                origin=REQUEST
                if before and before.origin == REQUEST
                else origin_of(placed.id, version.problem),
                reasons=list(before.reasons) if before else matching_reasons(a, b),
                locked=placed.id in locked_keys,
            )
        )
    db.session.flush()


def _solve(data: ProblemData, locked: list[dict], frozen: list[int]) -> Result:
    config = current_app.config
    try:
        return solve(
            data.problem,
            time_limit=float(config["SCHEDULE_TIME_LIMIT"]),
            seed=0,
            locked=locked,
            frozen_slots=frozen,
            workers=int(config["SCHEDULE_WORKERS"]),
        )
    except InvalidLockError as error:
        details = humanise("; ".join(error.problems), data.names)
        raise ScheduleError(
            _("The locked meetings cannot be kept: %(details)s", details=details)
        ) from None


def build(event: Event, user: User | None) -> ScheduleVersion:
    """Build a fresh draft from the event's participants, scores and wishes."""
    data = build_problem(event)
    if not data.problem["participants"]:
        raise ScheduleError(_("Nobody is confirmed for this event yet."))
    latest = latest_version(event)
    version = latest if latest is not None and latest.is_draft else _new_version(event, user, None)
    version.problem = data.problem
    result = _solve(data, [], [])
    version.stats = stats_of(result, data.names, kind="build")
    _replace_meetings(version, result, set())
    current_app.logger.info("Schedule of event %s built: %s", event.id, result.summary())
    return version


def first_open_slot(event: Event, now: datetime | None = None) -> int:
    """Return the first slot that has not started yet (slot_count + 1 when all have)."""
    now = now or local_now()
    for number, (start, _end) in enumerate(slot_times(event), start=1):
        if start > now:
            return number
    return event.slot_count + 1


@dataclass
class Reoptimised:
    """A re-optimised draft and what could not be kept."""

    version: ScheduleVersion
    notes: list[str] = field(default_factory=list)


def reoptimise(event: Event, user: User | None, from_slot: int | None = None) -> Reoptimised:
    """Re-plan around the locked meetings; with ``from_slot``, keep every earlier slot as it is.

    The problem is rebuilt from the current registrations, so cancellations, new availability
    and no-shows (unavailable from ``from_slot`` on) are taken into account.
    """
    if from_slot is not None and not 1 <= from_slot <= event.slot_count:
        raise ScheduleError(_("Choose a slot from 1 to %(n)d.", n=event.slot_count))
    version = editable_version(event, user)
    current = list(version.meetings)
    data = build_problem(
        event,
        keep_pairs=[(m.profile_a_id, m.profile_b_id) for m in current],
        absent_from=from_slot,
    )
    listed = {m["id"] for m in data.problem["meetings"]}
    unavailable = {p["id"]: set(p["unavailable"]) for p in data.problem["participants"]}
    names = {**names_of(pid for m in current for pid in pair_of(m.key)), **data.names}
    past = from_slot or 1
    notes: list[str] = []
    locked: list[dict] = []
    locked_keys: set[str] = set()
    for m in current:
        frozen = m.slot < past
        if not (m.locked or frozen):
            continue
        pair = f"{names.get(m.profile_a_id, '?')} – {names.get(m.profile_b_id, '?')}"
        if m.key not in listed:
            if frozen:
                # It happened (or was due) before the re-plan; keep it listed so it stays put.
                data.problem["meetings"].append(_listed_again(m))
                listed.add(m.key)
            else:
                notes.append(_("No longer possible, released: %(pair)s.", pair=pair))
                continue
        ids = (participant_id(m.profile_a_id), participant_id(m.profile_b_id))
        if not frozen and any(m.slot in unavailable.get(q, ()) for q in ids):
            notes.append(_("Someone is absent or unavailable, released: %(pair)s.", pair=pair))
            continue
        locked.append({"id": m.key, "slot": m.slot, "table": m.table})
        if m.locked:
            locked_keys.add(m.key)
    frozen_slots = list(range(1, past))
    result = _solve(data, locked, frozen_slots)
    version.problem = data.problem
    version.stats = stats_of(
        result, names, kind="replan" if from_slot else "reoptimise", from_slot=from_slot
    )
    _replace_meetings(version, result, locked_keys)
    current_app.logger.info(
        "Schedule of event %s re-optimised from slot %s: %s", event.id, past, result.summary()
    )
    return Reoptimised(version, notes)


def _listed_again(m: ScheduleMeeting) -> dict:
    return {
        "id": m.key,
        "a": participant_id(m.profile_a_id),
        "b": participant_id(m.profile_b_id),
        "score": m.score,
        "required": False,
        "window": "any",
        "fixed_slot": None,
        "requested": m.origin in (REQUEST, WISH),
    }


# -- editing by hand ---------------------------------------------------------------------------


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
                        "Table %(table)s is already taken in slot %(slot)d "
                        "(%(a)s and %(b)s meet there).",
                        table=event.table_label(table),
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
        reasons=matching_reasons(low, high),
        locked=False,
    )
    version.meetings.append(meeting)
    db.session.flush()
    return meeting


# -- publishing and comparing ------------------------------------------------------------------


def signatures(version: ScheduleVersion | None) -> dict[int, list[tuple[int, int, int]]]:
    """Return each participant's meetings as sorted (slot, table, partner) tuples."""
    found: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    if version is None:
        return found
    for m in version.meetings:
        found[m.profile_a_id].append((m.slot, m.table, m.profile_b_id))
        found[m.profile_b_id].append((m.slot, m.table, m.profile_a_id))
    for items in found.values():
        items.sort()
    return found


def participants_of(version: ScheduleVersion) -> set[int]:
    """Return the profile ids in a version's problem and meetings."""
    ids = {profile_id_of(p["id"]) for p in version.problem.get("participants", [])}
    for m in version.meetings:
        ids.update((m.profile_a_id, m.profile_b_id))
    return ids


def changed_participants(old: ScheduleVersion | None, new: ScheduleVersion) -> set[int]:
    """Return the participants whose meetings differ between two versions."""
    before, after = signatures(old), signatures(new)
    ids = set(before) | set(after) | participants_of(new)
    return {pid for pid in ids if before.get(pid, []) != after.get(pid, [])}


def publish(event: Event, user: User | None) -> tuple[ScheduleVersion, set[int]]:
    """Publish the draft; e-mail every participant whose meetings changed."""
    draft = latest_version(event)
    if draft is None:
        raise ScheduleError(_("Build the schedule first."))
    if not draft.is_draft:
        raise ScheduleError(_("This version is already published."))
    previous = published_version(event)
    # The first publication goes to everybody, later ones to those whose meetings changed.
    changed = participants_of(draft) if previous is None else changed_participants(previous, draft)
    if previous is not None:
        previous.status = SUPERSEDED
    draft.status = PUBLISHED
    draft.published_at = utcnow()
    db.session.flush()
    profiles = db.session.scalars(select(Profile).where(Profile.id.in_(changed or {0}))).all()
    for profile in sorted(profiles, key=lambda p: p.name):
        rows = [row for row in agenda(event, draft, profile.id) if row.meeting is not None]
        notifications.agenda_changed(event, profile, rows, first=previous is None)
    return draft, changed


@dataclass
class MeetingChange:
    """One difference between two versions."""

    kind: str  # added, removed, moved
    a: str
    b: str
    before: tuple[int, int] | None
    after: tuple[int, int] | None


def diff_versions(old: ScheduleVersion | None, new: ScheduleVersion) -> list[MeetingChange]:
    """List the meetings added, removed or moved between two versions, by slot."""
    before = {m.key: m for m in old.meetings} if old else {}
    after = {m.key: m for m in new.meetings}
    names = names_of(pid for key in set(before) | set(after) for pid in pair_of(key))
    changes = []
    for key in set(before) | set(after):
        a, b = pair_of(key)
        was, now = before.get(key), after.get(key)
        place_was = (was.slot, was.table) if was else None
        place_now = (now.slot, now.table) if now else None
        if place_was == place_now:
            continue
        kind = "added" if was is None else "removed" if now is None else "moved"
        names_ab = names.get(a, "?"), names.get(b, "?")
        changes.append(MeetingChange(kind, *names_ab, place_was, place_now))
    changes.sort(key=lambda c: ((c.after or c.before or (0, 0)), c.a, c.b))
    return changes


def record_print(version: ScheduleVersion, kind: str, user: User | None) -> SchedulePrint:
    """Note that a version was printed or downloaded (for "changed since the last print")."""
    entry = SchedulePrint(
        event_id=version.event_id,
        version_id=version.id,
        kind=kind,
        created_by_id=user.id if user else None,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def last_print(event: Event) -> SchedulePrint | None:
    """Return the newest print record of the event."""
    return db.session.scalar(
        select(SchedulePrint)
        .where(SchedulePrint.event_id == event.id)
        .order_by(SchedulePrint.created_at.desc(), SchedulePrint.id.desc())
        .limit(1)
    )


def changes_since_print(event: Event) -> tuple[SchedulePrint | None, list[MeetingChange]]:
    """Return the last print and what changed between its version and the newest one."""
    printed = last_print(event)
    latest = latest_version(event)
    if printed is None or latest is None:
        return printed, []
    return printed, diff_versions(printed.version, latest)


# -- what people see ---------------------------------------------------------------------------


def why_line(meeting: ScheduleMeeting) -> str:
    """Return one line on why two participants meet."""
    reasons = ", ".join(meeting.reasons or [])
    if meeting.origin == REQUEST:
        return _("Your requested meeting")
    if meeting.origin == WISH:
        return _("Must-meet wish") + (f": {reasons}" if reasons else "")
    if meeting.origin == MANUAL and not reasons:
        return _("Arranged by the organisers")
    return _("Shared topics: %(reasons)s", reasons=reasons) if reasons else _("Good match")


@dataclass
class AgendaRow:
    """One slot of a participant's agenda."""

    slot: int
    start: datetime
    end: datetime
    meeting: ScheduleMeeting | None
    partner: Profile | None
    table: str
    why: str
    unavailable: bool


def agenda(event: Event, version: ScheduleVersion, profile_id: int) -> list[AgendaRow]:
    """Return a participant's agenda: every slot with its meeting, if any."""
    by_slot = {m.slot: m for m in version.meetings if m.involves(profile_id)}
    unavailable: set[int] = set()
    for p in version.problem.get("participants", []):
        if p["id"] == participant_id(profile_id):
            unavailable = set(p.get("unavailable") or [])
    rows = []
    for number, (start, end) in enumerate(slot_times(event), start=1):
        meeting = by_slot.get(number)
        rows.append(
            AgendaRow(
                slot=number,
                start=start,
                end=end,
                meeting=meeting,
                partner=meeting.partner_of(profile_id) if meeting else None,
                table=event.table_label(meeting.table) if meeting else "",
                why=why_line(meeting) if meeting else "",
                unavailable=number in unavailable,
            )
        )
    return rows


def agenda_meetings(version: ScheduleVersion, profile_id: int) -> list[ScheduleMeeting]:
    """Return a participant's meetings, by slot."""
    return sorted((m for m in version.meetings if m.involves(profile_id)), key=lambda m: m.slot)


@dataclass
class ParticipantRow:
    """One participant of a version with their meetings and, if few, why."""

    profile: Profile
    meetings: list[ScheduleMeeting]
    cap: int | None
    candidates: int
    unavailable: int
    absent: bool
    why_few: list[str]


def participant_rows(event: Event, version: ScheduleVersion) -> list[ParticipantRow]:
    """Return every participant of a version, fewest meetings first, with reasons."""
    problem = version.problem
    people = problem.get("participants", [])
    ids = [profile_id_of(p["id"]) for p in people]
    profiles = {
        p.id: p for p in db.session.scalars(select(Profile).where(Profile.id.in_(ids or [0])))
    }
    candidates: Counter[str] = Counter()
    for m in problem.get("meetings", []):
        candidates[m["a"]] += 1
        candidates[m["b"]] += 1
    by_profile: dict[int, list[ScheduleMeeting]] = defaultdict(list)
    for m in version.meetings:
        by_profile[m.profile_a_id].append(m)
        by_profile[m.profile_b_id].append(m)
    vetoes = _veto_counts(event)
    absent = absent_profiles(event)
    rows = []
    for p in people:
        pid = profile_id_of(p["id"])
        if pid not in profiles:
            continue
        meetings = sorted(by_profile.get(pid, []), key=lambda m: m.slot)
        cap = p.get("max_meetings")
        limit = min(cap if cap is not None else event.slot_count, event.slot_count)
        count = candidates[p["id"]]
        blocked = len(p.get("unavailable") or [])
        why: list[str] = []
        if len(meetings) < max(1, (limit + 1) // 2):
            if pid in absent:
                why.append(_("marked as a no-show"))
            if blocked:
                why.append(
                    _("unavailable in %(n)d of %(slots)d slots", n=blocked, slots=event.slot_count)
                )
            if cap is not None and cap < event.max_meetings:
                why.append(_("wants at most %(n)d meetings", n=cap))
            if count == 0:
                why.append(_("no candidate with a good enough match"))
            elif count <= len(meetings):
                why.append(_("every candidate (%(n)d) is placed", n=count))
            if vetoes.get(pid):
                why.append(_("marked %(n)d profiles as not interested", n=vetoes[pid]))
            if not why:
                why.append(_("the best partners were busy or at their limit"))
        rows.append(
            ParticipantRow(profiles[pid], meetings, cap, count, blocked, pid in absent, why)
        )
    rows.sort(key=lambda r: (len(r.meetings), r.profile.name))
    return rows


def _veto_counts(event: Event) -> dict[int, int]:
    rows = db.session.scalars(
        select(ProfileMark.from_profile_id).where(
            ProfileMark.event_id == event.id, ProfileMark.kind == NOT_INTERESTED
        )
    ).all()
    return dict(Counter(rows))


def grid(event: Event, version: ScheduleVersion) -> list[dict]:
    """Return the master grid: per slot its times and one cell per table."""
    cells = {(m.slot, m.table): m for m in version.meetings}
    rows = []
    for number, (start, end) in enumerate(slot_times(event), start=1):
        rows.append(
            {
                "slot": number,
                "start": start,
                "end": end,
                "cells": [cells.get((number, t)) for t in range(1, event.table_count + 1)],
            }
        )
    return rows


def schedule_document(version: ScheduleVersion) -> dict:
    """Return the version in the solver's schedule format (meetings, unscheduled, stats)."""
    placed = {m.key for m in version.meetings}
    return {
        "meetings": [
            {
                "id": m.key,
                "a": participant_id(m.profile_a_id),
                "b": participant_id(m.profile_b_id),
                "slot": m.slot,
                "table": m.table,
            }
            for m in sorted(version.meetings, key=lambda m: (m.slot, m.table))
        ],
        "unscheduled": [
            m["id"] for m in version.problem.get("meetings", []) if m["id"] not in placed
        ],
        "stats": {
            "version": version.number,
            "status": version.status,
            **{k: v for k, v in (version.stats or {}).items() if k != "required_unplaced"},
        },
    }


def my_agendas(user: User) -> list[tuple[Event, ScheduleVersion, Profile]]:
    """Return the published agendas of the profiles a member owns, soonest event first."""
    profiles = db.session.scalars(select(Profile).where(Profile.owner_id == user.id)).all()
    found = []
    for version in db.session.scalars(
        select(ScheduleVersion)
        .where(ScheduleVersion.status == PUBLISHED)
        .options(selectinload(ScheduleVersion.meetings), selectinload(ScheduleVersion.event))
    ):
        ids = participants_of(version)
        for profile in profiles:
            if profile.id in ids:
                found.append((version.event, version, profile))
    found.sort(key=lambda item: (item[0].date, item[2].name))
    return found
