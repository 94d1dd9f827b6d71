"""Events, registrations with attendees, availability, meeting requests and marks.

Registration windows are naive local wall-clock times of the event (Europe/Berlin), like the
event's date and first slot; audit timestamps are timezone-aware UTC.
"""

from datetime import date, datetime, time

from flask_babel import gettext
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.accounts.models import User
from matchmaker.core.clock import utcnow
from matchmaker.directory.models import Profile
from matchmaker.extensions import db

CONFIRMED = "confirmed"
WAITING = "waiting"
CANCELLED = "cancelled"
REGISTRATION_STATUSES = (CONFIRMED, WAITING, CANCELLED)

PENDING = "pending"
ACCEPTED = "accepted"
DECLINED = "declined"
WITHDRAWN = "withdrawn"
REQUEST_STATUSES = (PENDING, ACCEPTED, DECLINED, WITHDRAWN)

MUST_MEET = "must_meet"
NOT_INTERESTED = "not_interested"
MARK_KINDS = (MUST_MEET, NOT_INTERESTED)


class Event(db.Model):
    """A networking event with a seat capacity and a session of meeting slots."""

    __tablename__ = "events"
    __table_args__ = (CheckConstraint("capacity >= 1", name="capacity_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    date: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    venue: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    # Seats per participant type (None: that side may take any seat within the capacity).
    sme_capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    startup_capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    registration_opens: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    registration_closes: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    first_slot: Mapped[time] = mapped_column(Time, nullable=False)
    slot_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    slot_count: Mapped[int] = mapped_column(Integer, nullable=False)
    morning_slots: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    breaks: Mapped[list[dict]] = mapped_column(JSON, nullable=False, default=list)
    table_count: Mapped[int] = mapped_column(Integer, nullable=False)
    table_names: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    max_meetings: Mapped[int] = mapped_column(Integer, nullable=False)
    # Bumped under the event's row lock; the UPDATE is what takes the write lock on SQLite.
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Last arrival number handed out to a registration of this event (taken under the lock).
    last_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # What a registration's seat decision needs, per participant type, read by the statement
    # that locks the row (registrations.enrol) and kept up to date under the lock: the seats of
    # confirmed registrations (their active attendees) and the registrations waiting.
    sme_seats_taken: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    sme_waiting: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    startup_seats_taken: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    startup_waiting: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )

    registrations: Mapped[list["Registration"]] = relationship(
        back_populates="event", order_by="Registration.seq", passive_deletes=True
    )

    @property
    def seats_per_side(self) -> bool:
        """Tell whether SMEs and startups have seats (and waiting lists) of their own."""
        return self.sme_capacity is not None or self.startup_capacity is not None

    def side_capacity(self, kind: str) -> int | None:
        """Return the seats of one participant type ("sme"/"startup"), or None for no limit."""
        return self.sme_capacity if kind == "sme" else self.startup_capacity

    def table_label(self, number: int) -> str:
        """Return the name of table ``number`` (1-based), or the number itself."""
        names = self.table_names or []
        return names[number - 1] if 0 < number <= len(names) else str(number)

    def table_title(self, number: int) -> str:
        """Return how table ``number`` is called on its own: its name as entered, or "Table 3"."""
        names = self.table_names or []
        if 0 < number <= len(names):
            return names[number - 1]
        return gettext("Table %(table)s", table=number)

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.title!r}>"


class Registration(db.Model):
    """One profile's booking of seats for one or more attendees."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "seq", name="uq_registrations_event_id_seq"),
        Index("ix_registrations_event_id_status_priority", "event_id", "status", "priority"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    )
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    # Arrival number within the event: gap-free, in the order the server accepted registrations.
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    # Waiting-list order; starts equal to seq, organisers may move registrations.
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    locale: Mapped[str] = mapped_column(String(5), nullable=False, default="de")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    event: Mapped[Event] = relationship(back_populates="registrations")
    profile: Mapped[Profile] = relationship()
    created_by: Mapped[User | None] = relationship()
    attendees: Mapped[list["Attendee"]] = relationship(
        back_populates="registration", order_by="Attendee.id", cascade="all, delete-orphan"
    )

    @property
    def active_attendees(self) -> list["Attendee"]:
        """Return the attendees who still hold or wait for a seat."""
        return [a for a in self.attendees if a.cancelled_at is None]

    @property
    def seats(self) -> int:
        """Return the number of seats this registration takes or waits for."""
        return 0 if self.status == CANCELLED else len(self.active_attendees)

    def __repr__(self) -> str:
        return f"<Registration {self.id} event={self.event_id} {self.status} #{self.seq}>"


class Attendee(db.Model):
    """A person who takes one seat; the same e-mail address may hold one seat per event."""

    __tablename__ = "attendees"
    __table_args__ = (
        Index(
            "uq_attendees_event_id_email_key",
            "event_id",
            "email_key",
            unique=True,
            sqlite_where=text("cancelled_at IS NULL"),
            postgresql_where=text("cancelled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    email_key: Mapped[str] = mapped_column(String(254), nullable=False)
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    no_show: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    registration: Mapped[Registration] = relationship(back_populates="attendees")

    def __repr__(self) -> str:
        return f"<Attendee {self.id} {self.email}>"


class Availability(db.Model):
    """A profile's unavailable slots and wished number of meetings at one event."""

    __tablename__ = "availabilities"
    __table_args__ = (
        UniqueConstraint("event_id", "profile_id", name="uq_availabilities_event_id_profile_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    )
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    unavailable_slots: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    desired_meetings: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )

    def __repr__(self) -> str:
        return f"<Availability event={self.event_id} profile={self.profile_id}>"


class MeetingRequest(db.Model):
    """A wish of one profile to meet another at an event; the other side answers it."""

    __tablename__ = "meeting_requests"
    __table_args__ = (
        UniqueConstraint(
            "event_id",
            "from_profile_id",
            "to_profile_id",
            name="uq_meeting_requests_event_id_from_profile_id_to_profile_id",
        ),
        CheckConstraint("from_profile_id <> to_profile_id", name="not_to_self"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    from_profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    to_profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=PENDING)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    event: Mapped[Event] = relationship()
    from_profile: Mapped[Profile] = relationship(foreign_keys=[from_profile_id])
    to_profile: Mapped[Profile] = relationship(foreign_keys=[to_profile_id])

    def __repr__(self) -> str:
        return (
            f"<MeetingRequest {self.id} {self.from_profile_id}->{self.to_profile_id} {self.status}>"
        )


class ProfileMark(db.Model):
    """A private "must meet" or "not interested" mark of one profile toward another."""

    __tablename__ = "profile_marks"
    __table_args__ = (
        UniqueConstraint(
            "event_id",
            "from_profile_id",
            "to_profile_id",
            name="uq_profile_marks_event_id_from_profile_id_to_profile_id",
        ),
        CheckConstraint("from_profile_id <> to_profile_id", name="not_to_self"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    from_profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    to_profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )

    def __repr__(self) -> str:
        return f"<ProfileMark {self.from_profile_id}->{self.to_profile_id} {self.kind}>"
