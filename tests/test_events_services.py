"""Event services: session times, seats, the FIFO waiting list, wishes, scheduling input."""

from datetime import date, datetime, time, timedelta

import pytest
from fixtures_events import (
    event_data,
    seat_counters_checked,  # noqa: F401 (checks every test's counters)
)
from sqlalchemy import select

from matchmaker.core import clock
from matchmaker.events import programme, queries, registrations, wishes
from matchmaker.events.errors import EventError
from matchmaker.events.models import CONFIRMED, WAITING, Attendee, Registration
from matchmaker.extensions import db
from matchmaker.mail import services as mail
from matchmaker.mail.models import OutboxMessage


@pytest.fixture(autouse=True)
def english_messages(app):
    """Check the services' messages against their English source text."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield


@pytest.fixture
def make_event(app):
    """Return a factory for events."""

    def make(**overrides):
        event = registrations.create_event(event_data(**overrides))
        db.session.commit()
        return event

    return make


@pytest.fixture
def reg(app, make_profile):
    """Return a function registering n attendees of a fresh profile."""
    counter = iter(range(10_000))

    def do(event, n=1, profile=None):
        profile = profile or make_profile()
        people = []
        for _ in range(n):
            k = next(counter)
            people.append((f"Person {k}", f"p{k}@example.de"))
        registration = registrations.register(event.id, profile, people)
        db.session.commit()
        return registration

    return do


def statuses(event):
    regs = db.session.scalars(
        select(Registration).where(Registration.event_id == event.id).order_by(Registration.seq)
    ).all()
    return [(r.seq, r.status, r.seats) for r in regs]


def test_slot_times_follow_breaks(make_event):
    event = make_event()
    times = programme.slot_times(event)
    assert len(times) == 8
    assert times[0][0].time() == time(10, 30) and times[0][1].time() == time(10, 50)
    assert times[3][1].time() == time(11, 50)
    assert times[4][0].time() == time(12, 50)  # 60 minutes lunch after slot 4
    assert times[7][1].time() == time(14, 10)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": -5}, "capacity"),
        ({"capacity": 10_001}, "capacity"),
        ({"first_slot": time(23, 0)}, "slot_count"),
        ({"breaks": [{"after_slot": 2, "minutes": -10, "label": ""}]}, "breaks"),
        (
            {
                "breaks": [
                    {"after_slot": 2, "minutes": 10, "label": ""},
                    {"after_slot": 2, "minutes": 10, "label": ""},
                ]
            },
            "breaks",
        ),
        ({"breaks": [{"after_slot": 8, "minutes": 10, "label": ""}]}, "breaks"),
        ({"morning_slots": 9}, "morning_slots"),
        ({"max_meetings": 9}, "max_meetings"),
        ({"table_names": ["A", "B"]}, "table_names"),
    ],
)
def test_bad_event_data_is_refused(app, overrides, field):
    with pytest.raises(EventError) as info:
        registrations.create_event(event_data(**overrides))
    assert info.value.field == field


def test_closing_before_opening_is_refused(app):
    now = clock.local_now()
    data = event_data(registration_opens=now, registration_closes=now - timedelta(hours=1))
    assert "registration_closes" in programme.session_problems(data)


def test_fifo_confirm_then_wait_in_order(make_event, reg):
    event = make_event(capacity=3)
    a = reg(event, 2)
    b = reg(event, 1)
    c = reg(event, 1)
    d = reg(event, 2)
    assert [a.status, b.status, c.status, d.status] == [CONFIRMED, CONFIRMED, WAITING, WAITING]
    assert queries.waiting_position(c) == 1 and queries.waiting_position(d) == 2
    assert queries.seats_taken(event.id) == 3


def test_head_needing_more_seats_blocks_the_list(make_event, reg):
    event = make_event(capacity=3)
    first = reg(event, 1)
    reg(event, 2)
    head = reg(event, 3)  # needs 3, waits
    small = reg(event, 1)  # would fit later, but must not overtake
    assert head.status == WAITING and small.status == WAITING
    promoted = registrations.cancel_registration(first)
    db.session.commit()
    assert promoted == []  # one seat free, head needs three: it blocks
    assert queries.seats_taken(event.id) == 2
    assert queries.waiting_position(head) == 1
    # More capacity lets the head in, then the small one.
    promoted = registrations.change_capacity(event, 6)
    db.session.commit()
    assert [r.id for r in promoted] == [head.id, small.id]
    assert queries.seats_taken(event.id) == 6


def test_new_registration_does_not_overtake_a_blocked_head(make_event, reg):
    event = make_event(capacity=2)
    reg(event, 1)
    head = reg(event, 2)
    late = reg(event, 1)  # one seat is free, but someone is waiting
    assert head.status == WAITING and late.status == WAITING


def test_cancellation_promotes_in_order_and_emails(make_event, reg):
    event = make_event(capacity=2)
    a = reg(event)
    reg(event)
    w1 = reg(event)
    w2 = reg(event)
    promoted = registrations.cancel_registration(a)
    db.session.commit()
    mail.deliver_new()  # what the caller does after the commit: compose (and send)
    assert promoted == [w1]
    assert w2.status == WAITING and queries.waiting_position(w2) == 1
    subjects = db.session.scalars(
        select(OutboxMessage.subject).where(OutboxMessage.kind == "promoted")
    ).all()
    assert len(subjects) == 1 and "KI-Tag Test" in subjects[0]


def test_cancelling_one_attendee_frees_one_seat(make_event, reg):
    event = make_event(capacity=3)
    group = reg(event, 3)
    waiting = reg(event, 1)
    attendee = group.attendees[0]
    promoted = registrations.cancel_attendee(attendee)
    db.session.commit()
    assert promoted == [waiting]
    assert group.status == CONFIRMED and group.seats == 2
    with pytest.raises(EventError):
        registrations.cancel_attendee(db.session.get(Attendee, attendee.id))


def test_capacity_cannot_drop_below_confirmed_seats(make_event, reg):
    event = make_event(capacity=3)
    reg(event, 3)
    with pytest.raises(EventError) as info:
        registrations.change_capacity(event, 2)
    assert info.value.field == "capacity"
    db.session.rollback()
    assert db.session.get(type(event), event.id).capacity == 3


def test_duplicate_email_and_window_are_refused(make_event, make_profile):
    event = make_event()
    profile = make_profile()
    registrations.register(event.id, profile, [("Anna", "anna@example.de")])
    db.session.commit()
    with pytest.raises(EventError, match="already registered"):
        registrations.register(event.id, make_profile(), [("Anna B", "ANNA@example.de ")])
    db.session.rollback()
    with pytest.raises(EventError):
        registrations.register(event.id, profile, [("A", "x@example.de"), ("B", "X@example.de")])
    db.session.rollback()
    late = event.registration_closes + timedelta(minutes=1)
    with pytest.raises(EventError, match="closed"):
        registrations.register(event.id, profile, [("Bert", "bert@example.de")], now=late)
    db.session.rollback()
    early = event.registration_opens - timedelta(minutes=1)
    with pytest.raises(EventError, match="opens"):
        registrations.register(event.id, profile, [("Bert", "bert@example.de")], now=early)
    db.session.rollback()
    assert len(statuses(event)) == 1


def test_cancelled_email_may_register_again(make_event, make_profile):
    event = make_event()
    profile = make_profile()
    first = registrations.register(event.id, profile, [("Anna", "anna@example.de")])
    registrations.cancel_registration(first)
    again = registrations.register(event.id, profile, [("Anna", "anna@example.de")])
    db.session.commit()
    assert again.status == CONFIRMED and again.seq == 2


def test_move_and_manual_promotion(make_event, reg):
    event = make_event(capacity=1)
    reg(event)
    w1, w2, w3 = reg(event), reg(event), reg(event)
    registrations.move_waiting(w3, "up")
    db.session.commit()
    assert [r.id for r in queries.waiting_list(event.id)] == [w1.id, w3.id, w2.id]
    with pytest.raises(EventError):
        registrations.move_waiting(w1, "up")
    db.session.rollback()
    with pytest.raises(EventError, match="Not enough free seats"):
        registrations.promote_manually(w2)
    db.session.rollback()
    registrations.change_capacity(event, 2)  # promotes the head w1
    db.session.commit()
    assert w1.status == CONFIRMED
    registrations.cancel_registration(w1)  # frees one seat: the head w3 gets it
    db.session.commit()
    assert w3.status == CONFIRMED and w2.status == WAITING


def test_check_in_and_no_show(make_event, reg):
    event = make_event(capacity=1)
    confirmed = reg(event)
    waiting = reg(event)
    attendee = confirmed.attendees[0]
    registrations.set_attendance(attendee, "checkin")
    assert attendee.checked_in_at is not None
    registrations.set_attendance(attendee, "noshow")
    assert attendee.no_show and attendee.checked_in_at is None
    with pytest.raises(EventError):
        registrations.set_attendance(waiting.attendees[0], "checkin")


def test_availability_is_checked(make_event, reg, make_profile):
    event = make_event()
    registration = reg(event)
    availability = wishes.save_availability(event, registration.profile, [3, 1, 3], 4)
    assert availability.unavailable_slots == [1, 3]
    with pytest.raises(EventError):
        wishes.save_availability(event, registration.profile, [9], None)
    with pytest.raises(EventError):
        wishes.save_availability(event, registration.profile, [], 7)
    with pytest.raises(EventError, match="not registered"):
        wishes.save_availability(event, make_profile(), [], None)


def test_requests_marks_and_scheduling_input(make_event, reg, make_profile):
    event = make_event(capacity=10)
    a, b, c, d = (reg(event).profile for _ in range(4))
    outsider = make_profile()
    with pytest.raises(EventError, match="own profile"):
        wishes.send_meeting_request(event, a, a, "")
    with pytest.raises(EventError, match="not registered"):
        wishes.send_meeting_request(event, a, outsider, "")
    request = wishes.send_meeting_request(event, a, b, "Lass uns reden")
    with pytest.raises(EventError):
        wishes.send_meeting_request(event, a, b, "noch mal")
    with pytest.raises(EventError, match="answer"):
        wishes.send_meeting_request(event, b, a, "")
    wishes.answer_request(request, accept=True)
    wishes.set_mark(event, a, c, "must_meet")
    wishes.set_mark(event, d, a, "not_interested")
    with pytest.raises(EventError, match="not possible"):
        wishes.send_meeting_request(event, a, d, "")
    with pytest.raises(EventError, match="withdraw"):
        wishes.set_mark(event, b, a, "not_interested")
    wishes.save_availability(event, a, [2], 3)
    db.session.commit()

    wanted = queries.scheduling_input(event)
    assert [p.profile_id for p in wanted.participants] == sorted([a.id, b.id, c.id, d.id])
    pa = next(p for p in wanted.participants if p.profile_id == a.id)
    assert pa.unavailable == (2,) and pa.max_meetings == 3 and pa.desired_meetings == 3
    assert wanted.required_pairs == [tuple(sorted([a.id, b.id]))]
    assert wanted.must_meet_pairs == [tuple(sorted([a.id, c.id]))]
    assert wanted.vetoed_pairs == [tuple(sorted([a.id, d.id]))]
    data = wanted.to_dict()  # as the organisers download it
    assert data["slots"] == 8 and data["morning_slots"] == 4 and data["tables"] == 15
    assert data["slot_times"][0] == ["10:30", "10:50"]
    assert next(p for p in data["participants"] if p["profile_id"] == a.id)["unavailable"] == [2]
    assert data["required_pairs"] == [sorted([a.id, b.id])]
    assert data["must_meet_pairs"] == [sorted([a.id, c.id])]
    assert data["vetoed_pairs"] == [sorted([a.id, d.id])]


def test_scheduling_input_only_counts_confirmed(make_event, reg):
    event = make_event(capacity=1)
    a = reg(event).profile
    b = reg(event).profile  # waiting
    wishes.send_meeting_request(event, a, b, "")
    db.session.commit()
    wanted = queries.scheduling_input(event)
    assert [p.profile_id for p in wanted.participants] == [a.id]
    assert wanted.required_pairs == []


def test_demo_command_books_the_event_out(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "50/50 seats, 4 waiting" in result.output
    again = runner.invoke(args=["demo"])
    assert "exists already" in again.output


def test_event_date_helpers(app):
    times = programme.compute_slot_times(date(2027, 3, 18), time(23, 30), 20, 2, [])
    assert times[1][1] == datetime(2027, 3, 19, 0, 10)
