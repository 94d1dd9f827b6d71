"""Registration use cases: events, seats and the waiting list, cancellations, check-in.

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

Seats per side
--------------
An event may also give SMEs and startups seats of their own (``sme_capacity``,
``startup_capacity``; either may stay empty for "no limit of its own"), so that one side cannot
take every seat and leave the other nobody to meet. Then each side has **its own waiting
list**, with the rules above applied per side: a registration is confirmed only if nobody of
its side is waiting and its attendees fit into both its side's free seats and the event's free
seats; promotion walks the waiting registrations in order, and a head that does not fit blocks
only the registrations of its own side. Side seats can never be set below that side's confirmed
seats, nor above the capacity.

No overbooking
--------------
Every change of seats first locks the event row and only then reads the seats: an ``UPDATE
... RETURNING`` of ``events.lock_version`` (the row lock on PostgreSQL; on SQLite this takes the
database's write lock, like ``BEGIN IMMEDIATE``; SQLite's driver opens the transaction right
before it, so no stale snapshot is held). Arrival numbers (``seq``) come from
``events.last_seq`` incremented in the same statement, so they are gap-free per event and follow
the order in which the server accepted the registrations.

Seat counters
-------------
The event's row carries, per participant type, the seats of its confirmed registrations and the
number of its registrations waiting (``<kind>_seats_taken``, ``<kind>_waiting``). A new
registration reads them with the statement that locks the row (which sees the row as the last
lock holder committed it) and adds itself to them in the statement storing it, so that it
counts no attendees under the lock (the count grew with every registration). Every other
change of seats (cancellations, promotions, capacity, the organisers' moves) ends in
:func:`promote`, which counts them anew under the lock; so does deleting a profile, whose
registrations the database deletes with it (a flush hook, :func:`recount_seats`). The seat
figures the pages show are still counted from the registrations.

Short locks
-----------
The lock is held until the commit, so a registration does under it only what the seat decision
needs: the locking UPDATE (which returns the counters) and the rows of the registration, its
attendees, the outbox notices and the counters: one ``WITH ... INSERT`` on PostgreSQL, which
stores nothing if an attendee's address is registered already (then a query says which),
plain statements on SQLite (built once; no model objects). Input checks come before
the lock; the e-mails are composed by the job worker (``jobs.mailing``), many at a time. On
PostgreSQL the registration view's commit passes the lock on before its disk write and waits
for the disk afterwards (``web.hot_transaction``), so that a burst of registrations does not
queue for one disk flush after the other.

Services change models and flush; the caller commits, then sends the queued e-mails.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import (
    DateTime,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from matchmaker.accounts.models import User
from matchmaker.core import commit_hooks
from matchmaker.core.clock import local_now, utcnow
from matchmaker.core.column_defaults import ColumnDefaults
from matchmaker.directory.models import KINDS, Profile
from matchmaker.events import notifications
from matchmaker.events.errors import EventError
from matchmaker.events.models import CANCELLED, CONFIRMED, WAITING, Attendee, Event, Registration
from matchmaker.events.programme import session_problems
from matchmaker.events.queries import (
    seats_taken,
    seats_taken_query,
    waiting_list,
    waiting_query,
    waiting_side,
)
from matchmaker.extensions import db
from matchmaker.mail import services as mail

MAX_CAPACITY = 10_000
# Tables at one time: 2,000 seat 4,000 of the 10,000 seats in meetings of two (a brokerage of
# 700 tables is real); the solver is what limits a large event, not this ceiling.
MAX_TABLES = 2_000


MAX_ATTENDEES = 10

# The event's counters per participant type (columns ``<kind>_<counter>``): the seats of its
# confirmed registrations and its registrations waiting.
SEAT_COUNTERS = ("seats_taken", "waiting")
COUNTER_COLUMNS = [f"{kind}_{counter}" for kind in KINDS for counter in SEAT_COUNTERS]


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


def check_event_data(data: dict) -> None:
    """Raise EventError for the first problem in event data."""
    capacity = int(data.get("capacity", 1))
    if not 1 <= capacity <= MAX_CAPACITY:
        raise EventError(_("Enter a capacity between 1 and 10,000 seats."), "capacity")
    if not 1 <= int(data["table_count"]) <= MAX_TABLES:
        raise EventError(_("Enter between 1 and 2,000 tables."), "table_count")
    for kind in KINDS:
        side = data.get(f"{kind}_capacity")
        if side is not None and not 0 <= int(side) <= capacity:
            raise EventError(
                _("Seats of one side must be between 0 and the capacity (%(n)d).", n=capacity),
                f"{kind}_capacity",
            )
    problems = session_problems(data)
    if problems:
        field, message = next(iter(problems.items()))
        raise EventError(message, field)


def create_event(data: dict) -> Event:
    """Create an event from validated data."""
    check_event_data(data)
    event = Event(
        capacity=int(data["capacity"]),
        sme_capacity=data.get("sme_capacity"),
        startup_capacity=data.get("startup_capacity"),
        lock_version=0,
        last_seq=0,
    )
    for field in EVENT_FIELDS:
        setattr(event, field, data[field])
    db.session.add(event)
    db.session.flush()
    return event


def update_event(event: Event, data: dict) -> list[Registration]:
    """Change an event; a new capacity goes through :func:`change_capacity`."""
    check_event_data(data)
    promoted = []
    seats = (int(data["capacity"]), data.get("sme_capacity"), data.get("startup_capacity"))
    if seats != (event.capacity, event.sme_capacity, event.startup_capacity):
        promoted = change_seats(event, *seats)
    for field in EVENT_FIELDS:
        setattr(event, field, data[field])
    db.session.flush()
    return promoted


def _lock_statement(next_seq: bool):
    values = {"lock_version": Event.lock_version + 1}
    if next_seq:
        values["last_seq"] = Event.last_seq + 1
    return (
        update(Event)
        .where(Event.id == bindparam("locked_event_id"))
        .values(**values)
        .returning(Event)
        .execution_options(populate_existing=True)
    )


# The statements every registration runs, built once: building one costs more CPU than the
# database spends on it. LOCKS is keyed by "hand out the next arrival number".
LOCKS = {next_seq: _lock_statement(next_seq) for next_seq in (False, True)}
TAKEN_ADDRESSES = select(Attendee.email).where(
    Attendee.event_id == bindparam("event_id"),
    Attendee.email_key.in_(bindparam("keys", expanding=True)),
    Attendee.cancelled_at.is_(None),
)


def lock_event(event_id: int, *, next_seq: bool = False, keep_loaded: bool = False) -> Event:
    """Lock the event row until the end of the transaction and return it freshly loaded.

    One ``UPDATE ... RETURNING`` takes the lock and reads the event under it (``next_seq``
    hands out the next arrival number in the same statement). Whatever else was read before
    the lock may be stale and is expired, unless ``keep_loaded``: the caller then decides only
    on what it reads under the lock.
    """
    if not keep_loaded:
        db.session.expire_all()
    event = db.session.scalar(LOCKS[next_seq], {"locked_event_id": event_id})
    if event is None:
        raise EventError(_("This event does not exist."))
    return event


def email_key(email: str) -> str:
    """Return the form of an e-mail address used to spot duplicates."""
    return email.strip().lower()


@dataclass
class Enrolment:
    """A new registration and its place on the waiting list (None when confirmed)."""

    registration_id: int
    position: int | None

    @property
    def registration(self) -> Registration:
        """Return the registration as a model (one query; the request path needs only the id)."""
        return db.session.get(Registration, self.registration_id)


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
    return enrol(event_id, profile, people, user=user, locale=locale, now=now).registration


# The statements of a registration, built once: building one costs more CPU than the database
# spends on it. Plain Core rows, no model objects: a burst of registrations is CPU-bound.
_events, _registrations, _attendees = Event.__table__, Registration.__table__, Attendee.__table__
ENROL_LOCK = (
    update(_events)
    .where(_events.c.id == bindparam("locked_event_id"))
    .values(lock_version=_events.c.lock_version + 1, last_seq=_events.c.last_seq + 1)
    .returning(
        _events.c.last_seq,
        _events.c.capacity,
        _events.c.sme_capacity,
        _events.c.startup_capacity,
        _events.c.registration_opens,
        _events.c.registration_closes,
        *(_events.c[name] for name in COUNTER_COLUMNS),
    )
)
# The same, also saying that the commit is not to wait for the disk (web.hot_transaction asks
# for it on PostgreSQL; said here it costs no round trip of its own).
ENROL_LOCK_NO_WAIT_FOR_DISK = ENROL_LOCK.returning(
    func.set_config(literal_column("'synchronous_commit'"), literal_column("'off'"), true())
)
INSERT_REGISTRATION = insert(_registrations).returning(_registrations.c.id)
INSERT_ATTENDEES = insert(_attendees).returning(_attendees.c.id, sort_by_parameter_order=True)


def _count_in(event_id):
    """Build an UPDATE adding a new registration to the counters of the event ``event_id``.

    Its parameters ``added_<kind>_<counter>``: seats (confirmed) or 1 (waiting), else 0. The
    lock statement already set ``updated_at``; this one keeps it.
    """
    return (
        update(_events)
        .where(_events.c.id == event_id)
        .values(
            updated_at=_events.c.updated_at,
            **{
                column: _events.c[column] + bindparam(f"added_{column}", type_=Integer)
                for column in COUNTER_COLUMNS
            },
        )
    )


COUNT_IN = _count_in(bindparam("event_id", type_=Integer))


def counted_in(kind: str, status: str, seats: int) -> dict[str, int]:
    """Return the parameters of :data:`COUNT_IN` (or its CTE) for a new registration."""
    added = {f"added_{column}": 0 for column in COUNTER_COLUMNS}
    if status == CONFIRMED:
        added[f"added_{kind}_seats_taken"] = seats
    else:
        added[f"added_{kind}_waiting"] = 1
    return added


def _recount():
    """Build the UPDATE that counts an event's counters anew from its registrations."""
    event_id = _events.c.id
    return (
        update(_events)
        .where(event_id == bindparam("counted_event_id"))
        .values(
            updated_at=_events.c.updated_at,
            **{
                column: query.scalar_subquery()
                for kind in KINDS
                for column, query in (
                    (f"{kind}_seats_taken", seats_taken_query(event_id, kind)),
                    (f"{kind}_waiting", waiting_query(func.count(Registration.id), event_id, kind)),
                )
            },
        )
    )


