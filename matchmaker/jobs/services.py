"""Job use cases: submit, follow, finish, fail, cancel, and clean up after dead workers.

The job's state lives in the ``jobs`` table, so every web worker on every host shows the same
progress; RQ only carries the work to a worker. A worker writes its progress on a connection of
its own (committed at once), while the work itself stays in the session and is committed in one
transaction together with the job's "finished" mark at the very end; a killed worker therefore
leaves nothing half-written, and a job whose worker vanished is marked failed by
``fail_abandoned`` (run by the worker, the job page and the next submit).
"""

import logging
import uuid
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import JobStatus
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from matchmaker.accounts.models import User
from matchmaker.core.clock import utcnow
from matchmaker.events.models import Event
from matchmaker.extensions import db
from matchmaker.jobs import queue as rq_side
from matchmaker.jobs.models import (
    ACTIVE,
    CANCELLED,
    ENDED,
    FAILED,
    FINISHED,
    QUEUED,
    RUNNING,
    Job,
    JobFile,
)
from matchmaker.mail import services as mail

log = logging.getLogger(__name__)

# What a job is doing, shown next to its progress bar (keys are stored, labels translated).
STEPS = {
    "queued": _l("Waiting for a free worker"),
    "started": _l("Started"),
    "reading": _l("Reading participants, wishes and scores"),
    "solving": _l("Optimising the schedule"),
    "saving": _l("Saving the result"),
    "publishing": _l("Publishing"),
    "sending": _l("Sending e-mails"),
    "rendering": _l("Rendering the agendas"),
    "training": _l("Learning from the feedback"),
    "validating": _l("Checking every row"),
    "importing": _l("Writing the profiles"),
    "done": _l("Done"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
}

# The solver's phases, as the job page names them.
PHASES = {
    "construct": _l("a first schedule"),
    "select": _l("choosing the best meetings"),
    "fit": _l("fitting the meetings into slots"),
    "levels": _l("proving the choice"),
    "holes": _l("closing gaps between meetings"),
    "done": _l("finishing"),
}

KINDS = {
    "build": _l("Build the schedule"),
    "reoptimise": _l("Re-optimise the schedule"),
    "replan": _l("Re-plan the rest of the day"),
    "publish": _l("Publish the schedule and send e-mails"),
    "agendas_pdf": _l("PDF of all agendas"),
    "reminders": _l("Send reminders"),
    "train_reranker": _l("Train the re-ranker on the feedback"),
    "import": _l("Import profiles"),
}

# A notice older than this was left by a request that died after its commit.
NOTICE_GRACE = timedelta(minutes=1)

# A job row without an RQ job is only abandoned once the submitting request had time to enqueue.
ENQUEUE_GRACE = timedelta(minutes=1)


class JobConflict(Exception):
    """Another job of the same lane is queued or running for this event."""

    def __init__(self, active: Job | None) -> None:
        super().__init__("job already active")
        self.active = active


class JobCancelled(Exception):
    """The job was cancelled (or given up) while it ran; stop without writing anything."""


class JobRefused(Exception):
    """The work cannot be done as asked: fail the job with a message and what was found."""

    def __init__(self, message: str, result: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result


def step_label(job: Job) -> str:
    """Return the translated label of the job's current step."""
    return str(STEPS.get(job.step, job.step))


def detail_label(job: Job) -> str:
    """Return the running job's detail in words (the solver's phase and best so far), or ""."""
    detail = job.detail or {}
    if "phase" not in detail:
        return ""
    return _(
        "Phase: %(phase)s. Best so far: %(placed)d meetings, score %(score)s, %(holes)d gaps.",
        phase=PHASES.get(detail["phase"], detail["phase"]),
        placed=detail["placed"],
        score=format_decimal(detail["score"], format="#,##0.0"),
        holes=detail["holes"],
    )


def status_document(job: Job) -> dict:
    """Return what the job page shows of a job, for the page's live updates."""
    return {
        "id": job.id,
        "status": job.status,
        "active": job.is_active,
        "progress": job.progress,
        "step": job.step,
        "step_label": step_label(job),
        "detail": detail_label(job) if job.is_active else "",
        "error": job.error or "",
    }


def kind_label(job: Job) -> str:
    """Return the translated name of the job's kind."""
    return str(KINDS.get(job.kind, job.kind))


def active_job(event: Event, lane: str) -> Job | None:
    """Return the queued or running job of this event and lane, if any."""
    return db.session.scalar(
        select(Job).where(Job.event_id == event.id, Job.lane == lane, Job.status.in_(ACTIVE))
    )


def submit(
    kind: str,
    event: Event | None,
    user: User | None,
    *,
    lane: str | None,
    locale: str,
    params: dict | None = None,
) -> Job:
    """Record a new queued job; refuse it while another job of its lane runs for the event.

    ``event`` is None for work of no event (an import, training the re-ranker); such jobs
    have no lane.

    The caller commits, then calls ``enqueue``. Call this before any other change of the
    request: a refused job rolls the session back.
    """
    if lane is not None:
        blocking = active_job(event, lane)
        if blocking is not None and not fail_abandoned_job(blocking):
            raise JobConflict(blocking)
    job = Job(
        rq_id=uuid.uuid4().hex,
        kind=kind,
        lane=lane,
        event_id=event.id if event is not None else None,
        requested_by_id=user.id if user else None,
        params=params or {},
        locale=locale,
        status=QUEUED,
        progress=0,
        step="queued",
    )
    db.session.add(job)
    try:
        db.session.flush()
    except IntegrityError:
        # A concurrent request won the partial unique index on (event, lane).
        db.session.rollback()
        raise JobConflict(active_job(event, lane)) from None
    return job


def enqueue(job: Job) -> bool:
    """Put a committed job on the RQ queue; mark it failed when Redis cannot be reached."""
    config = current_app.config
    timeout = config["JOBS_TIMEOUTS"].get(job.kind, config["JOBS_DEFAULT_TIMEOUT"])
    try:
        rq_side.queue().enqueue(
            "matchmaker.jobs.tasks.run",
            job.id,
            job_id=job.rq_id,
            job_timeout=timeout,
            result_ttl=config["JOBS_RESULT_TTL"],
            failure_ttl=config["JOBS_RESULT_TTL"],
        )
    except RedisError:
        log.exception("Cannot enqueue job %s", job.id)
        _end(job.id, FAILED, error=_("The job queue is not reachable; please try again later."))
        db.session.refresh(job)
        return False
    return True


def _end(
    job_id: int,
    status: str,
    *,
    error: str | None = None,
    result: dict | None = None,
    only_from=ACTIVE,
) -> bool:
    """Move a job into a final state on a connection of its own; say whether it moved."""
    values = {"status": status, "step": status, "error": error, "finished_at": utcnow()}
    if result is not None:
        values["result"] = result
    with db.engine.begin() as connection:
        moved = connection.execute(
            update(Job).where(Job.id == job_id, Job.status.in_(only_from)).values(**values)
        ).rowcount
    return bool(moved)


def start(job_id: int, worker_name: str | None) -> bool:
    """Mark a queued job running (on its own connection); False when it was cancelled meanwhile."""
    with db.engine.begin() as connection:
        moved = connection.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == QUEUED)
            .values(
                status=RUNNING,
                step="started",
                progress=1,
                started_at=utcnow(),
                worker_name=worker_name,
            )
        ).rowcount
    return bool(moved)


