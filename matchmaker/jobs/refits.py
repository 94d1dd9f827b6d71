"""The matching refit: one job per change of the profiles, coalesced, never in a web request.

A commit that changed the profiles (``directory.indexing`` marks it in the session) asks for a
refit after the commit. A key in Redis says that a refit is already waiting; while it is set,
further changes enqueue nothing, because the waiting job reads the data version only when it
starts. The job deletes the key as it starts, so changes made during a fit enqueue the next
one: a burst of edits gives one or two fits, not one per edit. A worker also asks for a refit
when it starts and at each maintenance run if the newest artefact is older than the data
(a first start, a lost or failed job).
"""

import logging
from datetime import datetime

from flask import Flask, current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from matchmaker.core import commit_hooks
from matchmaker.directory.indexing import CHANGED, PROFILES_VERSION
from matchmaker.jobs import queue as rq_side
from matchmaker.matching import artefacts

log = logging.getLogger(__name__)
TASK = "matchmaker.jobs.tasks.refit"


def pending_key(app: Flask) -> str:
    """Return the Redis key that marks a waiting refit of the app's queue."""
    return f"matchmaker:{app.config['JOBS_QUEUE']}:refit-pending"


def request_refit(app: Flask) -> bool:
    """Enqueue a refit job unless one is already waiting; say whether one was enqueued."""
    config = app.config
    try:
        timeout = config["JOBS_TIMEOUTS"]["refit"]
        return rq_side.enqueue_unless_marked(
            app,
            pending_key(app),
            timeout + config["MATCHING_REFIT_DELAY"],
            TASK,
            job_timeout=timeout,
            result_ttl=config["JOBS_RESULT_TTL"],
            failure_ttl=config["JOBS_RESULT_TTL"],
            description="matching refit",
        )
    except RedisError:
        # the next change or the worker's maintenance asks again; suggestions go on meanwhile
        log.warning("Cannot enqueue the matching refit", exc_info=True)
        return False


def wait_for_edits(app: Flask, enqueued_at: datetime | None) -> None:
    """Let ``MATCHING_REFIT_DELAY`` seconds pass since the job was queued (a burst's edits join)."""
    rq_side.wait_since_queued(app.config["MATCHING_REFIT_DELAY"], enqueued_at)


def refit_started(app: Flask) -> None:
    """Let changes from now on enqueue the next refit (the job about to fit reads them not)."""
    rq_side.clear_mark(app, pending_key(app))


def request_if_stale(app: Flask) -> bool:
    """Ask for a refit when the newest artefact is older than the profiles (missing, unranked).

    A mark without a waiting job (the job was lost with Redis' data, or deleted) is cleared
    first, so a lost refit is replaced at the next maintenance run, not when the mark expires.
    """
    if artefacts.is_current():
        return False
    try:
        if not any(job.func_name == TASK for job in rq_side.queue(app).jobs):
            rq_side.redis_connection(app).delete(pending_key(app))
    except RedisError:
        log.warning("Cannot look at the job queue", exc_info=True)
        return False
    return request_refit(app)


def _after_commit(_session: Session, changed: set) -> None:
    if PROFILES_VERSION in changed and has_app_context():
        request_refit(current_app._get_current_object())


def register(app: Flask) -> None:
    """Enqueue a refit after every commit that changed the profiles."""
    commit_hooks.after_commit(CHANGED, _after_commit)
