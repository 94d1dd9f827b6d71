"""Composing e-mail notices in the job worker: one job per burst of requests, not per request.

A use case that stores notices for the worker (``mail.queue_notices``, e.g. a registration)
marks its session; after the commit one compose job is enqueued unless one is under way, which a
key in Redis says. The job composes every notice waiting, many per query, then again every
``MAIL_COMPOSE_DELAY`` seconds while more arrive, so a burst of registrations is one job. When a
pass finds nothing, the job deletes the key and looks once more: a notice committed before the
delete is found by that last look, and one committed after it enqueues the next job, so none
is left behind. Without Redis the notices wait: the worker's maintenance composes those older
than a minute and ``flask outbox send`` all of them.
"""

import logging
import time
from datetime import datetime

from flask import Flask, current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from matchmaker.core import commit_hooks
from matchmaker.jobs import queue as rq_side
from matchmaker.mail import services as mail
from matchmaker.mail.services import LATER_KEY

log = logging.getLogger(__name__)
TASK = "matchmaker.jobs.tasks.compose_mail"
# How long the mark lives if its job is lost (the maintenance composes the notices meanwhile).
PENDING_SECONDS = 300


def pending_key(app: Flask) -> str:
    """Return the Redis key that marks a waiting compose job of the app's queue."""
    return f"matchmaker:{app.config['JOBS_QUEUE']}:compose-pending"


def request_composition(app: Flask) -> bool:
    """Enqueue a compose job unless one is already waiting; say whether one was enqueued."""
    try:
        return rq_side.enqueue_unless_marked(
            app,
            pending_key(app),
            PENDING_SECONDS,
            TASK,
            job_timeout=app.config["JOBS_DEFAULT_TIMEOUT"],
            result_ttl=app.config["JOBS_RESULT_TTL"],
            failure_ttl=app.config["JOBS_RESULT_TTL"],
            description="compose e-mails",
        )
    except RedisError:
        log.warning("Cannot enqueue composing the e-mails; the maintenance will", exc_info=True)
        return False


def wait_for_more(app: Flask, enqueued_at: datetime | None) -> None:
    """Let ``MAIL_COMPOSE_DELAY`` seconds pass since the job was queued (a burst's notices join)."""
    rq_side.wait_since_queued(app.config["MAIL_COMPOSE_DELAY"], enqueued_at)


def compose_while_arriving(app: Flask) -> int:
    """Compose the waiting notices, again while more arrive; return how many were written."""
    total = 0
    while True:
        count = mail.compose_and_deliver()
        if not count:
            # from now on a new notice enqueues the next job
            rq_side.clear_mark(app, pending_key(app))
            count = mail.compose_and_deliver()
            if not count:
                return total
        total += count
        time.sleep(app.config["MAIL_COMPOSE_DELAY"])


def _after_commit(_session: Session, _later: bool) -> None:
    if has_app_context():
        request_composition(current_app._get_current_object())


def register(app: Flask) -> None:
    """Enqueue a compose job after every commit that stored notices for it."""
    commit_hooks.after_commit(LATER_KEY, _after_commit)
