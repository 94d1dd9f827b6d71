"""Schedule read models: a participant's agenda with its "why you meet" lines, the master grid,
the organisers' participant rows and the schedule document."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from matchmaker.accounts.models import User
from matchmaker.directory.models import Profile
from matchmaker.events.models import NOT_INTERESTED, Event, ProfileMark
from matchmaker.events.programme import slot_times
from matchmaker.extensions import db
from matchmaker.scheduling.models import (
    MANUAL,
    PUBLISHED,
    REQUEST,
    WISH,
    ScheduleMeeting,
    ScheduleVersion,
)
from matchmaker.scheduling.problem import absent_profiles, participant_id, profile_id_of
from matchmaker.scheduling.versions import participants_of


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
