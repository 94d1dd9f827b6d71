"""Event use cases: registrations with a seat capacity and a waiting list, wishes, scheduling input.

Seats and the waiting list
--------------------------
Every attendee of a registration takes one seat. A registration is *confirmed* as a whole or
*waits* as a whole; it is never split.

The waiting list is strictly first come, first served (FIFO):

* A new registration is confirmed only if nobody is waiting and enough seats are free for all
  of its attendees. Otherwise it joins the end of the waiting list, even if a few seats are free,
  so that nobody overtakes the people already waiting.
* When seats free up (a cancellation, a cancelled attendee, more capacity), the waiting list is
  promoted from the head, in order, as long as the head fits into the free seats. A head that
  needs more seats than are free **blocks** the registrations behind it: they are not promoted
  past it. Seats stay free until enough are free for the head (or until an organiser acts).
* Organisers can override the order: move a waiting registration up or down (the promotion
  order changes, the arrival number stays), promote one registration out of order when enough
  seats are free, or raise the capacity (which promotes automatically).
* Capacity can never be set below the number of confirmed seats.

No overbooking
--------------
Every change of seats first locks the event row and only then counts the seats: an UPDATE of
``events.lock_version`` (on SQLite this takes the database's write lock, like ``BEGIN
IMMEDIATE``; SQLite's driver opens the transaction right before it, so no stale snapshot is
held) followed by ``SELECT ... FOR UPDATE`` on PostgreSQL. Arrival numbers (``seq``) come from
``events.last_seq`` incremented under the same lock, so they are gap-free per event and follow
the order in which the server accepted the registrations.

Services change models and flush; the caller commits, then sends the queued e-mails.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from matchmaker.accounts.models import User, utcnow
from matchmaker.directory.models import Profile
from matchmaker.events import notifications
from matchmaker.events.models import (
    ACCEPTED,
    CANCELLED,
    CONFIRMED,
    DECLINED,
    MUST_MEET,
    NOT_INTERESTED,
    PENDING,
    WAITING,
    WITHDRAWN,
    Attendee,
    Availability,
    Event,
    MeetingRequest,
    ProfileMark,
    Registration,
)
from matchmaker.extensions import db

MAX_CAPACITY = 10_000
MAX_ATTENDEES = 10
MAX_MESSAGE = 500
EVENT_FIELDS = (
    "title",
    "date",
    "venue",
    "description",
    "registration_opens",
    "registration_closes",
    "first_slot",
    "slot_minutes",
    "slot_count",
    "morning_slots",
    "breaks",
    "table_count",
    "table_names",
    "max_meetings",
)


class EventError(Exception):
    """A use case was refused; the message is meant for the user and nothing was changed."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# -- time and the networking session -----------------------------------------------------------


