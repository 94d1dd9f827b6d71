"""Schedule read models: a participant's agenda with its "why you meet" lines, the master grid,
the organisers' participant rows and the schedule document.

Besides the meetings, an agenda shows the event's breaks as rows at their times, says who asked
whom for an agreed meeting ("Request from X", "Your request to Y"), and explains why somebody
got fewer meetings than they wanted, from the version's own problem and meetings.
"""

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from matchmaker.accounts.models import User
from matchmaker.directory.models import Profile
from matchmaker.events.models import (
    ACCEPTED,
    NOT_INTERESTED,
    Availability,
    Event,
    MeetingRequest,
    ProfileMark,
)
from matchmaker.events.programme import slot_times
from matchmaker.extensions import db
from matchmaker.matching import thresholds
from matchmaker.scheduling.models import (
    MANUAL,
    PUBLISHED,
    REQUEST,
    WISH,
    ScheduleMeeting,
    ScheduleVersion,
)
from matchmaker.scheduling.problem import absent_profiles, participant_id, profile_id_of
from matchmaker.scheduling.versions import meeting_profiles, participants_of

#: Who sent an event's accepted meeting requests, by (smaller, larger profile id); read once
#: (``request_senders``) for every agenda or line made at a time.
Senders = dict[tuple[int, int], set[int]]


def why_line(
    meeting: ScheduleMeeting, viewer: int | None = None, senders: Senders | None = None
) -> str:
    """Return one line on why two participants meet, seen by ``viewer`` or the organisers."""
    reasons = ", ".join(meeting.reasons or [])
    if meeting.origin == REQUEST:
        return request_line(meeting, viewer, senders)
    if meeting.origin == WISH:
        return _("Must-meet wish") + (f": {reasons}" if reasons else "")
    if meeting.origin == MANUAL and not reasons:
        return _("Arranged by the organisers")
    return _("Shared topics: %(reasons)s", reasons=reasons) if reasons else _("Good match")


@dataclass
class AgendaRow:
    """One slot of a participant's agenda."""

    is_break: ClassVar[bool] = False
    slot: int
    start: datetime
    end: datetime
    meeting: ScheduleMeeting | None
    partner: Profile | None
    table: str
    unavailable: bool
    viewer: int  # the profile whose agenda this is
    senders: Senders | None = None  # the event's accepted requests, read once for many agendas

    @property
    def why(self) -> str:
        """Say why the meeting takes place, in the language being rendered (page or e-mail)."""
        return why_line(self.meeting, self.viewer, self.senders) if self.meeting else ""


class VersionIndex:
    """A version's meetings, participants and candidates by participant, read in one pass.

    Every agenda of an event at once (the PDF, the e-mails of a publish) then costs one pass
    over the version instead of one per participant.
    """

    def __init__(self, version: ScheduleVersion) -> None:
        problem = version.problem or {}
        self.version = version
        self.people: dict[str, dict] = {p["id"]: p for p in problem.get("participants", [])}
        self.slots = int(problem.get("slots") or 0)
        self.tables = int(problem.get("tables") or 0)
        self.meetings: dict[int, list[ScheduleMeeting]] = defaultdict(list)
        self.busy: dict[str, set[int]] = defaultdict(set)
        self.used_tables: Counter[int] = Counter()
        for m in version.meetings:
            self.meetings[m.profile_a_id].append(m)
            self.meetings[m.profile_b_id].append(m)
            self.busy[participant_id(m.profile_a_id)].add(m.slot)
            self.busy[participant_id(m.profile_b_id)].add(m.slot)
            self.used_tables[m.slot] += 1
        self.candidates: dict[str, list[str]] = defaultdict(list)
        for m in problem.get("meetings", []):
            self.candidates[m["a"]].append(m["b"])
            self.candidates[m["b"]].append(m["a"])
        self._availability: dict[int, Availability] | None = None
        self.senders = request_senders(version.event_id)

    def unavailable(self, profile_id: int) -> set[int]:
        """Return the slots a participant could not meet in."""
        person = self.people.get(participant_id(profile_id))
        return set(person.get("unavailable") or []) if person else set()

    def availability(self, profile_id: int) -> Availability | None:
        """Return a participant's stored availability (all of the event's read at once)."""
        if self._availability is None:
            self._availability = {
                a.profile_id: a
                for a in db.session.scalars(
                    select(Availability).where(Availability.event_id == self.version.event_id)
                )
            }
        return self._availability.get(profile_id)


