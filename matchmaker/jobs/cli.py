"""Flask commands of the job queue: run a worker, give up jobs of dead workers."""

import click
from flask import current_app
from flask.cli import AppGroup

from matchmaker.extensions import db
from matchmaker.jobs.services import fail_abandoned
from matchmaker.jobs.worker import work

jobs = AppGroup("jobs", help="Background jobs (RQ on Redis).")


@jobs.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst: bool) -> None:
    """Run a worker that processes the app's job queue."""
    work(current_app._get_current_object(), burst=burst)


@jobs.command("cleanup")
def cleanup_command() -> None:
    """Mark queued or running jobs failed that no live worker carries any more."""
    failed = fail_abandoned()
    db.session.commit()
    click.echo(f"{len(failed)} abandoned job(s) marked failed.")
