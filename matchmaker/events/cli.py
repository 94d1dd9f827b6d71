"""Flask commands of the events area: the e-mail outbox and the demo event."""

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from matchmaker.core.clock import local_now
from matchmaker.directory.models import Profile
from matchmaker.events import queries, registrations
from matchmaker.events.models import Event
from matchmaker.extensions import db
from matchmaker.mail import services as mail

outbox = AppGroup("outbox", help="Send and inspect the e-mail outbox.")


@outbox.command("send")
def send_outbox() -> None:
    """Compose the notices left over, then try to send every queued or failed e-mail once more."""
    composed = mail.compose_all_pending()
    if composed:
        click.echo(f"Composed {composed} e-mail(s) left over from an interrupted request.")
    if not mail.mail_configured():
        click.echo("MAIL_SERVER is not set; messages stay in the outbox.", err=True)
        return
    sent, failed = mail.send_all_unsent()
    click.echo(f"Sent {sent}, failed {failed}.")


@outbox.command("status")
def outbox_status() -> None:
    """Count the outbox messages per status."""
    counts = mail.outbox_counts()
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "empty")


DEMO_WAITING = 4
#: The demo's registration opened this long before ``flask demo`` at the latest: the event is
#: booked out, so its registration must already be open (or closed), never "not yet open".
DEMO_OPEN_SINCE = timedelta(days=14)


def demo_event_data(spec: dict, now: datetime) -> dict:
    """Turn the demo file's event object into event service data, open by ``now``."""
    opens = min(
        datetime.fromisoformat(spec["registration_opens"]),
        datetime.combine((now - DEMO_OPEN_SINCE).date(), time(9)),
    )
    return {
        "title": spec["title"],
        "date": date.fromisoformat(spec["date"]),
        "venue": spec["venue"],
        "description": spec.get("description", ""),
        "capacity": int(spec["capacity"]),
        "registration_opens": opens,
        "registration_closes": datetime.fromisoformat(spec["registration_closes"]),
        "first_slot": time.fromisoformat(spec["first_slot"]),
        "slot_minutes": int(spec["slot_minutes"]),
        "slot_count": int(spec["slots"]),
        "morning_slots": int(spec.get("morning_slots") or 0),
        "breaks": [
            {"after_slot": int(b["after_slot"]), "minutes": int(b["minutes"]), "label": b["label"]}
            for b in spec.get("breaks", [])
        ],
        "table_count": int(spec["tables"]),
        "table_names": [str(n) for n in spec.get("table_names", [])],
        "max_meetings": int(spec["max_meetings"]),
    }


def load_demo_event(demo_file: Path) -> str:
    """Create the demo event and book it out: every demo profile, then a short waiting list."""
    spec = json.loads(demo_file.read_text(encoding="utf-8"))["event"]
    data = demo_event_data(spec, local_now())
    event = db.session.scalar(select(Event).where(Event.title == data["title"]))
    if event is not None:
        return f"Demo event “{event.title}” exists already."
    event = registrations.create_event(data)
    profiles = list(
        db.session.scalars(
            select(Profile).where(Profile.external_ref.like("demo-%")).order_by(Profile.id)
        )
    )
    # Registration happens inside the window, as if on the day registration opened.
    when = data["registration_opens"]
    people_needed = event.capacity + DEMO_WAITING
    people = 0
    for round_number in (1, 2):
        for profile in profiles:
            if people >= people_needed:
                break
            slug = (profile.external_ref or str(profile.id)).removeprefix("demo-")
            contact = profile.contact_name or f"Team {profile.name}"
            name = contact if round_number == 1 else f"Kollegin von {contact}"
            email = f"{slug}-{round_number}@teilnehmer.example"
            registrations.register(event.id, profile, [(name, email)], now=when)
            people += 1
    figures = queries.event_figures(event)
    return (
        f"Demo event “{event.title}”: {figures.taken}/{figures.capacity} seats, "
        f"{figures.waiting_registrations} waiting."
    )
