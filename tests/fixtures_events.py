"""Fixtures for tests that need a small event with confirmed participants (schedules).

Import the fixtures into a test module: ``from fixtures_events import schedule_world  # noqa``.
``event_data`` is the one description of a valid event that every events, schedules and API
test starts from (with its own overrides).
"""

import re
from dataclasses import dataclass, field
from datetime import time, timedelta

import pytest
from flask import Flask, current_app, has_app_context
from sqlalchemy import func, select

from matchmaker.accounts.models import User
from matchmaker.core import clock
from matchmaker.directory.models import Profile
from matchmaker.events import registrations
from matchmaker.events.models import Event
from matchmaker.extensions import db
from matchmaker.jobs.worker import work

SMES = {
    "Bäckerei Müller GmbH": "Wir suchen KI für Eingangsrechnungen und die Buchhaltung.",
    "Stadtwerke Spremberg": "Wir wollen die Wartung unserer Pumpen mit Sensordaten vorausschauend "
    "planen.",
    "Lausitzer Möbelwerk": "Qualitätsprüfung von Holzoberflächen mit Kamera und Bildverarbeitung.",
    "Kreisverwaltung Cottbus": "Bürgeranfragen und Formulare automatisch beantworten, Chatbot.",
}
STARTUPS = {
    "RechnungsKI Dresden": "Automatische Erfassung von Eingangsrechnungen, Buchhaltung mit KI.",
    "Predictive Pumps Berlin": "Vorausschauende Wartung für Pumpen und Maschinen mit Sensordaten.",
    "VisionCheck Görlitz": "Bildverarbeitung für die Qualitätsprüfung von Oberflächen; Chatbot "
    "für Bürgeranfragen.",
}


def run_worker(app: Flask | None = None) -> None:
    """Run the app's job queue empty in this process, as the job worker would after requests.

    Registrations leave their e-mails to the worker's compose job.
    """
    app = app or current_app._get_current_object()
    if has_app_context() and current_app._get_current_object() is app:
        work(app, burst=True, in_process=True)
        db.session.expire_all()
        return
    with app.app_context():
        work(app, burst=True, in_process=True)
        db.session.remove()


def event_data(**overrides) -> dict:
    """Return valid event data with an open registration window."""
    now = clock.local_now()
    data = {
        "title": "KI-Tag Test",
        "date": now.date() + timedelta(days=30),
        "venue": "Cottbus",
        "description": "",
        "capacity": 3,
        "registration_opens": now - timedelta(days=1),
        "registration_closes": now + timedelta(days=10),
        "first_slot": time(10, 30),
        "slot_minutes": 20,
        "slot_count": 8,
        "morning_slots": 4,
        "breaks": [{"after_slot": 4, "minutes": 60, "label": "Mittagspause"}],
        "table_count": 15,
        "table_names": [],
        "max_meetings": 6,
    }
    data.update(overrides)
    return data


@dataclass
class ScheduleWorld:
    """A small event: four SMEs and three startups confirmed, four slots, three tables."""

    event: Event
    organiser: User
    owner: User
    other: User
    profiles: dict[str, Profile] = field(default_factory=dict)

    def pid(self, name: str) -> int:
        """Return the id of a profile by its name."""
        return self.profiles[name].id


@pytest.fixture
def schedule_world(app, make_user, make_profile) -> ScheduleWorld:
    """Create the event, the profiles with their attendees, and the users."""
    app.config.update(SCHEDULE_TIME_LIMIT=3.0, SCHEDULE_WORKERS=1)
    organiser = make_user(email="orga@example.de", name="Orga", organiser=True)
    owner = make_user(email="mueller@example.de", name="Jörg Müller")
    other = make_user(email="andere@example.de", name="Andere Person")
    event = registrations.create_event(
        event_data(
            title="KI-Tag Lausitz Test",
            capacity=20,
            slot_count=4,
            morning_slots=2,
            breaks=[{"after_slot": 2, "minutes": 30, "label": "Kaffee"}],
            table_count=3,
            max_meetings=3,
            first_slot=time(10, 0),
        )
    )
    db.session.commit()
    profiles = {}
    for kind, items in (("sme", SMES), ("startup", STARTUPS)):
        for number, (name, description) in enumerate(items.items()):
            owner_of = owner if name == "Bäckerei Müller GmbH" else None
            profile = make_profile(kind=kind, owner=owner_of, name=name, description=description)
            profiles[name] = profile
            contact = "Jörg Müller" if owner_of else f"Person {kind} {number}"
            registrations.register(
                event.id, profile, [(contact, f"{kind}{number}@teilnehmer.example")]
            )
    db.session.commit()
    return ScheduleWorld(event, organiser, owner, other, profiles)


def publish(client, job, event_id: int) -> tuple[str, str]:
    """Open the confirmation page, confirm it and run the publish job; return both pages."""
    url = f"/events/{event_id}/schedule/publish"
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="confirmed" type="hidden" value="([^"]+)"', page).group(1)
    return page, job(url, {"confirmed": token})


def assert_seat_counters_counted() -> None:
    """Check every event's seat counters against its registrations counted anew."""
    from matchmaker.events import queries
    from matchmaker.events.models import Registration

    db.session.expire_all()
    for event in db.session.scalars(select(Event)):
        for kind in ("sme", "startup"):
            waiting = db.session.scalar(
                queries.waiting_query(func.count(Registration.id), event.id, kind)
            )
            assert (getattr(event, f"{kind}_seats_taken"), getattr(event, f"{kind}_waiting")) == (
                queries.seats_taken(event.id, kind),
                waiting,
            ), f"{event} {kind}"


@pytest.fixture(autouse=True)
def seat_counters_checked(request):
    """After a test with an app: every event's seat counters match its registrations.

    Imported by the events tests, so that each of their seat changes checks the counters.
    """
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is not None:
        with app.app_context():
            assert_seat_counters_counted()
