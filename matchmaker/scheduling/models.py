"""Schedule versions of an event, their meetings, and a log of what was printed when.

A version is a complete schedule. At most the newest version of an event is a draft; editing a
published version first copies it into a new draft, so participants keep seeing the published
one until the organiser publishes again.
"""

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.accounts.models import User
from matchmaker.core.clock import utcnow
from matchmaker.directory.models import Profile
from matchmaker.events.models import Event
from matchmaker.extensions import db

DRAFT = "draft"
PUBLISHED = "published"
SUPERSEDED = "superseded"
VERSION_STATUSES = (DRAFT, PUBLISHED, SUPERSEDED)

#: Why two participants meet: an accepted request, a "must meet" wish, the match score, or an
#: organiser's hand.
REQUEST = "request"
WISH = "wish"
MATCH = "match"
MANUAL = "manual"
ORIGINS = (REQUEST, WISH, MATCH, MANUAL)

PRINT_KINDS = ("agendas", "tables", "grid", "pdf")

#: Whom a reminder goes to: participants who sent no meeting request, or who have no meeting.
NO_REQUEST = "no_request"
NO_MEETING = "no_meeting"
REMINDER_AUDIENCES = (NO_REQUEST, NO_MEETING)


class ScheduleVersion(db.Model):
    """One complete schedule of an event, with the solver problem it was made for."""

    __tablename__ = "schedule_versions"
    __table_args__ = (
        UniqueConstraint("event_id", "number", name="uq_schedule_versions_event_id_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default=DRAFT)
    # The solver problem (shared/data/schedule format) the meetings are checked against.
    problem: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # Solver figures of the last build or re-optimisation (score, holes, optimality, issues).
    stats: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    event: Mapped[Event] = relationship()
    created_by: Mapped[User | None] = relationship()
    meetings: Mapped[list["ScheduleMeeting"]] = relationship(
        back_populates="version",
        order_by="ScheduleMeeting.slot, ScheduleMeeting.table",
        cascade="all, delete-orphan",
    )

    @property
    def is_draft(self) -> bool:
        """Tell whether this version can still be edited in place."""
        return self.status == DRAFT

    def __repr__(self) -> str:
        return f"<ScheduleVersion {self.id} event={self.event_id} #{self.number} {self.status}>"


class ScheduleMeeting(db.Model):
    """One placed meeting of a version: two profiles at one table in one slot."""

    __tablename__ = "schedule_meetings"
    __table_args__ = (
        UniqueConstraint("version_id", "key", name="uq_schedule_meetings_version_id_key"),
        UniqueConstraint(
            "version_id", "slot", "table", name="uq_schedule_meetings_version_id_slot_table"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("schedule_versions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # The meeting's id in the solver problem; stable across the versions of an event.
    key: Mapped[str] = mapped_column(String(40), nullable=False)
    profile_a_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    profile_b_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    slot: Mapped[int] = mapped_column(Integer, nullable=False)
    table: Mapped[int] = mapped_column(Integer, nullable=False)
    score: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    origin: Mapped[str] = mapped_column(String(10), nullable=False, default=MATCH)
    reasons: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    version: Mapped[ScheduleVersion] = relationship(back_populates="meetings")
    profile_a: Mapped[Profile] = relationship(foreign_keys=[profile_a_id])
    profile_b: Mapped[Profile] = relationship(foreign_keys=[profile_b_id])

    def partner_of(self, profile_id: int) -> Profile:
        """Return the other side of the meeting."""
        return self.profile_b if profile_id == self.profile_a_id else self.profile_a

    def involves(self, profile_id: int) -> bool:
        """Tell whether a profile takes part in this meeting."""
        return profile_id in (self.profile_a_id, self.profile_b_id)

    def __repr__(self) -> str:
        return (
            f"<ScheduleMeeting {self.key} v={self.version_id} slot={self.slot} "
            f"table={self.table}{' locked' if self.locked else ''}>"
        )


class SchedulePrint(db.Model):
    """A record that a version was printed or downloaded as PDF, and when."""

    __tablename__ = "schedule_prints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    version_id: Mapped[int] = mapped_column(
        ForeignKey("schedule_versions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )

    version: Mapped[ScheduleVersion] = relationship()

    def __repr__(self) -> str:
        return f"<SchedulePrint {self.id} version={self.version_id} {self.kind}>"


class ReminderSent(db.Model):
    """A reminder e-mailed to one participant of an event, and which group it was sent to."""

    __tablename__ = "reminders_sent"
    __table_args__ = (
        Index("ix_reminders_sent_event_id_audience_sent_at", "event_id", "audience", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    )
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    audience: Mapped[str] = mapped_column(String(20), nullable=False)
    sent_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    sent_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )

    def __repr__(self) -> str:
        return f"<ReminderSent event={self.event_id} profile={self.profile_id} {self.audience}>"


class MeetingRating(db.Model):
    """A participant's rating of one meeting of a published schedule, and the follow-up."""

    __tablename__ = "meeting_ratings"
    __table_args__ = (
        UniqueConstraint(
            "event_id",
            "meeting_key",
            "rater_profile_id",
            name="uq_meeting_ratings_event_id_meeting_key_rater_profile_id",
        ),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # The meeting's key (stable across versions) and both sides, so the rating outlives
    # re-publishing.
    meeting_key: Mapped[str] = mapped_column(String(40), nullable=False)
    rater_profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    partner_profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    stars: Mapped[int] = mapped_column(Integer, nullable=False)
    follow_up: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )

    def __repr__(self) -> str:
        return (
            f"<MeetingRating {self.meeting_key} by={self.rater_profile_id} {self.stars}"
            f"{' follow-up' if self.follow_up else ''}>"
        )