def local_now() -> datetime:
    """Return the current wall-clock time of the events' time zone, without tzinfo."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Berlin"))
    return datetime.now(zone).replace(tzinfo=None)


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


# -- events ------------------------------------------------------------------------------------


def upcoming_events(today: date | None = None) -> list[Event]:
    """Return events from today on, soonest first."""
    today = today or local_now().date()
    return list(db.session.scalars(select(Event).where(Event.date >= today).order_by(Event.date)))


def all_events() -> list[Event]:
    """Return every event, newest date first."""
    return list(db.session.scalars(select(Event).order_by(Event.date.desc(), Event.id.desc())))


def check_event_data(data: dict) -> None:
    """Raise EventError for the first problem in event data."""
    if not 1 <= int(data.get("capacity", 1)) <= MAX_CAPACITY:
        raise EventError(_("Enter a capacity between 1 and 10,000 seats."), "capacity")
    problems = session_problems(data)
    if problems:
        field, message = next(iter(problems.items()))
        raise EventError(message, field)


def create_event(data: dict) -> Event:
    """Create an event from validated data."""
    check_event_data(data)
    event = Event(capacity=int(data["capacity"]), lock_version=0, last_seq=0)
    for field in EVENT_FIELDS:
        setattr(event, field, data[field])
    db.session.add(event)
    db.session.flush()
    return event


def update_event(event: Event, data: dict) -> list[Registration]:
    """Change an event; a new capacity goes through :func:`change_capacity`."""
    check_event_data(data)
    promoted = []
    if int(data["capacity"]) != event.capacity:
        promoted = change_capacity(event, int(data["capacity"]))
    for field in EVENT_FIELDS:
        setattr(event, field, data[field])
    db.session.flush()
    return promoted


def lock_event(event_id: int) -> Event:
    """Lock the event row until the end of the transaction and return it freshly loaded."""
    db.session.execute(
        update(Event)
        .where(Event.id == event_id)
        .values(lock_version=Event.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    # Whatever was read before the lock may be stale; read it again under the lock.
    db.session.expire_all()
    event = db.session.scalar(
        select(Event)
        .where(Event.id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if event is None:
        raise EventError(_("This event does not exist."))
    return event


def seats_taken(event_id: int) -> int:
    """Count the seats held by confirmed registrations."""
    return (
        db.session.scalar(
            select(func.count(Attendee.id))
            .join(Registration, Attendee.registration_id == Registration.id)
            .where(
                Registration.event_id == event_id,
                Registration.status == CONFIRMED,
                Attendee.cancelled_at.is_(None),
            )
        )
        or 0
    )


def seats_free(event: Event) -> int:
    """Return how many seats are free (never negative)."""
    return max(event.capacity - seats_taken(event.id), 0)


def waiting_list(event_id: int) -> list[Registration]:
    """Return the waiting registrations in promotion order."""
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.event_id == event_id, Registration.status == WAITING)
            .options(selectinload(Registration.attendees))
            .order_by(Registration.priority, Registration.seq)
        )
    )


def waiting_position(registration: Registration) -> int | None:
    """Return the 1-based place on the waiting list, or None when not waiting."""
    if registration.status != WAITING:
        return None
    ahead = db.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.event_id == registration.event_id,
            Registration.status == WAITING,
            or_(
                Registration.priority < registration.priority,
                (Registration.priority == registration.priority)
                & (Registration.seq < registration.seq),
            ),
        )
    )
    return (ahead or 0) + 1


@dataclass
class EventFigures:
    """Seats and waiting list of an event at a glance."""

    capacity: int
    taken: int
    waiting_registrations: int
    waiting_seats: int

    @property
    def free(self) -> int:
        """Return the free seats."""
        return max(self.capacity - self.taken, 0)


def event_figures(event: Event) -> EventFigures:
    """Count seats taken and waiting."""
    waiting = waiting_list(event.id)
    return EventFigures(
        capacity=event.capacity,
        taken=seats_taken(event.id),
        waiting_registrations=len(waiting),
        waiting_seats=sum(r.seats for r in waiting),
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


# -- registration, cancellation, promotion -----------------------------------------------------


def registration_open(event: Event, now: datetime | None = None) -> bool:
    """Tell whether the registration window is open."""
    now = now or local_now()
    return event.registration_opens <= now < event.registration_closes


def email_key(email: str) -> str:
    """Return the form of an e-mail address used to spot duplicates."""
    return email.strip().lower()


def register(
    event_id: int,
    profile: Profile,
    people: Sequence[tuple[str, str]],
    *,
    user: User | None = None,
    locale: str = "de",
    now: datetime | None = None,
) -> Registration:
    """Register attendees (name, e-mail) of a profile: confirmed if seats allow, else waiting."""
    people = [(name.strip(), email.strip()) for name, email in people if name or email]
    if not people:
        raise EventError(_("Enter at least one attendee."))
    if any(not name or "@" not in email for name, email in people):
        raise EventError(_("Every attendee needs a name and an e-mail address."))
    if len(people) > MAX_ATTENDEES:
        raise EventError(_("At most %(n)d attendees per registration.", n=MAX_ATTENDEES))
    keys = [email_key(email) for _name, email in people]
    if len(set(keys)) != len(keys):
        raise EventError(_("Each attendee needs their own e-mail address."))
    event = lock_event(event_id)
    now = now or local_now()
    if now < event.registration_opens:
        raise EventError(
            _(
                "Registration opens on %(when)s.",
                when=event.registration_opens.strftime("%d.%m.%Y %H:%M"),
            )
        )
    if now >= event.registration_closes:
        raise EventError(_("Registration for this event has closed."))
    taken = db.session.scalars(
        select(Attendee.email).where(
            Attendee.event_id == event.id,
            Attendee.email_key.in_(keys),
            Attendee.cancelled_at.is_(None),
        )
    ).all()
    if taken:
        raise EventError(
            _("%(emails)s is already registered for this event.", emails=", ".join(taken))
        )
    anyone_waiting = db.session.scalar(
        select(Registration.id)
        .where(Registration.event_id == event.id, Registration.status == WAITING)
        .limit(1)
    )
    fits = len(people) <= event.capacity - seats_taken(event.id)
    status = CONFIRMED if fits and anyone_waiting is None else WAITING
    event.last_seq += 1
    registration = Registration(
        event_id=event.id,
        profile_id=profile.id,
        created_by_id=user.id if user is not None else None,
        status=status,
        seq=event.last_seq,
        priority=event.last_seq,
        locale=locale,
        confirmed_at=utcnow() if status == CONFIRMED else None,
    )
    for name, email in people:
        registration.attendees.append(
            Attendee(event_id=event.id, name=name, email=email, email_key=email_key(email))
        )
    db.session.add(registration)
    db.session.flush()
    notifications.registered(registration, waiting_position(registration))
    return registration


def promote(event: Event) -> list[Registration]:
    """Confirm waiting registrations from the head while they fit (the event must be locked)."""
    free = event.capacity - seats_taken(event.id)
    promoted = []
    for registration in waiting_list(event.id):
        if registration.seats > free:
            break  # strict FIFO: the head blocks until enough seats are free
        registration.status = CONFIRMED
        registration.confirmed_at = registration.promoted_at = utcnow()
        free -= registration.seats
        promoted.append(registration)
    db.session.flush()
    for registration in promoted:
        notifications.promoted(registration)
    return promoted


def cancel_registration(
    registration: Registration, *, by_organiser: bool = False, now: datetime | None = None
) -> list[Registration]:
    """Cancel a whole registration and promote from the waiting list."""
    event = lock_event(registration.event_id)
    if registration.status == CANCELLED:
        raise EventError(_("This registration has already been cancelled."))
    check_still_changeable(event, by_organiser, now)
    registration.status = CANCELLED
    registration.cancelled_at = utcnow()
    for attendee in registration.active_attendees:
        attendee.cancelled_at = registration.cancelled_at
    db.session.flush()
    notifications.cancelled(registration, by_organiser=by_organiser)
    return promote(event)


def cancel_attendee(
    attendee: Attendee, *, by_organiser: bool = False, now: datetime | None = None
) -> list[Registration]:
    """Give up one attendee's seat (the last one cancels the registration) and promote."""
    registration = attendee.registration
    event = lock_event(registration.event_id)
    if attendee.cancelled_at is not None or registration.status == CANCELLED:
        raise EventError(_("This attendee has already been cancelled."))
    if len(registration.active_attendees) == 1:
        return cancel_registration(registration, by_organiser=by_organiser, now=now)
    check_still_changeable(event, by_organiser, now)
    attendee.cancelled_at = utcnow()
    db.session.flush()
    notifications.attendee_cancelled(attendee)
    return promote(event)