def agenda(
    event: Event, version: ScheduleVersion, profile_id: int, index: VersionIndex | None = None
) -> list[AgendaRow]:
    """Return a participant's agenda: every slot with its meeting, if any.

    ``index``: the version read once, when many agendas of it are made.
    """
    if index is None:
        by_slot = {m.slot: m for m in version.meetings if m.involves(profile_id)}
        unavailable: set[int] = set()
        for p in version.problem.get("participants", []):
            if p["id"] == participant_id(profile_id):
                unavailable = set(p.get("unavailable") or [])
    else:
        by_slot = {m.slot: m for m in index.meetings.get(profile_id, [])}
        unavailable = index.unavailable(profile_id)
    senders = index.senders if index is not None else request_senders(version.event_id)
    _held = meeting_profiles(by_slot.values())  # the partners in one statement
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
                viewer=profile_id,
                unavailable=number in unavailable,
                senders=senders,
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
                why.append(
                    ngettext("wants at most %(num)d meeting", "wants at most %(num)d meetings", cap)
                )
            if count == 0:
                why.append(_("no candidate with a good enough match"))
            elif count <= len(meetings):
                why.append(_("every candidate (%(n)d) is placed", n=count))
            if vetoes.get(pid):
                why.append(
                    ngettext(
                        "marked %(num)d profile as not interested",
                        "marked %(num)d profiles as not interested",
                        vetoes[pid],
                    )
                )
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


# -- breaks, who asked whom, fewer meetings than wanted ----------------------------------------


@dataclass
class BreakRow:
    """A break of the event's networking session, between two slots."""

    is_break: ClassVar[bool] = True
    after_slot: int
    start: datetime
    end: datetime
    name: str  # as the organisers entered it; "" for an unnamed break

    @property
    def label(self) -> str:
        """Return the break's name, or "Break" in the language being rendered (page or e-mail)."""
        return self.name or _("Break")


def break_rows(event: Event) -> list[BreakRow]:
    """Return the event's breaks with their start and end, in session order."""
    times = slot_times(event)
    rows = []
    for item in sorted(event.breaks or [], key=lambda b: int(b["after_slot"])):
        after = int(item["after_slot"])
        if not 1 <= after < len(times):
            continue
        start = times[after - 1][1]
        rows.append(
            BreakRow(
                after_slot=after,
                start=start,
                end=start + timedelta(minutes=int(item["minutes"])),
                name=item.get("label") or "",
            )
        )
    return rows


def with_breaks(event: Event, rows: list) -> list:
    """Return slot rows (agenda rows or grid rows) with the break rows put after their slot."""
    after: dict[int, list[BreakRow]] = defaultdict(list)
    for row in break_rows(event):
        after[row.after_slot].append(row)
    merged = []
    for row in rows:
        merged.append(row)
        slot = row["slot"] if isinstance(row, dict) else row.slot
        merged.extend(after.pop(slot, []))
    return merged


def meetings_with_breaks(event: Event, rows: list[AgendaRow]) -> list:
    """Return an agenda's meetings with the breaks that fall between them (for its e-mail)."""
    merged = with_breaks(event, rows)
    held = [i for i, row in enumerate(merged) if not row.is_break and row.meeting is not None]
    if not held:
        return []
    return [
        row for row in merged[held[0] : held[-1] + 1] if row.is_break or row.meeting is not None
    ]


def score_colours() -> Callable[[ScheduleMeeting], str]:
    """Return how the grid colours a meeting: "high", "mid" or "low", by how well its pair fits.

    "mid" starts at the fairness threshold (a candidate good enough that nobody should miss it;
    by default the level "vielleicht"), "high" at the level "passend".  The thresholds are read
    once per grid, not once per meeting.
    """
    fair = thresholds.fairness_threshold()
    high = max(thresholds.levels()["good"], fair)

    def score_level(meeting: ScheduleMeeting) -> str:
        if meeting.score >= high:
            return "high"
        return "mid" if meeting.score >= fair else "low"

    return score_level


def request_senders(event_id: int) -> Senders:
    """Return who sent each accepted meeting request of an event, by pair, in one query."""
    found: Senders = defaultdict(set)
    rows = db.session.execute(
        select(MeetingRequest.from_profile_id, MeetingRequest.to_profile_id).where(
            MeetingRequest.event_id == event_id, MeetingRequest.status == ACCEPTED
        )
    )
    for sender, receiver in rows:
        found[(min(sender, receiver), max(sender, receiver))].add(sender)
    return dict(found)