RECOUNT = _recount()


def _lock_events_of_deleted_profiles(session: Session, _context, _instances) -> None:
    """Before a flush deletes profiles: lock the events they hold seats or places of.

    The database deletes their registrations with them (a cascade no code of this module sees);
    after the flush :func:`_recount_events_of_deleted_profiles` counts those events' counters
    anew. Locked first, as a registration does, so that the two wait for each other in order.
    """
    profile_ids = [o.id for o in session.deleted if isinstance(o, Profile) and o.id is not None]
    if not profile_ids:
        return
    connection = session.connection()
    event_ids = connection.execute(EVENTS_OF_PROFILES, {"profile_ids": profile_ids}).scalars()
    event_ids = sorted(set(event_ids))
    for event_id in event_ids:
        connection.execute(LOCKS[False], {"locked_event_id": event_id})
    session.info.setdefault(RECOUNT_KEY, set()).update(event_ids)


def _recount_events_of_deleted_profiles(session: Session, _context) -> None:
    for event_id in sorted(session.info.pop(RECOUNT_KEY, ())):
        session.connection().execute(RECOUNT, {"counted_event_id": event_id})
        held = session.identity_map.get(identity_key(Event, event_id))
        if held is not None:
            session.expire(held)


RECOUNT_KEY = "events_recount_after_flush"
EVENTS_OF_PROFILES = select(Registration.event_id).where(
    Registration.profile_id.in_(bindparam("profile_ids", expanding=True)),
    Registration.status != CANCELLED,
)
sa_event.listen(Session, "before_flush", _lock_events_of_deleted_profiles)
sa_event.listen(Session, "after_flush", _recount_events_of_deleted_profiles)


