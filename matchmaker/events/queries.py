"""Event read models: seats, waiting list, registrations, wishes, and what the scheduler needs."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from matchmaker.core.clock import local_now
from matchmaker.directory.models import KINDS, Profile
from matchmaker.events.models import (
    ACCEPTED,
    CONFIRMED,
    MUST_MEET,
    NOT_INTERESTED,
    WAITING,
    Attendee,
    Availability,
    Event,
    MeetingRequest,
    ProfileMark,
    Registration,
)
from matchmaker.events.programme import slot_times
from matchmaker.extensions import db


def upcoming_events(today: date | None = None) -> list[Event]:
    """Return events from today on, soonest first."""
    today = today or local_now().date()
    return list(db.session.scalars(select(Event).where(Event.date >= today).order_by(Event.date)))


def all_events() -> list[Event]:
    """Return every event, newest date first."""
    return list(db.session.scalars(select(Event).order_by(Event.date.desc(), Event.id.desc())))


def _tally(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def over_active_attendees(query, event_id, *, with_profiles: bool = True):
    """Run ``query`` (of tallies) over an event's active attendees, each joined to its
    registration (and profile) by primary key.

    Statuses and types are tallied, not filtered on: a filter on the registrations' status let
    PostgreSQL, misled by the statistics of a table that was empty when last analysed (a new
    event's burst of registrations), join every attendee with every confirmed registration
    (3 ms at 200 registrations, growing with each, and under the event's lock).
    """
    query = query.select_from(Attendee).join(
        Registration, Registration.id == Attendee.registration_id
    )
    if with_profiles:
        query = query.join(Profile, Profile.id == Registration.profile_id)
    return query.where(Attendee.event_id == event_id, Attendee.cancelled_at.is_(None))


def seats_taken_query(event_id: int, kind: str | None = None):
    """Return the query counting the seats of confirmed registrations (of one type if given)."""
    counted = Registration.status == CONFIRMED
    if kind is not None:
        counted = counted & (Profile.kind == kind)
    return over_active_attendees(select(_tally(counted)), event_id, with_profiles=kind is not None)


def seats_taken(event_id: int, kind: str | None = None) -> int:
    """Count the seats held by confirmed registrations (of one participant type if given)."""
    return db.session.scalar(seats_taken_query(event_id, kind)) or 0


def waiting_query(column, event_id: int, kind: str | None = None):
    """Return a query of ``column`` over the waiting registrations (of one type if given)."""
    query = select(column).where(Registration.event_id == event_id, Registration.status == WAITING)
    if kind is not None:
        query = query.join(Profile, Registration.profile_id == Profile.id).where(
            Profile.kind == kind
        )
    return query


def seats_free(event: Event) -> int:
    """Return how many seats are free (never negative)."""
    return max(event.capacity - seats_taken(event.id), 0)


def waiting_list(event_id: int, kind: str | None = None) -> list[Registration]:
    """Return the waiting registrations (of one participant type if given) in promotion order."""
    query = (
        waiting_query(Registration, event_id, kind)
        .options(selectinload(Registration.attendees), selectinload(Registration.profile))
        .order_by(Registration.priority, Registration.seq)
    )
    return list(db.session.scalars(query))


def anyone_waiting(event_id: int, kind: str | None = None) -> bool:
    """Tell whether a registration (of one participant type if given) is waiting."""
    query = waiting_query(Registration.id, event_id, kind)
    return db.session.scalar(query.limit(1)) is not None


def waiting_side(registration: Registration) -> str | None:
    """Return the waiting list a registration queues on: its type, or None for the one list."""
    return registration.profile.kind if registration.event.seats_per_side else None


def waiting_position(registration: Registration) -> int | None:
    """Return the 1-based place on its waiting list, or None when not waiting."""
    if registration.status != WAITING:
        return None
    query = select(func.count(Registration.id)).where(
        Registration.event_id == registration.event_id,
        Registration.status == WAITING,
        or_(
            Registration.priority < registration.priority,
            (Registration.priority == registration.priority)
            & (Registration.seq < registration.seq),
        ),
    )
    side = waiting_side(registration)
    if side is not None:
        query = query.join(Profile, Registration.profile_id == Profile.id).where(
            Profile.kind == side
        )
    return (db.session.scalar(query) or 0) + 1


@dataclass
class SideFigures:
    """Seats and waiting list of one participant type.

    ``capacity`` is None when the side has no seats of its own (it may take any free seat);
    ``free`` is what a registration of this side may take now, within the event's capacity.
    """

    kind: str
    capacity: int | None
    taken: int
    free: int
    waiting_registrations: int


@dataclass
class EventFigures:
    """Seats and waiting list of an event at a glance."""

    capacity: int
    taken: int
    waiting_registrations: int
    waiting_seats: int
    sides: list[SideFigures] = field(default_factory=list)

    @property
    def free(self) -> int:
        """Return the free seats."""
        return max(self.capacity - self.taken, 0)


def side_figures(event: Event, waiting: list[Registration] | None = None) -> list[SideFigures]:
    """Count the seats taken, free and waiting of each participant type."""
    waiting = waiting_list(event.id) if waiting is None else waiting
    free = max(event.capacity - seats_taken(event.id), 0)
    sides = []
    for kind in KINDS:
        capacity = event.side_capacity(kind)
        taken = seats_taken(event.id, kind)
        sides.append(
            SideFigures(
                kind=kind,
                capacity=capacity,
                taken=taken,
                free=free if capacity is None else max(min(free, capacity - taken), 0),
                waiting_registrations=sum(1 for r in waiting if r.profile.kind == kind),
            )
        )
    return sides


def event_figures(event: Event) -> EventFigures:
    """Count seats taken and waiting (per side too, when the event has seats per side)."""
    waiting = waiting_list(event.id)
    return EventFigures(
        capacity=event.capacity,
        taken=seats_taken(event.id),
        waiting_registrations=len(waiting),
        waiting_seats=sum(r.seats for r in waiting),
        sides=side_figures(event, waiting) if event.seats_per_side else [],
    )


def registrations_of_event(event_id: int) -> list[Registration]:
    """Return all registrations of an event with attendees and profiles, in arrival order."""
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.event_id == event_id)
            .options(selectinload(Registration.attendees), selectinload(Registration.profile))
            .order_by(Registration.seq)
        )
    )


def registrations_of_profiles(profile_ids: Sequence[int], event_id: int | None = None):
    """Return the registrations of the given profiles (optionally of one event), newest first."""
    if not profile_ids:
        return []
    query = (
        select(Registration)
        .where(Registration.profile_id.in_(profile_ids))
        .options(selectinload(Registration.attendees), selectinload(Registration.event))
        .order_by(Registration.id.desc())
    )
    if event_id is not None:
        query = query.where(Registration.event_id == event_id)
    return list(db.session.scalars(query))


def is_registered(event_id: int, profile_id: int, *, confirmed_only: bool = False) -> bool:
    """Tell whether a profile holds (or, unless confirmed_only, waits for) seats at an event."""
    statuses = (CONFIRMED,) if confirmed_only else (CONFIRMED, WAITING)
    return (
        db.session.scalar(
            select(func.count(Registration.id)).where(
                Registration.event_id == event_id,
                Registration.profile_id == profile_id,
                Registration.status.in_(statuses),
            )
        )
        or 0
    ) > 0


def registration_open(event: Event, now: datetime | None = None) -> bool:
    """Tell whether the registration window is open."""
    now = now or local_now()
    return event.registration_opens <= now < event.registration_closes


def confirmed_attendees(event_id: int) -> list[Attendee]:
    """Return the attendees holding a seat, by organisation and name."""
    return list(
        db.session.scalars(
            select(Attendee)
            .join(Registration, Attendee.registration_id == Registration.id)
            .join(Profile, Registration.profile_id == Profile.id)
            .where(
                Registration.event_id == event_id,
                Registration.status == CONFIRMED,
                Attendee.cancelled_at.is_(None),
            )
            .options(selectinload(Attendee.registration).selectinload(Registration.profile))
            .order_by(Profile.name, Attendee.name, Attendee.id)
        )
    )


def confirmed_names(event_id: int, profile_id: int) -> list[str]:
    """Return the names of one profile's attendees holding a seat, in one statement.

    The same names and order as that profile's part of :func:`confirmed_attendees`.
    """
    return list(
        db.session.scalars(
            select(Attendee.name)
            .join(Registration, Attendee.registration_id == Registration.id)
            .where(
                Registration.event_id == event_id,
                Registration.profile_id == profile_id,
                Registration.status == CONFIRMED,
                Attendee.cancelled_at.is_(None),
            )
            .order_by(Attendee.name, Attendee.id)
        )
    )


def availability_of(event: Event, profile: Profile) -> Availability | None:
    """Return a profile's availability at an event, if it set one."""
    return db.session.scalar(
        select(Availability).where(
            Availability.event_id == event.id, Availability.profile_id == profile.id
        )
    )


def pair_vetoed(event_id: int, a: int, b: int) -> bool:
    """Tell whether either profile marked the other "not interested"."""
    return (
        db.session.scalar(
            select(func.count(ProfileMark.id)).where(
                ProfileMark.event_id == event_id,
                ProfileMark.kind == NOT_INTERESTED,
                or_(
                    (ProfileMark.from_profile_id == a) & (ProfileMark.to_profile_id == b),
                    (ProfileMark.from_profile_id == b) & (ProfileMark.to_profile_id == a),
                ),
            )
        )
        or 0
    ) > 0


def requests_between(event_id: int, a: int, b: int) -> list[MeetingRequest]:
    """Return the meeting requests between two profiles in either direction."""
    return list(
        db.session.scalars(
            select(MeetingRequest).where(
                MeetingRequest.event_id == event_id,
                or_(
                    (MeetingRequest.from_profile_id == a) & (MeetingRequest.to_profile_id == b),
                    (MeetingRequest.from_profile_id == b) & (MeetingRequest.to_profile_id == a),
                ),
            )
        )
    )


def requests_of_profiles(profile_ids: Sequence[int]) -> tuple[list, list]:
    """Return the (incoming, outgoing) meeting requests of the given profiles, newest first."""
    if not profile_ids:
        return [], []
    base = select(MeetingRequest).options(
        selectinload(MeetingRequest.event),
        selectinload(MeetingRequest.from_profile),
        selectinload(MeetingRequest.to_profile),
    )
    incoming = db.session.scalars(
        base.where(MeetingRequest.to_profile_id.in_(profile_ids)).order_by(MeetingRequest.id.desc())
    ).all()
    outgoing = db.session.scalars(
        base.where(MeetingRequest.from_profile_id.in_(profile_ids)).order_by(
            MeetingRequest.id.desc()
        )
    ).all()
    return list(incoming), list(outgoing)


def mark_of(event_id: int, sender_id: int, target_id: int) -> ProfileMark | None:
    """Return the mark one profile set toward another, if any."""
    return db.session.scalar(
        select(ProfileMark).where(
            ProfileMark.event_id == event_id,
            ProfileMark.from_profile_id == sender_id,
            ProfileMark.to_profile_id == target_id,
        )
    )


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


@dataclass(frozen=True)
class Participation:
    """A confirmed profile at an event, as the scheduler sees it."""

    profile_id: int
    kind: str
    name: str
    attendees: int
    unavailable: tuple[int, ...]  # slots, numbered from 1
    desired_meetings: int | None
    max_meetings: int  # the event's cap unless the profile asked for fewer


@dataclass(frozen=True)
class SchedulingInput:
    """The confirmed participants of an event and their wishes, for the scheduler.

    Pairs are ``(smaller profile id, larger profile id)``, sorted. A vetoed pair ("not
    interested" from either side) never appears among the required or must-meet pairs; a
    required pair never appears among the must-meet pairs.
    """

    event: Event
    participants: list[Participation]
    required_pairs: list[tuple[int, int]]
    must_meet_pairs: list[tuple[int, int]]
    vetoed_pairs: list[tuple[int, int]]

    def to_dict(self) -> dict:
        """Return the input as plain JSON data (with the event's programme)."""
        event = self.event
        return {
            "event_id": event.id,
            "date": event.date.isoformat(),
            "slots": event.slot_count,
            "morning_slots": event.morning_slots,
            "slot_times": [
                [start.strftime("%H:%M"), end.strftime("%H:%M")] for start, end in slot_times(event)
            ],
            "tables": event.table_count,
            "table_names": [event.table_label(n) for n in range(1, event.table_count + 1)],
            "max_meetings": event.max_meetings,
            "participants": [
                {
                    "profile_id": p.profile_id,
                    "kind": p.kind,
                    "name": p.name,
                    "attendees": p.attendees,
                    "unavailable": list(p.unavailable),
                    "desired_meetings": p.desired_meetings,
                    "max_meetings": p.max_meetings,
                }
                for p in self.participants
            ],
            "required_pairs": [list(p) for p in self.required_pairs],
            "must_meet_pairs": [list(p) for p in self.must_meet_pairs],
            "vetoed_pairs": [list(p) for p in self.vetoed_pairs],
        }


def scheduling_input(event: Event) -> SchedulingInput:
    """Return the confirmed participants of an event and their wishes, for the scheduler."""
    confirmed = db.session.execute(
        select(Registration.profile_id, func.count(Attendee.id))
        .join(Attendee, Attendee.registration_id == Registration.id)
        .where(
            Registration.event_id == event.id,
            Registration.status == CONFIRMED,
            Attendee.cancelled_at.is_(None),
        )
        .group_by(Registration.profile_id)
    ).all()
    seats = dict(confirmed)
    ids = set(seats)
    # columns, not objects: an event of thousands reads them in one light query
    profiles = {
        pid: (kind, name)
        for pid, kind, name in db.session.execute(
            select(Profile.id, Profile.kind, Profile.name).where(Profile.id.in_(ids or [0]))
        )
    }
    availabilities = {
        a.profile_id: a
        for a in db.session.scalars(
            select(Availability).where(
                Availability.event_id == event.id, Availability.profile_id.in_(ids or [0])
            )
        )
    }
    participants = []
    for profile_id in sorted(ids):
        availability = availabilities.get(profile_id)
        desired = availability.desired_meetings if availability else None
        unavailable = tuple(
            s
            for s in (availability.unavailable_slots if availability else [])
            if 1 <= s <= event.slot_count
        )
        participants.append(
            Participation(
                profile_id=profile_id,
                kind=profiles[profile_id][0],
                name=profiles[profile_id][1],
                attendees=seats[profile_id],
                unavailable=unavailable,
                desired_meetings=desired,
                max_meetings=event.max_meetings if desired is None else desired,
            )
        )
    marks = db.session.execute(
        select(ProfileMark.from_profile_id, ProfileMark.to_profile_id, ProfileMark.kind).where(
            ProfileMark.event_id == event.id
        )
    ).all()
    vetoed = {
        _pair(m.from_profile_id, m.to_profile_id)
        for m in marks
        if m.kind == NOT_INTERESTED and m.from_profile_id in ids and m.to_profile_id in ids
    }
    accepted = db.session.execute(
        select(MeetingRequest.from_profile_id, MeetingRequest.to_profile_id).where(
            MeetingRequest.event_id == event.id, MeetingRequest.status == ACCEPTED
        )
    ).all()
    required = {
        _pair(r.from_profile_id, r.to_profile_id)
        for r in accepted
        if r.from_profile_id in ids and r.to_profile_id in ids
    } - vetoed
    must_meet = (
        {
            _pair(m.from_profile_id, m.to_profile_id)
            for m in marks
            if m.kind == MUST_MEET and m.from_profile_id in ids and m.to_profile_id in ids
        }
        - vetoed
        - required
    )
    return SchedulingInput(
        event=event,
        participants=participants,
        required_pairs=sorted(required),
        must_meet_pairs=sorted(must_meet),
        vetoed_pairs=sorted(vetoed),
    )