def request_line(meeting: ScheduleMeeting, viewer: int | None, known: Senders | None = None) -> str:
    """Say who asked whom for an agreed meeting, seen by ``viewer`` (or by the organisers)."""
    a, b = meeting.profile_a_id, meeting.profile_b_id
    known = known if known is not None else request_senders(meeting.version.event_id)
    senders = known.get((min(a, b), max(a, b)), set())
    if viewer is None:
        if len(senders) == 1:
            sender = meeting.profile_a if a in senders else meeting.profile_b
            receiver = meeting.partner_of(sender.id)
            return _("Request from %(a)s to %(b)s", a=sender.name, b=receiver.name)
        return _("Agreed meeting request")
    partner = meeting.partner_of(viewer)
    if senders == {viewer}:
        return _("Your request to %(name)s", name=partner.name)
    if senders == {partner.id}:
        return _("Request from %(name)s", name=partner.name)
    return _("Agreed meeting request with %(name)s", name=partner.name)


@dataclass
class Shortfall:
    """Why a participant got fewer meetings than they wanted."""

    wanted: int
    planned: int
    chose_count: bool
    # (kind of reason, how many partners): rendered when read, in the reader's language
    causes: list[tuple[str, int]] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """Return the reasons as sentences in the language being rendered (page or e-mail)."""
        return [reason_text(kind, n) for kind, n in self.causes]


def reason_text(kind: str, n: int) -> str:
    """Say one reason for missing meetings ("busy", "full", ...) about ``n`` partners."""
    if kind == "none":
        return _("There were no further matching participants.")
    if kind == "not_free":
        return _("You are not available in the remaining slots.")
    if kind == "busy":
        return ngettext(
            "%(num)d further matching partner was busy in your free slots.",
            "%(num)d further matching partners were busy in your free slots.",
            n,
        )
    if kind == "unavailable":
        return ngettext(
            "%(num)d further matching partner was not available in your free slots.",
            "%(num)d further matching partners were not available in your free slots.",
            n,
        )
    if kind == "full":
        return ngettext(
            "%(num)d further matching partner already had as many meetings as they wanted.",
            "%(num)d further matching partners already had as many meetings as they wanted.",
            n,
        )
    if kind == "tables":
        return ngettext(
            "For %(num)d further matching partner every table was taken in the slots you both "
            "had free.",
            "For %(num)d further matching partners every table was taken in the slots you both "
            "had free.",
            n,
        )
    return ngettext(
        "%(num)d further matching partner still had time; the organisers can add the meeting.",
        "%(num)d further matching partners still had time; the organisers can add the meetings.",
        n,
    )


def shortfall(
    version: ScheduleVersion, profile_id: int, index: VersionIndex | None = None
) -> Shortfall | None:
    """Explain a participant's missing meetings from the version's problem and meetings.

    Every candidate partner the participant does not meet is put in the first group that fits:
    at their own limit, unavailable or busy in each of the participant's free slots, no free
    table in the slots both have free, or none of those (then the organisers could add it).
    ``index``: the version read once, when many participants are explained.
    """
    index = index or VersionIndex(version)
    me = participant_id(profile_id)
    people = index.people
    if me not in people:
        return None
    slots, tables = index.slots, index.tables
    busy, used_tables = index.busy, index.used_tables

    def limit(pid: str) -> int:
        cap = people[pid].get("max_meetings")
        return min(cap if cap is not None else slots, slots)

    partners = {
        participant_id(m.profile_b_id if m.profile_a_id == profile_id else m.profile_a_id)
        for m in index.meetings.get(profile_id, [])
    }
    wanted, planned = limit(me), len(busy.get(me, ()))
    if planned >= wanted:
        return None
    availability = index.availability(profile_id)
    result = Shortfall(wanted, planned, bool(availability and availability.desired_meetings))

    def blocked(pid: str) -> set[int]:
        return set(people[pid].get("unavailable") or [])

    def busy_in(pid: str) -> set[int]:
        return busy.get(pid, set())

    every_slot = set(range(1, slots + 1))
    free = every_slot - busy_in(me) - blocked(me)
    candidates = {
        other for other in index.candidates.get(me, []) if other in people and other not in partners
    }
    if not candidates:
        result.causes.append(("none", 0))
        return result
    if not free:
        result.causes.append(("not_free", 0))
        return result
    groups: Counter[str] = Counter()
    for other in candidates:
        their_free = every_slot - busy_in(other) - blocked(other)
        if len(busy_in(other)) >= limit(other):
            groups["full"] += 1
        elif not free & their_free:
            groups["unavailable" if free <= blocked(other) else "busy"] += 1
        elif all(used_tables[s] >= tables for s in free & their_free):
            groups["tables"] += 1
        else:
            groups["open"] += 1
    for kind in ("busy", "unavailable", "full", "tables", "open"):
        if groups[kind]:
            result.causes.append((kind, groups[kind]))
    return result
