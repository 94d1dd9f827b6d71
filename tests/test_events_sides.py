"""Seats per participant type: SMEs and startups with seats and waiting lists of their own.

The issue's case: capacity 3, three SMEs and two startups registered; with one pool all seats
went to SMEs and nobody could meet. With 2 SME + 1 startup seats each side gets its share.
"""

import pytest
from fixtures_events import (
    event_data,
    seat_counters_checked,  # noqa: F401 (checks every test's counters)
)
from sqlalchemy import select
from test_events_concurrency import logged_in_clients, run_together
from test_events_services import make_event, reg  # noqa: F401 (fixtures)
from test_events_views import EVENT_FORM

from matchmaker.events import queries, registrations
from matchmaker.events.errors import EventError
from matchmaker.events.models import CONFIRMED, WAITING, Event, Registration
from matchmaker.extensions import db


def arrive(reg, make_profile, event, kinds: str) -> list[Registration]:  # noqa: F811
    """Register one attendee per letter, in order: s = SME, t = startup."""
    kind_of = {"s": "sme", "t": "startup"}
    return [reg(event, profile=make_profile(kind=kind_of[letter])) for letter in kinds]


def state(registrations_: list[Registration]) -> list[tuple[str, int | None]]:
    """Return (status, waiting position) of each registration, freshly read."""
    db.session.expire_all()
    return [(r.status, queries.waiting_position(r)) for r in registrations_]


def test_each_side_gets_its_seats_and_its_own_waiting_list(make_event, reg, make_profile):  # noqa: F811
    event = make_event(capacity=3, sme_capacity=2, startup_capacity=1)
    sme1, sme2, sme3, st1, st2 = arrive(reg, make_profile, event, "ssstt")
    assert state([sme1, sme2, sme3, st1, st2]) == [
        (CONFIRMED, None),
        (CONFIRMED, None),
        (WAITING, 1),  # first on the SMEs' list
        (CONFIRMED, None),  # the startup seat was kept for a startup
        (WAITING, 1),  # first on the startups' list, not third behind the SME
    ]
    # A freed startup seat goes to the waiting startup, never to the SME waiting longer.
    registrations.cancel_registration(st1)
    db.session.commit()
    assert state([sme3, st2]) == [(WAITING, 1), (CONFIRMED, None)]
    # A freed SME seat goes to the waiting SME.
    promoted = registrations.cancel_registration(sme1)
    db.session.commit()
    assert promoted == [sme3]
    assert state([sme3]) == [(CONFIRMED, None)]


def test_without_side_seats_one_pool_as_before(make_event, reg, make_profile):  # noqa: F811
    event = make_event(capacity=3)
    regs = arrive(reg, make_profile, event, "ssstt")
    assert state(regs) == [(CONFIRMED, None)] * 3 + [(WAITING, 1), (WAITING, 2)]


def test_a_side_head_that_does_not_fit_blocks_only_its_side(make_event, reg, make_profile):  # noqa: F811
    event = make_event(capacity=4, sme_capacity=2, startup_capacity=2)
    sme1, _sme2 = arrive(reg, make_profile, event, "ss")
    big_sme = reg(event, n=2, profile=make_profile(kind="sme"))
    st1, _st2, st3 = arrive(reg, make_profile, event, "ttt")
    assert state([big_sme, st3]) == [(WAITING, 1), (WAITING, 1)]
    registrations.cancel_registration(sme1)  # one SME seat: too few for the head of two
    registrations.cancel_registration(st1)
    db.session.commit()
    assert state([big_sme, st3]) == [(WAITING, 1), (CONFIRMED, None)]


def test_side_seats_are_checked_and_promote_when_raised(make_event, reg, make_profile):  # noqa: F811
    with pytest.raises(EventError) as error:
        make_event(capacity=3, sme_capacity=4)
    assert error.value.field == "sme_capacity"
    event = make_event(capacity=4, sme_capacity=1, startup_capacity=1)
    sme1, sme2 = arrive(reg, make_profile, event, "ss")
    with pytest.raises(EventError) as error:
        registrations.change_seats(event, 4, 0, 1)
    assert error.value.field == "sme_capacity"
    db.session.rollback()
    promoted = registrations.change_seats(event, 4, 2, 1)
    db.session.commit()
    assert promoted == [sme2]
    assert state([sme1, sme2]) == [(CONFIRMED, None), (CONFIRMED, None)]


def test_organiser_sets_side_seats_in_the_event_form(client, login, make_user):
    login(make_user(organiser=True))
    form = {**EVENT_FORM, "capacity": "3", "sme_capacity": "5", "startup_capacity": "1"}
    refused = client.post("/events/new", data=form)
    assert refused.status_code == 200
    assert "zwischen 0 und der Kapazität (3)" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Event.id)) is None
    form["sme_capacity"] = "2"
    assert client.post("/events/new", data=form).status_code == 302
    event = db.session.scalar(select(Event))
    assert (event.capacity, event.sme_capacity, event.startup_capacity) == (3, 2, 1)
    page = client.get(f"/events/{event.id}/edit").get_data(as_text=True)
    assert 'id="sme_capacity"' in page and 'value="2"' in page
    detail = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "KMU:" in detail and "0 von 2 belegt" in detail and "0 von 1 belegt" in detail


SMES, STARTUPS = 12, 8
SME_SEATS, STARTUP_SEATS = 6, 4


@pytest.mark.slow
def test_side_seats_hold_under_concurrent_registrations(app, app_factory, make_user, make_profile):
    event = registrations.create_event(
        event_data(
            capacity=SME_SEATS + STARTUP_SEATS,
            sme_capacity=SME_SEATS,
            startup_capacity=STARTUP_SEATS,
        )
    )
    db.session.commit()
    event_id = event.id
    members = []
    for n in range(SMES + STARTUPS):
        user = make_user()
        profile = make_profile(kind="sme" if n < SMES else "startup", owner=user)
        members.append((user.email, profile.id, n))
    emails = [email for email, _pid, _n in members]
    clients = logged_in_clients(app_factory, emails, app.config["JOBS_QUEUE"])

    def registering(client, profile_id, n):
        data = {
            "profile_id": str(profile_id),
            "attendees-0-name": f"Person {n}",
            "attendees-0-email": f"side{n}@example.de",
        }
        return lambda: client.post(f"/events/{event_id}/register", data=data).status_code

    codes = run_together(
        [registering(c, pid, n) for c, (_e, pid, n) in zip(clients, members, strict=True)]
    )
    assert codes == [302] * (SMES + STARTUPS)
    db.session.expire_all()
    regs = db.session.scalars(
        select(Registration).where(Registration.event_id == event_id).order_by(Registration.seq)
    ).all()
    for kind, seats, people in (("sme", SME_SEATS, SMES), ("startup", STARTUP_SEATS, STARTUPS)):
        side = [r for r in regs if r.profile.kind == kind]
        assert queries.seats_taken(event_id, kind) == seats
        # the first to arrive on each side got its seats, the rest wait in arrival order
        assert [r.status for r in side] == [CONFIRMED] * seats + [WAITING] * (people - seats)
        assert [queries.waiting_position(r) for r in side[seats:]] == list(
            range(1, people - seats + 1)
        )
