"""The RQ side of jobs: the Redis connection, the queue, and what RQ knows about a job."""

import logging
import time
from datetime import UTC, datetime

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

log = logging.getLogger(__name__)

# RQ states in which the work is over although our row may still say queued or running.
RQ_ENDED = (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, JobStatus.FINISHED)


def redis_connection(app: Flask | None = None) -> Redis:
    """Return this app's Redis client (created on first use, so after gunicorn forks)."""
    app = app or current_app._get_current_object()
    client = app.extensions.get("jobs_redis")
    if client is None:
        client = Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=10
        )
        app.extensions["jobs_redis"] = client
    return client


def queue(app: Flask | None = None) -> Queue:
    """Return the queue the app's jobs go to."""
    app = app or current_app._get_current_object()
    return Queue(app.config["JOBS_QUEUE"], connection=redis_connection(app))


def enqueue_unless_marked(app: Flask, key: str, ttl: int, task: str, **options) -> bool:
    """Enqueue ``task`` unless the Redis key ``key`` marks one as waiting; set the mark.

    Say whether a job was enqueued; Redis errors reach the caller (the mark is undone when the
    enqueue fails). Coalesced jobs (the refit, composing e-mails) delete their mark when they
    start looking at the data, so that later changes enqueue the next one.
    """
    connection = redis_connection(app)
    if not connection.set(key, "1", nx=True, ex=ttl):
        return False
    try:
        queue(app).enqueue(task, **options)
    except RedisError:
        connection.delete(key)
        raise
    return True


def clear_mark(app: Flask, key: str) -> None:
    """Delete a coalesced job's mark as the job starts looking at the data (later changes enqueue
    the next one); without Redis the mark expires by itself."""
    try:
        redis_connection(app).delete(key)
    except RedisError:
        log.warning("Cannot clear the job mark %s", key, exc_info=True)


def wait_since_queued(delay: float, enqueued_at: datetime | None) -> None:
    """Sleep until ``delay`` seconds have passed since a job was queued (a burst's changes join)."""
    if delay and enqueued_at is not None:
        waited = (datetime.now(UTC) - enqueued_at.replace(tzinfo=UTC)).total_seconds()
        time.sleep(max(0.0, min(delay, delay - waited)))


def fetch(rq_id: str) -> RQJob | None:
    """Return the RQ job, or None when Redis no longer knows it."""
    try:
        return RQJob.fetch(rq_id, connection=redis_connection())
    except NoSuchJobError:
        return None


def is_alive(rq_job: RQJob, now: float | None = None) -> bool:
    """Tell whether RQ still has the job waiting, or running with a live worker.

    A running job is alive while its worker's heartbeat keeps its entry in the started registry
    from expiring; a worker killed with SIGKILL stops the heartbeat, and the entry expires within
    ``JOBS_HEARTBEAT_SECONDS`` + 60 s.
    """
    status = rq_job.get_status(refresh=True)
    if status in RQ_ENDED:
        return False
    if status != JobStatus.STARTED:
        return True
    registry = StartedJobRegistry(queue().name, connection=redis_connection())
    expired = registry.get_expired_job_ids(timestamp=now if now is not None else time.time())
    return rq_job.id not in expired and rq_job.id in registry.get_job_ids(cleanup=False)


def discard(app: Flask) -> None:
    """Delete the app's queue and its jobs from Redis (tests use a queue of their own)."""
    queue(app).delete(delete_jobs=True)