def recount_seats(event: Event) -> None:
    """Count the event's seat counters anew (the event must be locked): after any change of
    seats but a new registration, which :func:`enrol` counts in itself."""
    db.session.connection().execute(RECOUNT, {"counted_event_id": event.id})
    db.session.expire(event, COUNTER_COLUMNS)


def _insert_rows_pg() -> tuple[Select, ColumnDefaults]:
    """Build the one statement (three INSERTs as CTEs) that stores a registration on PostgreSQL.

    Two round trips fewer under the lock than three statements. The attendees come as one array
    per column, inserted in their order; a notice per attendee goes to the outbox. Columns the
    statement does not set get the models' defaults (the returned :class:`ColumnDefaults`).
    """
    defaults = ColumnDefaults()
    keys = cast(bindparam("keys"), ARRAY(String))
    registration = defaults.fill(
        _registrations,
        {
            "event_id": bindparam("event", type_=Integer),
            "profile_id": bindparam("profile", type_=Integer),
            "created_by_id": bindparam("user", type_=Integer),
            "status": bindparam("decision", type_=String),
            "seq": bindparam("arrival", type_=Integer),
            "priority": bindparam("arrival", type_=Integer),
            "locale": bindparam("language", type_=String),
            "confirmed_at": bindparam("confirmed", type_=DateTime(timezone=True)),
        },
    )
    address_taken = (
        select(_attendees.c.id)
        .where(
            _attendees.c.event_id == bindparam("event", type_=Integer),
            _attendees.c.email_key == any_(keys),
            _attendees.c.cancelled_at.is_(None),
        )
        .exists()
    )
    new_registration = (
        insert(_registrations)
        .from_select(
            list(registration),
            # nothing stored when an address is registered already: the caller then says which
            select(*registration.values()).where(~address_taken),
            include_defaults=False,
        )
        .returning(_registrations.c.id)
        .cte("new_registration")
    )
    people = (
        func.unnest(*(cast(bindparam(name), ARRAY(String)) for name in ("names", "emails")), keys)
        .table_valued("name", "email", "email_key", with_ordinality="n")
        .render_derived("person")
    )
    attendee = defaults.fill(
        _attendees,
        {
            "registration_id": new_registration.c.id,
            "event_id": bindparam("event", type_=Integer),
            "name": people.c.name,
            "email": people.c.email,
            "email_key": people.c.email_key,
        },
    )
    new_attendees = (
        insert(_attendees)
        .from_select(
            list(attendee),
            # the one new registration for every attendee: a join on true, not a forgotten one
            select(*attendee.values())
            .select_from(new_registration.join(people, true()))
            .order_by(people.c.n),
            include_defaults=False,
        )
        .returning(_attendees.c.id, _attendees.c.email)
        .cte("new_attendees")
    )
    notices = mail.insert_notices(
        defaults,
        new_attendees.c.email,
        {
            "attendee_id": new_attendees.c.id,
            "position": cast(bindparam("position"), Integer),
        },
    ).cte("notices")
    counted = (
        _count_in(bindparam("event", type_=Integer))
        .where(select(new_registration.c.id).exists())
        .cte("counted")
    )
    return select(new_registration.c.id).add_cte(new_attendees, notices, counted), defaults


