"""The RQ worker, with the app pushed once before it forks a work horse per job.

RQ forks a fresh work horse for every job, so a crash or a leak in one job cannot harm the
worker or the next job. The worker itself records what RQ learns about a dead horse in the
jobs table, and its periodic maintenance marks jobs whose worker vanished as failed.
"""

import logging

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from rq import SimpleWorker, Worker
from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.jobs import queue as rq_side
from matchmaker.jobs import refits, services
from matchmaker.jobs.models import ACTIVE, Job

log = logging.getLogger(__name__)


class JobsWorker(Worker):
    """An RQ worker that keeps the jobs table in step with what happens to its horses."""

    def handle_work_horse_killed(self, job, retpid, ret_val, rusage) -> None:
        """Mark the job failed when its work horse died (out of memory, killed, timed out)."""
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        row = db.session.scalar(select(Job).where(Job.rq_id == job.id, Job.status.in_(ACTIVE)))
        if row is not None:
            with force_locale(row.locale):
                message = _(
                    "The worker stopped during this job; its unfinished work was not saved. "
                    "Please start it again."
                )
            services.fail(row.id, message)
        db.session.remove()

    def main_work_horse(self, job, queue) -> None:
        """Run the job in the forked horse, on database connections of its own."""
        # Pooled connections were inherited from the parent; sharing them would corrupt both.
        db.engine.dispose(close=False)
        super().main_work_horse(job, queue)

    def run_maintenance_tasks(self) -> None:
        """Also give up jobs that no live worker carries any more, and do the housekeeping."""
        super().run_maintenance_tasks()
        app = current_app._get_current_object()
        steps = (
            services.fail_abandoned,
            lambda: refits.request_if_stale(app),
            services.housekeeping,
        )
        try:
            for step in steps:
                # Best effort, each step on its own: a database busy with a job's write (SQLite
                # has one writer) makes a step wait for the next round, never stops the worker.
                try:
                    step()
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    log.warning("Worker maintenance step failed; retried next round", exc_info=True)
        finally:
            db.session.remove()


def make_worker(app: Flask, *, in_process: bool = False) -> Worker:
    """Return a worker on the app's queue (``in_process``: no fork, for tests and debugging)."""
    worker_class = SimpleWorker if in_process else JobsWorker
    return worker_class(
        [rq_side.queue(app)],
        connection=rq_side.redis_connection(app),
        job_monitoring_interval=app.config["JOBS_HEARTBEAT_SECONDS"],
        maintenance_interval=app.config["JOBS_MAINTENANCE_SECONDS"],
    )


def work(app: Flask, *, burst: bool = False, in_process: bool = False) -> bool:
    """Process the app's queue (until it is empty with ``burst``); call inside an app context."""
    services.fail_abandoned()
    db.session.commit()
    refits.request_if_stale(app)
    db.session.rollback()
    if not in_process:
        db.session.remove()
        db.engine.dispose()
    return make_worker(app, in_process=in_process).work(burst=burst, logging_level="WARNING")
