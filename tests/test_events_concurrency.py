"""Concurrent registrations and cancellations through the app never overbook or lose anyone.

Runs on SQLite by default and on PostgreSQL with ``TEST_DATABASE_URL``.
"""

import threading
from datetime import time

import pytest
from fixtures_events import event_data as base_event_data
from fixtures_events import (
    run_worker,
    seat_counters_checked,  # noqa: F401 (checks every test's counters)
)
from sqlalchemy import select

from matchmaker.events import queries, registrations
from matchmaker.events.models import CONFIRMED, WAITING, Registration
from matchmaker.extensions import db
from matchmaker.mail.models import OutboxMessage

SEATS = 5
PEOPLE = 20
CANCELLATIONS = 3


def event_data() -> dict:
    """Return valid event data with SEATS seats."""
    return base_event_data(
        title="Ansturm",
        capacity=SEATS,
        first_slot=time(10, 0),
        slot_count=6,
        morning_slots=3,
        breaks=[],
        table_count=5,
        max_meetings=4,
    )


def run_together(functions) -> list:
    """Run callables in threads released at the same moment; return their results."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)
    errors: list = []

    def run(index, function):
        try:
            barrier.wait(timeout=30)
            results[index] = function()
        except Exception as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def mails_of(event_id: int, kind: str) -> dict[str, tuple[str, str]]:
    """Return the event's e-mails of one kind by address: (subject, body), all composed."""
    rows = db.session.execute(
        select(OutboxMessage.to_address, OutboxMessage.subject, OutboxMessage.body).where(
            OutboxMessage.event_id == event_id, OutboxMessage.kind == kind
        )
    ).all()
    assert all(subject and body for _a, subject, body in rows)  # nothing left uncomposed
    by_address = {address: (subject, body) for address, subject, body in rows}
    assert len(by_address) == len(rows)  # one each
    return by_address


def logged_in_clients(app_factory, emails: list[str], jobs_queue: str) -> list:
    """Log each account in with a client of one app (as one server process would be)."""
    # logins are not what is tested here; the server's jobs go to the test's job worker
    server = app_factory(RATELIMIT_ENABLED=False, JOBS_QUEUE=jobs_queue)
    clients = []
    for email in emails:
        client = server.test_client()
        response = client.post(
            "/account/login", data={"email": email, "password": "geheimes-passwort"}
        )
        assert response.status_code == 302
        clients.append(client)
    return clients


@pytest.mark.slow
def test_concurrent_registrations_and_cancellations(app, app_factory, make_user, make_profile):
    event = registrations.create_event(event_data())
    db.session.commit()
    event_id = event.id
    members = []
    for n in range(PEOPLE):
        user = make_user()
        profile = make_profile(owner=user)
        members.append((user.email, profile.id, n))

    emails = [email for email, _pid, _n in members]
    clients = logged_in_clients(app_factory, emails, app.config["JOBS_QUEUE"])

    def registering(client, profile_id, n):
        def post():
            return client.post(
                f"/events/{event_id}/register",
                data={
                    "profile_id": str(profile_id),
                    "attendees-0-name": f"Person {n}",
                    "attendees-0-email": f"person{n}@example.de",
                },
            ).status_code

        return post

    codes = run_together(
        [registering(c, pid, n) for c, (_e, pid, n) in zip(clients, members, strict=True)]
    )
    assert codes == [302] * PEOPLE

    db.session.expire_all()
    regs = db.session.scalars(
        select(Registration).where(Registration.event_id == event_id).order_by(Registration.seq)
    ).all()
    assert len(regs) == PEOPLE  # nobody lost
    assert [r.seq for r in regs] == list(range(1, PEOPLE + 1))  # gap-free arrival numbers
    assert queries.seats_taken(event_id) == SEATS  # never overbooked
    assert [r.status for r in regs] == [CONFIRMED] * SEATS + [WAITING] * (PEOPLE - SEATS)
    assert [queries.waiting_position(r) for r in regs[SEATS:]] == list(range(1, PEOPLE - SEATS + 1))
    # Every registration's e-mail is there once the job worker ran, composed, with the place
    # it got.
    run_worker(app)
    mails = mails_of(event_id, "registered")
    assert sorted(mails) == sorted(f"person{n}@example.de" for _e, _p, n in members)
    for r in regs:
        (subject, body) = mails[r.attendees[0].email]
        if r.status == CONFIRMED:
            assert subject.startswith("Angemeldet:") and "Warteliste" not in body
        else:
            place = queries.waiting_position(r)
            assert subject.startswith("Warteliste:") and f"Position {place}." in body

    # Concurrent cancellations of confirmed seats promote exactly as many, in arrival order.
    by_profile = {pid: c for c, (_e, pid, _n) in zip(clients, members, strict=True)}
    cancelling = regs[:CANCELLATIONS]

    def cancel(client, registration_id):
        return lambda: (
            client.post(
                f"/registrations/{registration_id}/cancel", data={"confirm": "yes"}
            ).status_code
        )

    codes = run_together([cancel(by_profile[r.profile_id], r.id) for r in cancelling])
    assert codes == [302] * CANCELLATIONS
    db.session.expire_all()
    regs = db.session.scalars(
        select(Registration).where(Registration.event_id == event_id).order_by(Registration.seq)
    ).all()
    assert queries.seats_taken(event_id) == SEATS
    promoted = [r for r in regs if r.promoted_at is not None]
    assert [r.seq for r in promoted] == list(range(SEATS + 1, SEATS + CANCELLATIONS + 1))
    assert sorted(promoted, key=lambda r: r.promoted_at) == promoted
    waiting = [r for r in regs if r.status == WAITING]
    assert len(waiting) == PEOPLE - SEATS - CANCELLATIONS
    assert queries.waiting_position(waiting[0]) == 1
    promoted_mails = mails_of(event_id, "promoted")
    assert sorted(promoted_mails) == sorted(r.attendees[0].email for r in promoted)
    assert all(
        subject.startswith("Sie haben einen Platz") for subject, _b in promoted_mails.values()
    )
    assert len(mails_of(event_id, "cancelled")) == CANCELLATIONS
