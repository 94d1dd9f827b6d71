"""Jobs: long work (schedule builds, PDFs, e-mails) run by a worker, tracked in the database."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.accounts.models import User
from matchmaker.core.clock import utcnow
from matchmaker.events.models import Event
from matchmaker.extensions import db

QUEUED = "queued"
RUNNING = "running"
FINISHED = "finished"
FAILED = "failed"
CANCELLED = "cancelled"
ACTIVE = (QUEUED, RUNNING)
ENDED = (FINISHED, FAILED, CANCELLED)
STATUSES = (QUEUED, RUNNING, FINISHED, FAILED, CANCELLED)

# The database, not the queue, keeps one job per event and lane at a time: this partial unique
# index refuses a second queued/running schedule job even when two requests race.
ACTIVE_WHERE = text("status IN ('queued', 'running') AND lane IS NOT NULL")


class Job(db.Model):
    """One piece of background work, its progress and its outcome."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "uq_jobs_active_lane",
            "event_id",
            "lane",
            unique=True,
            sqlite_where=ACTIVE_WHERE,
            postgresql_where=ACTIVE_WHERE,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The id of the RQ job that carries the work (random: several databases may share Redis).
    rq_id: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    # Jobs of one lane exclude each other per event ("schedule": build, re-plan, publish).
    lane: Mapped[str | None] = mapped_column(String(20), nullable=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=True, index=True
    )
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    params: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # Messages written by the job (errors, notes) are in the requester's language.
    locale: Mapped[str] = mapped_column(String(5), nullable=False, default="de")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=QUEUED, index=True)
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # A key of matchmaker.jobs.messages.STEPS, translated when shown.
    step: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    # What a running job says beyond its step: the solver's phase and best schedule so far.
    detail: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    worker_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )

    event: Mapped[Event | None] = relationship()
    requested_by: Mapped[User | None] = relationship()

    @property
    def is_active(self) -> bool:
        """Tell whether the job is still waiting or running."""
        return self.status in ACTIVE

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} event={self.event_id} {self.status} {self.progress}%>"


class JobFile(db.Model):
    """A file a job produced (the PDF of all agendas), kept in the database for every host."""

    __tablename__ = "job_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    mimetype: Mapped[str] = mapped_column(String(100), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )

    def __repr__(self) -> str:
        return f"<JobFile {self.id} job={self.job_id} {self.filename}>"
