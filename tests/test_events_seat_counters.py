"""The seat counters on the event row: what a registration decides on, kept right by every
change of seats (the events tests check them after each test; these are the cases only the
counters have)."""

import re

import pytest
from fixtures_events import (
    assert_seat_counters_counted,
    event_data,
    seat_counters_checked,  # noqa: F401 (checks every test's counters)
)
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text

from matchmaker.directory import services as directory
from matchmaker.events import registrations
from matchmaker.events.errors import EventError
from matchmaker.events.models import CONFIRMED, WAITING, Attendee, Event, Registration
from matchmaker.extensions import db
from matchmaker.mail.models import OutboxMessage


@pytest.fixture
def event(app):
    event = registrations.create_event(event_data(capacity=2))
    db.session.commit()
    return event


def counters(event_id: int) -> tuple[int, int, int, int]:
    event = db.session.get(Event, event_id)
    db.session.refresh(event)
    return (
        event.sme_seats_taken,
        event.sme_waiting,
        event.startup_seats_taken,
        event.startup_waiting,
    )


def register(event_id, profile, *emails):
    registration = registrations.register(event_id, profile, [(f"Person {e}", e) for e in emails])
    db.session.commit()
    return registration


def test_a_registration_counts_itself_in(event, make_profile):
    register(event.id, make_profile("sme"), "a@example.de")
    register(event.id, make_profile("startup"), "b@example.de")
    register(event.id, make_profile("startup"), "c@example.de", "d@example.de")
    assert counters(event.id) == (1, 0, 1, 1)


def test_a_registered_address_is_named_and_nothing_is_stored_or_counted(event, make_profile):
    register(event.id, make_profile("sme"), "anna@example.de")
    before = counters(event.id), db.session.scalar(select(func.count(OutboxMessage.id)))
    with pytest.raises(EventError, match=re.escape("anna@example.de")):
        registrations.enrol(
            event.id, make_profile("sme"), [("B", "bert@example.de"), ("A", "ANNA@example.de")]
        )
    db.session.rollback()
    assert (counters(event.id), db.session.scalar(select(func.count(OutboxMessage.id)))) == before
    assert db.session.scalar(select(func.count(Registration.id))) == 1
    assert db.session.scalar(select(func.count(Attendee.id))) == 1
    # the event's next arrival number was not used up
    assert register(event.id, make_profile("sme"), "bert@example.de").seq == 2


def test_deleting_a_profile_counts_its_events_anew(event, make_profile):
    confirmed, waiting = make_profile("sme"), make_profile("startup")
    register(event.id, confirmed, "a@example.de", "b@example.de")
    register(event.id, waiting, "c@example.de")
    assert counters(event.id) == (2, 0, 0, 1)
    directory.delete_profile(db.session.get(type(confirmed), confirmed.id))
    db.session.commit()
    assert counters(event.id) == (0, 0, 0, 1)
    directory.delete_profile(db.session.get(type(waiting), waiting.id))
    db.session.commit()
    assert counters(event.id) == (0, 0, 0, 0)
    # nobody waits any more: the next registration gets a seat
    assert register(event.id, make_profile("sme"), "d@example.de").status == CONFIRMED


def test_the_migration_counts_the_registrations_so_far(app, event, make_profile):
    register(event.id, make_profile("sme"), "a@example.de", "b@example.de")
    register(event.id, make_profile("startup"), "c@example.de")
    cancelled = register(event.id, make_profile("sme"), "d@example.de")
    registrations.cancel_registration(db.session.get(Registration, cancelled.id))
    db.session.commit()
    assert db.session.get(Registration, cancelled.id).status == "cancelled"
    event_id = event.id
    db.session.remove()
    downgrade(revision="0026_overview_ranking")
    upgrade()
    assert counters(event_id) == (2, 0, 0, 1)
    assert_seat_counters_counted()


def test_the_decision_reads_the_counters(event, make_profile):
    # counters that say the event is full put the newcomer on the list: the decision does not
    # count the registrations again
    db.session.execute(
        text("UPDATE events SET startup_seats_taken = 2 WHERE id = :id"), {"id": event.id}
    )
    db.session.commit()
    assert register(event.id, make_profile("sme"), "a@example.de").status == WAITING
    db.session.execute(
        text("UPDATE events SET startup_seats_taken = 0 WHERE id = :id"),
        {"id": event.id},
    )
    db.session.commit()