def report(job_id: int, progress: int, step: str, detail: dict | None = None) -> None:
    """Record progress at once for every reader; raise JobCancelled when the job was stopped."""
    with db.engine.begin() as connection:
        moved = connection.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING)
            .values(progress=max(1, min(99, progress)), step=step, detail=detail)
        ).rowcount
    if not moved:
        raise JobCancelled


def finish(job_id: int, result: dict, file: JobFile | None = None) -> bool:
    """Mark the job finished in the session's transaction, so the work and the mark commit together.

    Returns False (and changes nothing) when the job is no longer running: it was cancelled or
    given up, and the caller must roll its work back.
    """
    moved = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == RUNNING)
        .values(status=FINISHED, progress=100, step="done", result=result, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved and file is not None:
        file.job_id = job_id
        db.session.add(file)
    return bool(moved)


def keep_result(job_id: int, result: dict) -> bool:
    """Store a running job's result so far in the session's transaction (it keeps running)."""
    moved = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == RUNNING)
        .values(result=result)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(moved)


def fail(job_id: int, message: str, result: dict | None = None) -> None:
    """Mark a queued or running job failed with a message for the organiser (and what it found)."""
    _end(job_id, FAILED, error=message, result=result)


def reports_while_writing() -> bool:
    """Tell whether a job may write progress while its session holds uncommitted writes.

    SQLite has one writer at a time: the progress connection would wait for the job's own
    transaction, so such jobs report their progress only before they start writing.
    """
    return db.engine.dialect.name != "sqlite"


def active_jobs_of_kind(kind: str) -> list[Job]:
    """Return the queued or running jobs of a kind (jobs of no event have no lane to lock)."""
    return list(db.session.scalars(select(Job).where(Job.kind == kind, Job.status.in_(ACTIVE))))


