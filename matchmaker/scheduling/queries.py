"""The organisers' event dashboard: seats, requests, wishes, meetings, attendance, reminders.

Read models only. Every figure is one aggregate query over the whole event (a fixed number of
queries, however many participants), so the page stays fast at thousands of participants.
Meetings are counted in the version participants see (the published one), or in the newest
version while nothing is published.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, select, union_all

from matchmaker.directory.models import KINDS, Profile
from matchmaker.events.models import (
    CANCELLED,
    CONFIRMED,
    MARK_KINDS,
    REQUEST_STATUSES,
    WAITING,
    WITHDRAWN,
    Attendee,
    Event,
    MeetingRequest,
    ProfileMark,
    Registration,
)
from matchmaker.extensions import db
from matchmaker.scheduling.models import (
    PUBLISHED,
    REMINDER_AUDIENCES,
    ReminderSent,
    ScheduleMeeting,
    ScheduleVersion,
)
from matchmaker.scheduling.problem import profile_id_of


@dataclass
class SideCounts:
    """Registrations of one participant type: organisations and the seats they hold or wait for."""

    kind: str
    capacity: int | None
    registered: int = 0  # organisations that hold or wait for seats (each once)
    confirmed: int = 0
    waiting: int = 0
    cancelled: int = 0
    seats_confirmed: int = 0
    seats_waiting: int = 0


@dataclass(frozen=True)
class ParticipantRow:
    """One confirmed organisation with its activity at the event."""

    profile_id: int
    name: str
    kind: str
    attendees: int
    checked_in: int
    no_shows: int
    requests_sent: int
    meetings: int


@dataclass(frozen=True)
class AttendeeRow:
    """One person holding a seat, for the attendance lists."""

    name: str
    email: str
    organisation: str
    kind: str
    checked_in_at: datetime | None


@dataclass(frozen=True)
class VersionRef:
    """The schedule version the meeting figures are counted in."""

    id: int
    number: int
    published: bool


@dataclass
class Dashboard:
    """Everything the organisers' dashboard of one event shows."""

    event: Event
    sides: list[SideCounts]
    requests: dict[str, int]
    wishes: dict[str, int]
    version: VersionRef | None
    participants: list[ParticipantRow]
    attendees_checked_in: int
    attendees_confirmed: int
    no_shows: list[AttendeeRow]
    last_reminders: dict[str, datetime] = field(default_factory=dict)

    @property
    def requests_sent(self) -> int:
        """Count every meeting request sent, whatever became of it."""
        return sum(self.requests.values())

    @property
    def without_meeting(self) -> list[ParticipantRow]:
        """Return the participants without any meeting in the counted version."""
        return without_meeting(self.participants)

    @property
    def without_request(self) -> list[ParticipantRow]:
        """Return the participants who have sent no meeting request (withdrawn ones not)."""
        return without_request(self.participants)

    @property
    def distribution(self) -> list[tuple[int, int]]:
        """Return (number of meetings, participants with that many), from 0 to the most."""
        counts = Counter(p.meetings for p in self.participants)
        return [(n, counts.get(n, 0)) for n in range(max(counts, default=0) + 1)]


def seat_holders(event: Event):
    """Return the clause of the people holding a seat: active attendees, confirmed registrations.

    For a query that joins the attendees to their registrations; every list of this dashboard
    (participants, attendance, contacts, reminders) counts the same people.
    """
    return and_(
        Registration.event_id == event.id,
        Registration.status == CONFIRMED,
        Attendee.cancelled_at.is_(None),
    )


def counted_version(event: Event) -> VersionRef | None:
    """Return the published version, else the newest one (without loading its meetings)."""
    row = db.session.execute(
        select(ScheduleVersion.id, ScheduleVersion.number, ScheduleVersion.status)
        .where(ScheduleVersion.event_id == event.id)
        .order_by((ScheduleVersion.status == PUBLISHED).desc(), ScheduleVersion.number.desc())
        .limit(1)
    ).first()
    return VersionRef(row.id, row.number, row.status == PUBLISHED) if row else None