def check_still_changeable(event: Event, by_organiser: bool, now: datetime | None) -> None:
    """Refuse participants' changes once the event day is over."""
    if not by_organiser and (now or local_now()).date() > event.date:
        raise EventError(_("This event is over; registrations can no longer be changed."))


def change_capacity(event: Event, capacity: int) -> list[Registration]:
    """Set the number of seats (not below the confirmed seats) and promote into new seats."""
    if not 1 <= capacity <= MAX_CAPACITY:
        raise EventError(_("Enter a capacity between 1 and 10,000 seats."), "capacity")
    locked = lock_event(event.id)
    taken = seats_taken(locked.id)
    if capacity < taken:
        raise EventError(
            _(
                "%(taken)d seats are already confirmed; the capacity cannot be lower. "
                "Cancel registrations first.",
                taken=taken,
            ),
            "capacity",
        )
    locked.capacity = capacity
    db.session.flush()
    return promote(locked)


def move_waiting(registration: Registration, direction: str) -> list[Registration]:
    """Move a waiting registration one place up or down the waiting list; promote if it fits."""
    event = lock_event(registration.event_id)
    if registration.status != WAITING:
        raise EventError(_("Only registrations on the waiting list can be moved."))
    queue = waiting_list(event.id)
    index = queue.index(registration)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(queue):
        raise EventError(_("The registration cannot be moved further."))
    neighbour = queue[other]
    # Normalise first so that equal priorities never make a swap a no-op.
    for rank, item in enumerate(queue):
        item.priority = rank
    registration.priority, neighbour.priority = neighbour.priority, registration.priority
    db.session.flush()
    return promote(event)