# Built once: building it costs more CPU than the database spends on it.
INSERT_ROWS_PG, INSERT_ROWS_PG_DEFAULTS = _insert_rows_pg()


def enrol(
    event_id: int,
    profile: Profile,
    people: Sequence[tuple[str, str]],
    *,
    user: User | None = None,
    locale: str = "de",
    now: datetime | None = None,
) -> Enrolment:
    """Register attendees of a profile and tell the waiting-list place, if any.

    ``profile`` needs only its ``id`` and ``kind`` (a model, or a row of the two). Everything
    that does not depend on the seats is checked before the event is locked; under the lock
    come only the seat decision, the rows and a small notice per attendee (composed later by
    the job worker), so that concurrent registrations wait for each other as briefly as
    possible.
    """
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
    connection = db.session.connection()
    # Read what the decision needs of the profile and the user before the lock, not under it.
    kind, profile_id = profile.kind, profile.id
    user_id = user.id if user is not None else None
    now = now or local_now()
    postgresql = connection.dialect.name == "postgresql"
    # What the rows need that no seat decides, prepared before the lock as well.
    rows = (
        {
            "event": event_id,
            "profile": profile_id,
            "user": user_id,
            "language": locale,
            "names": [name for name, _email in people],
            "emails": [email for _name, email in people],
            "keys": keys,
            "notice_kind": "registered",
            "notice_event_id": event_id,
            "notice_origin": mail.notice_origin(),
            **INSERT_ROWS_PG_DEFAULTS.params(),
        }
        if postgresql
        else None
    )
    lock = (
        ENROL_LOCK_NO_WAIT_FOR_DISK
        if commit_hooks.take_request(db.session(), commit_hooks.NO_WAIT_FOR_DISK_KEY)
        else ENROL_LOCK
    )
    locked = connection.execute(lock, {"locked_event_id": event_id}).one_or_none()
    if locked is None:
        raise EventError(_("This event does not exist."))
    seq, capacity, sme_capacity, startup_capacity, opens, closes = locked[:6]
    counters = dict(zip(COUNTER_COLUMNS, locked[6 : 6 + len(COUNTER_COLUMNS)], strict=True))
    if now < opens:
        raise EventError(
            _("Registration opens on %(when)s.", when=opens.strftime("%d.%m.%Y %H:%M"))
        )
    if now >= closes:
        raise EventError(_("Registration for this event has closed."))
    side_seats = sme_capacity if kind == "sme" else startup_capacity
    per_side = sme_capacity is not None or startup_capacity is not None
    taken = sum(counters[f"{k}_seats_taken"] for k in KINDS)
    waiting_on_list = (
        counters[f"{kind}_waiting"] if per_side else sum(counters[f"{k}_waiting"] for k in KINDS)
    )
    free = capacity - taken
    if side_seats is not None:
        free = min(free, side_seats - counters[f"{kind}_seats_taken"])
    fits = len(people) <= free
    status = CONFIRMED if fits and not waiting_on_list else WAITING
    # A newcomer queues behind everyone on its list: its priority is its arrival number, and
    # priorities set by organisers are ranks below any arrival number.
    position = waiting_on_list + 1 if status == WAITING else None
    counted = counted_in(kind, status, len(people))
    if postgresql:
        # stores nothing if an attendee's address is registered already (checked under the lock)
        rows.update(
            decision=status,
            arrival=seq,
            confirmed=utcnow() if status == CONFIRMED else None,
            position=position,
            **counted,
        )
        registration_id = connection.execute(INSERT_ROWS_PG, rows).scalar_one_or_none()
        if registration_id is None:
            raise_addresses_taken(connection, event_id, keys)
        mail.compose_later()
    else:
        if connection.execute(TAKEN_ADDRESSES, {"event_id": event_id, "keys": keys}).first():
            raise_addresses_taken(connection, event_id, keys)
        registration_id = _insert_rows(
            connection, event_id, profile_id, user_id, status, seq, locale, people, keys, position
        )
        connection.execute(COUNT_IN, {"event_id": event_id, **counted})
    # The event changed behind the session's back; a copy it holds must not be trusted.
    held = db.session.identity_map.get(identity_key(Event, event_id))
    if held is not None:
        db.session.expire(held)
    return Enrolment(registration_id, position)