def cancel(job: Job) -> bool:
    """Cancel a queued or running job; a running one has its work horse stopped by RQ."""
    if not _end(job.id, CANCELLED):
        return False
    try:
        rq_job = rq_side.fetch(job.rq_id)
        if rq_job is not None:
            # RQ's view decides: a worker may have taken the job before our row said so.
            if rq_job.get_status() == JobStatus.STARTED:
                send_stop_job_command(rq_side.redis_connection(), job.rq_id)
            else:
                rq_job.cancel()
    except (RedisError, InvalidJobOperation, NoSuchJobError):
        # The row says cancelled; a worker that still picks the job up finds that and stops.
        log.warning("Job %s cancelled in the database only", job.id, exc_info=True)
    return True


def fail_abandoned_job(job: Job, now: float | None = None) -> bool:
    """Mark the job failed when it is active but no live worker carries it; say whether it was."""
    if job.status not in ACTIVE:
        return False
    try:
        # One look at RQ: the submitting request may enqueue the job between two looks.
        rq_job = rq_side.fetch(job.rq_id)
        if rq_job is None and utcnow() - _aware(job) < ENQUEUE_GRACE:
            return False  # the submitting request has not enqueued it yet
        if rq_job is not None and rq_side.is_alive(rq_job, now):
            return False
    except RedisError:
        return False  # cannot tell; never fail a job because Redis is briefly away
    moved = _end(
        job.id,
        FAILED,
        error=_(
            "The worker stopped during this job; its unfinished work was not saved. "
            "Please start it again."
        ),
    )
    db.session.refresh(job)
    if moved:
        log.warning("Job %s had no live worker and was marked failed", job.id)
    return moved


def _aware(job: Job):
    # SQLite returns naive datetimes for timezone-aware columns.
    created = job.created_at
    return created if created.tzinfo else created.replace(tzinfo=utcnow().tzinfo)


def fail_abandoned(now: float | None = None) -> list[int]:
    """Mark every active job without a live worker failed; return their ids."""
    failed = []
    for job in db.session.scalars(select(Job).where(Job.status.in_(ACTIVE))).all():
        if fail_abandoned_job(job, now):
            failed.append(job.id)
    return failed


def result_file(job: Job) -> JobFile | None:
    """Return the file a finished job produced."""
    return db.session.scalar(select(JobFile).where(JobFile.job_id == job.id))


def jobs_of(event: Event, limit: int = 10) -> list[Job]:
    """Return the event's newest jobs."""
    return list(
        db.session.scalars(
            select(Job).where(Job.event_id == event.id).order_by(Job.id.desc()).limit(limit)
        )
    )


def prune_ended(retention_days: int, now: datetime | None = None) -> tuple[int, int]:
    """Delete jobs that ended more than ``retention_days`` ago with their files; return counts."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    old = select(Job.id).where(Job.status.in_(ENDED), Job.finished_at < cutoff)
    if db.session.scalar(old.limit(1)) is None:
        return 0, 0  # nothing to prune: no write (SQLite has one writer, a job may hold it)
    # Files first: SQLite enforces the foreign key's ON DELETE CASCADE only when asked to.
    files = db.session.execute(delete(JobFile).where(JobFile.job_id.in_(old))).rowcount or 0
    jobs = db.session.execute(delete(Job).where(Job.id.in_(old))).rowcount or 0
    return jobs, files


def remove_event_files(event_ids: list[int], reason: str) -> int:
    """Delete the stored files of the events' jobs (they hold personal data); return how many.

    The job keeps its record and says why its file is gone; the organiser starts it again for a
    file without the removed data.
    """
    if not event_ids:
        return 0
    jobs = db.session.scalars(
        select(Job).where(Job.event_id.in_(event_ids), Job.id.in_(select(JobFile.job_id)))
    ).all()
    for job in jobs:
        job.result = dict(job.result or {}, file_removed=reason)
    db.session.execute(delete(JobFile).where(JobFile.job_id.in_([job.id for job in jobs])))
    db.session.flush()
    return len(jobs)


def housekeeping(now: datetime | None = None) -> dict[str, int]:
    """Prune old jobs and compose e-mail notices whose request died; commit."""
    jobs, files = prune_ended(current_app.config["JOBS_RETENTION_DAYS"], now)
    db.session.commit()
    composed = mail.compose_all_pending(older_than=NOTICE_GRACE)
    return {"jobs_pruned": jobs, "files_pruned": files, "notices_composed": composed}