def promote_manually(registration: Registration) -> list[Registration]:
    """Confirm one waiting registration out of order, if enough seats are free."""
    event = lock_event(registration.event_id)
    if registration.status != WAITING:
        raise EventError(_("Only registrations on the waiting list can be promoted."))
    free = event.capacity - seats_taken(event.id)
    if registration.seats > free:
        raise EventError(
            _(
                "Not enough free seats: %(free)d free, %(needed)d needed. "
                "Raise the capacity or cancel registrations first.",
                free=max(free, 0),
                needed=registration.seats,
            )
        )
    registration.status = CONFIRMED
    registration.confirmed_at = registration.promoted_at = utcnow()
    db.session.flush()
    notifications.promoted(registration)
    return [registration, *promote(event)]


def set_attendance(attendee: Attendee, state: str) -> None:
    """Check an attendee in, mark a no-show, or reset ("checkin", "noshow", "reset")."""
    if attendee.cancelled_at is not None or attendee.registration.status != CONFIRMED:
        raise EventError(_("Only confirmed attendees can be checked in."))
    if state == "checkin":
        attendee.checked_in_at, attendee.no_show = utcnow(), False
    elif state == "noshow":
        attendee.checked_in_at, attendee.no_show = None, True
    elif state == "reset":
        attendee.checked_in_at, attendee.no_show = None, False
    else:
        raise EventError(_("Unknown attendance state."))
    db.session.flush()


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


# -- availability ------------------------------------------------------------------------------


def availability_of(event: Event, profile: Profile) -> Availability | None:
    """Return a profile's availability at an event, if it set one."""
    return db.session.scalar(
        select(Availability).where(
            Availability.event_id == event.id, Availability.profile_id == profile.id
        )
    )


def save_availability(
    event: Event, profile: Profile, unavailable: Iterable[int], desired: int | None
) -> Availability:
    """Store the slots a profile cannot meet in and how many meetings it wants."""
    if not is_registered(event.id, profile.id):
        raise EventError(_("%(name)s is not registered for this event.", name=profile.name))
    slots = sorted({int(s) for s in unavailable})
    if any(not 1 <= s <= event.slot_count for s in slots):
        raise EventError(_("Unknown slot."), "unavailable")
    if desired is not None and not 0 <= desired <= event.max_meetings:
        raise EventError(
            _("Choose between 0 and %(n)d meetings.", n=event.max_meetings), "desired_meetings"
        )
    availability = availability_of(event, profile)
    if availability is None:
        availability = Availability(event_id=event.id, profile_id=profile.id)
        db.session.add(availability)
    availability.unavailable_slots = slots
    availability.desired_meetings = desired
    db.session.flush()
    return availability


# -- meeting requests and marks ----------------------------------------------------------------


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


def check_pair(event: Event, sender: Profile, target: Profile, now: datetime | None) -> None:
    """Refuse wishes toward oneself, unregistered profiles or events that are over."""
    if sender.id == target.id:
        raise EventError(_("You cannot ask your own profile for a meeting."))
    if (now or local_now()).date() > event.date:
        raise EventError(_("This event is over."))
    for profile in (sender, target):
        if not is_registered(event.id, profile.id):
            raise EventError(_("%(name)s is not registered for this event.", name=profile.name))


def send_meeting_request(
    event: Event, sender: Profile, target: Profile, message: str, *, now: datetime | None = None
) -> MeetingRequest:
    """Ask another registered profile for a meeting at the event."""
    check_pair(event, sender, target, now)
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        raise EventError(_("The message is too long (at most 500 characters)."), "message")
    if pair_vetoed(event.id, sender.id, target.id):
        raise EventError(_("A meeting with %(name)s is not possible.", name=target.name))
    for existing in requests_between(event.id, sender.id, target.id):
        if existing.status == ACCEPTED:
            raise EventError(
                _("You have already agreed a meeting with %(name)s.", name=target.name)
            )
        if existing.from_profile_id == sender.id:
            raise EventError(
                _("%(name)s has already received a request from you.", name=target.name)
            )
        if existing.status == PENDING:
            raise EventError(
                _("%(name)s has already asked you for a meeting; please answer.", name=target.name)
            )
    meeting_request = MeetingRequest(
        event=event, from_profile=sender, to_profile=target, message=message, status=PENDING
    )
    db.session.add(meeting_request)
    db.session.flush()
    notifications.request_sent(meeting_request)
    return meeting_request