def raise_addresses_taken(connection, event_id: int, keys: list[str]) -> None:
    """Say which of the attendees' addresses are registered for the event already.

    Checked under the lock: the partial unique index on the attendees' addresses would refuse
    them too, but without saying which address it was.
    """
    taken = connection.execute(TAKEN_ADDRESSES, {"event_id": event_id, "keys": keys})
    raise EventError(
        _("%(emails)s is already registered for this event.", emails=", ".join(taken.scalars()))
    )


def _insert_rows(
    connection, event_id, profile_id, user_id, status, seq, locale, people, keys, position
) -> int:
    """Insert the registration, its attendees and their notices; return the registration's id."""
    registration_id = connection.execute(
        INSERT_REGISTRATION,
        {
            "event_id": event_id,
            "profile_id": profile_id,
            "created_by_id": user_id,
            "status": status,
            "seq": seq,
            "priority": seq,
            "locale": locale,
            "confirmed_at": utcnow() if status == CONFIRMED else None,
        },
    ).scalar_one()
    attendee_ids = connection.execute(
        INSERT_ATTENDEES,
        [
            {
                "registration_id": registration_id,
                "event_id": event_id,
                "name": name,
                "email": email,
                "email_key": key,
            }
            for (name, email), key in zip(people, keys, strict=True)
        ],
    ).scalars()
    addresses = [email for _name, email in people]
    notifications.registered(event_id, list(zip(addresses, attendee_ids, strict=True)), position)
    return registration_id


