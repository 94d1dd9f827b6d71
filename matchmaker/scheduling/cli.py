"""Flask commands of the schedule area: build and publish a schedule from the shell."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from matchmaker.events.models import Event
from matchmaker.extensions import db
from matchmaker.mail import services as mail
from matchmaker.matching.artefacts import ensure_model
from matchmaker.scheduling import building, publishing, versions

schedule = AppGroup("schedule", help="Build and publish networking schedules.")


def find_event(event_id: int | None):
    """Return the event with this id, or the demo event when no id is given."""
    if event_id is not None:
        event = db.session.get(Event, event_id)
    else:
        event = db.session.scalar(
            select(Event).where(Event.title.like("KI-Tag Lausitz%")).order_by(Event.id)
        )
    if event is None:
        raise click.ClickException("No such event (run `flask demo` for the demo event).")
    return event


@schedule.command("build")
@click.argument("event_id", type=int, required=False)
@click.option("--time-limit", type=click.FloatRange(0.1, 600), default=None, help="Seconds.")
@click.option("--publish", is_flag=True, help="Publish the draft right away (sends e-mails).")
def build_command(event_id: int | None, time_limit: float | None, publish: bool) -> None:
    """Build a draft schedule for an event (default: the demo event) and print its summary."""
    if time_limit is not None:
        current_app.config["SCHEDULE_TIME_LIMIT"] = time_limit
    event = find_event(event_id)
    try:
        ensure_model()  # the command line may fit, as a job does
        version = building.build(event, None)
        if publish:
            publishing.publish(event, None)
    except versions.ScheduleError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    mail.deliver_new()
    state = "published" if publish else "draft"
    click.echo(f"{event.title}: version {version.number} ({state}): {version.stats['summary']}")
    for issue in version.stats.get("required_unplaced", []):
        click.echo(f"not placed: {issue['a']} – {issue['b']}: {issue['reason']}", err=True)