def answer_request(meeting_request: MeetingRequest, accept: bool) -> MeetingRequest:
    """Accept or decline a pending meeting request."""
    if meeting_request.status != PENDING:
        raise EventError(_("This request has already been answered."))
    if accept and pair_vetoed(
        meeting_request.event_id, meeting_request.from_profile_id, meeting_request.to_profile_id
    ):
        raise EventError(
            _("A meeting with %(name)s is not possible.", name=meeting_request.from_profile.name)
        )
    meeting_request.status = ACCEPTED if accept else DECLINED
    meeting_request.answered_at = utcnow()
    db.session.flush()
    notifications.request_answered(meeting_request)
    return meeting_request


def withdraw_request(meeting_request: MeetingRequest) -> MeetingRequest:
    """Withdraw a pending or agreed meeting request."""
    if meeting_request.status not in (PENDING, ACCEPTED):
        raise EventError(_("This request can no longer be withdrawn."))
    meeting_request.status = WITHDRAWN
    meeting_request.answered_at = utcnow()
    db.session.flush()
    return meeting_request


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


def set_mark(
    event: Event,
    sender: Profile,
    target: Profile,
    kind: str | None,
    *,
    now: datetime | None = None,
) -> ProfileMark | None:
    """Mark a profile "must meet" or "not interested", or clear the mark (kind None)."""
    check_pair(event, sender, target, now)
    if kind not in (None, MUST_MEET, NOT_INTERESTED):
        raise EventError(_("Unknown choice."))
    if kind == NOT_INTERESTED:
        for existing in requests_between(event.id, sender.id, target.id):
            if existing.status in (PENDING, ACCEPTED):
                raise EventError(
                    _(
                        "There is an open or agreed meeting request with %(name)s; "
                        "decline or withdraw it first.",
                        name=target.name,
                    )
                )
    mark = mark_of(event.id, sender.id, target.id)
    if kind is None:
        if mark is not None:
            db.session.delete(mark)
            db.session.flush()
        return None
    if mark is None:
        mark = ProfileMark(event_id=event.id, from_profile_id=sender.id, to_profile_id=target.id)
        db.session.add(mark)
    mark.kind = kind
    db.session.flush()
    return mark


# -- what the scheduler needs ------------------------------------------------------------------


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def scheduling_input(event: Event) -> dict:
    """Return the confirmed participants and their wishes as plain data for the scheduler.

    Slots are numbered from 1; pairs are ``[smaller profile id, larger profile id]``, sorted.
    A vetoed pair ("not interested" from either side) never appears among the required or
    must-meet pairs; a required pair never appears among the must-meet pairs.
    """
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
    profiles = {
        p.id: p for p in db.session.scalars(select(Profile).where(Profile.id.in_(ids or [0])))
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
        unavailable = [
            s
            for s in (availability.unavailable_slots if availability else [])
            if 1 <= s <= event.slot_count
        ]
        participants.append(
            {
                "profile_id": profile_id,
                "kind": profiles[profile_id].kind,
                "name": profiles[profile_id].name,
                "attendees": seats[profile_id],
                "unavailable": unavailable,
                "desired_meetings": desired,
                "max_meetings": event.max_meetings if desired is None else desired,
            }
        )
    marks = db.session.scalars(select(ProfileMark).where(ProfileMark.event_id == event.id)).all()
    vetoed = {
        _pair(m.from_profile_id, m.to_profile_id)
        for m in marks
        if m.kind == NOT_INTERESTED and m.from_profile_id in ids and m.to_profile_id in ids
    }
    accepted = db.session.scalars(
        select(MeetingRequest).where(
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
        "participants": participants,
        "required_pairs": [list(p) for p in sorted(required)],
        "must_meet_pairs": [list(p) for p in sorted(must_meet)],
        "vetoed_pairs": [list(p) for p in sorted(vetoed)],
    }
