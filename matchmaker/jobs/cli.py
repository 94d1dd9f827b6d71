"""Flask commands of the job queue: run a worker, give up jobs of dead workers."""

import click
from flask import current_app
from flask.cli import AppGroup

from matchmaker.extensions import db
from matchmaker.jobs.services import NOTICE_GRACE, fail_abandoned, prune_ended
from matchmaker.jobs.worker import work
from matchmaker.mail.services import compose_all_pending

jobs = AppGroup("jobs", help="Background jobs (RQ on Redis).")


@jobs.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst: bool) -> None:
    """Run a worker that processes the app's job queue."""
    work(current_app._get_current_object(), burst=burst)


@jobs.command("cleanup")
@click.option(
    "--older-than-days",
    type=click.IntRange(min=0),
    default=None,
    help="Delete ended jobs and their files older than this (default JOBS_RETENTION_DAYS).",
)
def cleanup_command(older_than_days: int | None) -> None:
    """Fail jobs of dead workers, delete old ended jobs and their files, compose left-over mail.

    The worker does the same every JOBS_MAINTENANCE_SECONDS; this command is for cron when no
    worker runs, e.g. ``17 3 * * * cd /srv/matchmaker && flask --app wsgi jobs cleanup``.
    """
    failed = fail_abandoned()
    db.session.commit()
    days = current_app.config["JOBS_RETENTION_DAYS"] if older_than_days is None else older_than_days
    jobs, files = prune_ended(days)
    db.session.commit()
    composed = compose_all_pending(older_than=NOTICE_GRACE)
    click.echo(f"{len(failed)} abandoned job(s) marked failed.")
    click.echo(f"{jobs} job(s) ended more than {days} day(s) ago deleted with {files} file(s).")
    click.echo(f"{composed} e-mail(s) left over from interrupted requests composed.")