def side_counts(event: Event) -> list[SideCounts]:
    """Count organisations and their active attendees per participant type and status.

    An organisation may hold several registrations (colleagues who registered on their own):
    it counts once per status, and once as registered when it holds or waits for a seat.
    """
    rows = db.session.execute(
        select(
            Profile.kind,
            Registration.status,
            func.count(func.distinct(Registration.profile_id)),
            func.count(Attendee.id),
        )
        .join(Profile, Registration.profile_id == Profile.id)
        .outerjoin(
            Attendee,
            (Attendee.registration_id == Registration.id) & Attendee.cancelled_at.is_(None),
        )
        .where(Registration.event_id == event.id)
        .group_by(Profile.kind, Registration.status)
    ).all()
    sides = {kind: SideCounts(kind, event.side_capacity(kind)) for kind in KINDS}
    for kind, status, organisations, seats in rows:
        side = sides[kind]
        if status == CONFIRMED:
            side.confirmed, side.seats_confirmed = organisations, seats
        elif status == WAITING:
            side.waiting, side.seats_waiting = organisations, seats
        elif status == CANCELLED:
            side.cancelled = organisations
    registered = db.session.execute(
        select(Profile.kind, func.count(func.distinct(Registration.profile_id)))
        .join(Profile, Registration.profile_id == Profile.id)
        .where(Registration.event_id == event.id, Registration.status.in_((CONFIRMED, WAITING)))
        .group_by(Profile.kind)
    ).all()
    for kind, organisations in registered:
        sides[kind].registered = organisations
    return list(sides.values())


def request_counts(event: Event) -> dict[str, int]:
    """Count the event's meeting requests per status (pending means unanswered)."""
    return _counts(MeetingRequest, MeetingRequest.status, event, REQUEST_STATUSES)


def wish_counts(event: Event) -> dict[str, int]:
    """Count the "must meet" and "not interested" marks of the event."""
    return _counts(ProfileMark, ProfileMark.kind, event, MARK_KINDS)


def _counts(model, column, event: Event, keys) -> dict[str, int]:
    """Count the event's rows of ``model`` per value of ``column`` (0 for each absent key)."""
    found = dict(
        db.session.execute(
            select(column, func.count()).where(model.event_id == event.id).group_by(column)
        ).all()
    )
    return {key: found.get(key, 0) for key in keys}


def meetings_per_profile(version: VersionRef | None) -> dict[int, int]:
    """Count each profile's meetings in a version."""
    if version is None:
        return {}
    sides = union_all(
        select(ScheduleMeeting.profile_a_id.label("profile_id")).where(
            ScheduleMeeting.version_id == version.id
        ),
        select(ScheduleMeeting.profile_b_id.label("profile_id")).where(
            ScheduleMeeting.version_id == version.id
        ),
    ).subquery()
    rows = db.session.execute(
        select(sides.c.profile_id, func.count()).group_by(sides.c.profile_id)
    ).all()
    return dict(rows)


def requests_per_profile(event: Event) -> dict[int, int]:
    """Count the meeting requests each profile sent (withdrawn ones not)."""
    rows = db.session.execute(
        select(MeetingRequest.from_profile_id, func.count())
        .where(MeetingRequest.event_id == event.id, MeetingRequest.status != WITHDRAWN)
        .group_by(MeetingRequest.from_profile_id)
    ).all()
    return dict(rows)


def participant_rows(event: Event, version: VersionRef | None) -> list[ParticipantRow]:
    """Return every confirmed organisation with its seats, attendance, requests and meetings."""
    rows = db.session.execute(
        select(
            Profile.id,
            Profile.name,
            Profile.kind,
            func.count(Attendee.id),
            func.count(Attendee.checked_in_at),
            func.coalesce(func.sum(case((Attendee.no_show.is_(True), 1), else_=0)), 0),
        )
        .join(Registration, Registration.profile_id == Profile.id)
        .join(Attendee, Attendee.registration_id == Registration.id)
        .where(seat_holders(event))
        .group_by(Profile.id, Profile.name, Profile.kind)
    ).all()
    sent = requests_per_profile(event)
    meetings = meetings_per_profile(version)
    participants = [
        ParticipantRow(
            profile_id=pid,
            name=name,
            kind=kind,
            attendees=attendees,
            checked_in=checked_in,
            no_shows=int(no_shows),
            requests_sent=sent.get(pid, 0),
            meetings=meetings.get(pid, 0),
        )
        for pid, name, kind, attendees, checked_in, no_shows in rows
    ]
    participants.sort(key=lambda p: (p.name.casefold(), p.profile_id))
    return participants