def free_seats(event: Event, kind: str) -> int:
    """Return the seats a registration of this type may take now (the event must be locked)."""
    free = event.capacity - seats_taken(event.id)
    side = event.side_capacity(kind)
    if side is not None:
        free = min(free, side - seats_taken(event.id, kind))
    return free


def promote(event: Event) -> list[Registration]:
    """Confirm waiting registrations from the head while they fit (the event must be locked).

    With seats per side, each side's head blocks only its own side. Counts the event's seat
    counters anew: every change of seats but a new registration ends here.
    """
    free = event.capacity - seats_taken(event.id)
    side_free = {
        kind: event.side_capacity(kind) - seats_taken(event.id, kind)
        for kind in KINDS
        if event.side_capacity(kind) is not None
    }
    blocked: set[str | None] = set()
    promoted = []
    for registration in waiting_list(event.id):
        side = waiting_side(registration)
        if side in blocked:
            continue
        if registration.seats > min(free, side_free.get(side, free)):
            blocked.add(side)  # FIFO per list: the head blocks until enough seats are free
            continue
        registration.status = CONFIRMED
        registration.confirmed_at = registration.promoted_at = utcnow()
        free -= registration.seats
        if side in side_free:
            side_free[side] -= registration.seats
        promoted.append(registration)
    db.session.flush()
    # every change of seats but a new registration ends here: count the counters anew
    recount_seats(event)
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
    return change_seats(event, capacity, event.sme_capacity, event.startup_capacity)


def change_seats(
    event: Event, capacity: int, sme_capacity: int | None, startup_capacity: int | None
) -> list[Registration]:
    """Set the seats in all and per side (none below what is confirmed) and promote."""
    if not 1 <= capacity <= MAX_CAPACITY:
        raise EventError(_("Enter a capacity between 1 and 10,000 seats."), "capacity")
    locked = lock_event(event.id)
    taken = seats_taken(locked.id)
    if capacity < taken:
        raise EventError(
            ngettext(
                "%(num)d seat is already confirmed; the capacity cannot be lower. "
                "Cancel registrations first.",
                "%(num)d seats are already confirmed; the capacity cannot be lower. "
                "Cancel registrations first.",
                taken,
            ),
            "capacity",
        )
    for kind, side in (("sme", sme_capacity), ("startup", startup_capacity)):
        if side is None:
            continue
        if not 0 <= side <= capacity:
            raise EventError(
                _("Seats of one side must be between 0 and the capacity (%(n)d).", n=capacity),
                f"{kind}_capacity",
            )
        side_taken = seats_taken(locked.id, kind)
        if side < side_taken:
            raise EventError(
                _(
                    "%(taken)d seats of this side are already confirmed; its seats cannot be "
                    "lower. Cancel registrations first.",
                    taken=side_taken,
                ),
                f"{kind}_capacity",
            )
    locked.capacity = capacity
    locked.sme_capacity, locked.startup_capacity = sme_capacity, startup_capacity
    db.session.flush()
    return promote(locked)


def move_waiting(registration: Registration, direction: str) -> list[Registration]:
    """Move a waiting registration one place up or down the waiting list; promote if it fits."""
    event = lock_event(registration.event_id)
    if registration.status != WAITING:
        raise EventError(_("Only registrations on the waiting list can be moved."))
    queue = waiting_list(event.id, waiting_side(registration))  # its own side's list
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
    free = free_seats(event, registration.profile.kind)
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