def without_meeting(rows: list[ParticipantRow]) -> list[ParticipantRow]:
    """Keep the participants without any meeting."""
    return [row for row in rows if row.meetings == 0]


def without_request(rows: list[ParticipantRow]) -> list[ParticipantRow]:
    """Keep the participants who have sent no meeting request."""
    return [row for row in rows if row.requests_sent == 0]


def attendee_rows(event: Event, *, no_show: bool | None = None, checked_in: bool | None = None):
    """Return the people holding a seat (only no-shows, or only those checked in, if asked)."""
    query = (
        select(Attendee.name, Attendee.email, Profile.name, Profile.kind, Attendee.checked_in_at)
        .join(Registration, Attendee.registration_id == Registration.id)
        .join(Profile, Registration.profile_id == Profile.id)
        .where(seat_holders(event))
        .order_by(Profile.name, Attendee.name, Attendee.id)
    )
    if no_show is not None:
        query = query.where(Attendee.no_show.is_(no_show))
    if checked_in is not None:
        query = query.where(
            Attendee.checked_in_at.is_not(None) if checked_in else Attendee.checked_in_at.is_(None)
        )
    return [AttendeeRow(*row) for row in db.session.execute(query)]


def contacts_of(event: Event) -> dict[int, list[tuple[str, str]]]:
    """Map each confirmed profile to its attendees' (name, e-mail), in one query."""
    rows = db.session.execute(
        select(Registration.profile_id, Attendee.name, Attendee.email)
        .join(Attendee, Attendee.registration_id == Registration.id)
        .where(seat_holders(event))
        .order_by(Attendee.id)
    ).all()
    found: dict[int, list[tuple[str, str]]] = {}
    for profile_id, name, email in rows:
        found.setdefault(profile_id, []).append((name, email))
    return found


def last_reminders(event: Event) -> dict[str, datetime]:
    """Return when each group was last reminded."""
    rows = db.session.execute(
        select(ReminderSent.audience, func.max(ReminderSent.sent_at))
        .where(ReminderSent.event_id == event.id)
        .group_by(ReminderSent.audience)
    ).all()
    return {audience: sent_at for audience, sent_at in rows if audience in REMINDER_AUDIENCES}


def reminded_since(event: Event, audience: str, since: datetime) -> set[int]:
    """Return the profiles that got this group's reminder from ``since`` on."""
    return set(
        db.session.scalars(
            select(ReminderSent.profile_id).where(
                ReminderSent.event_id == event.id,
                ReminderSent.audience == audience,
                ReminderSent.sent_at >= since,
            )
        )
    )


def dashboard(event: Event) -> Dashboard:
    """Return the organisers' dashboard of an event (a fixed number of aggregate queries)."""
    version = counted_version(event)
    participants = participant_rows(event, version)
    return Dashboard(
        event=event,
        sides=side_counts(event),
        requests=request_counts(event),
        wishes=wish_counts(event),
        version=version,
        participants=participants,
        attendees_checked_in=sum(p.checked_in for p in participants),
        attendees_confirmed=sum(p.attendees for p in participants),
        no_shows=attendee_rows(event, no_show=True),
        last_reminders=last_reminders(event),
    )


def version_profiles(version: ScheduleVersion) -> list[Profile]:
    """Return the profiles of a version's participants by name (the agendas' order)."""
    ids = [profile_id_of(p["id"]) for p in (version.problem or {}).get("participants", [])]
    profiles = db.session.scalars(select(Profile).where(Profile.id.in_(ids or [0])))
    return sorted(profiles, key=lambda profile: (profile.name.lower(), profile.id))
