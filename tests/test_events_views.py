"""Event pages for members and organisers: registration, waiting list, wishes, access control."""

import re
from datetime import timedelta

import flask_wtf.csrf
import pytest
from csrf_forms import csrf_token, log_in_with_csrf
from fixtures_events import event_data as base_event_data
from fixtures_events import seat_counters_checked  # noqa: F401 (checks every test's counters)
from sqlalchemy import func, select

from matchmaker.core import clock
from matchmaker.events import queries, registrations
from matchmaker.events.errors import EventError
from matchmaker.events.models import (
    CONFIRMED,
    WAITING,
    Event,
    MeetingRequest,
    ProfileMark,
    Registration,
)
from matchmaker.extensions import db


def event_data(**overrides) -> dict:
    """Return valid event data for two seats, with a description to show."""
    return base_event_data(
        **{"description": "Ein Tag voller Gespräche.", "capacity": 2, **overrides}
    )


@pytest.fixture(autouse=True)
def english(client):
    """Ask for English pages, so that assertions read the msgids (German is tested apart)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def event(app):
    """An event with two seats."""
    created = registrations.create_event(event_data())
    db.session.commit()
    return created


@pytest.fixture
def world(app, event, make_user, make_profile):
    """An organiser, an owner with a registered profile, another member, a second profile."""
    organiser = make_user(organiser=True)
    owner = make_user()
    other = make_user()
    profile = make_profile(owner=owner)
    other_profile = make_profile(
        kind="startup",
        owner=other,
        description="Wir bieten KI-Prognosen für Photovoltaik und vorausschauende Wartung.",
    )
    registration = registrations.register(event.id, profile, [("Anna", "anna@example.de")])
    db.session.commit()
    return {
        "organiser": organiser,
        "owner": owner,
        "other": other,
        "profile": profile,
        "other_profile": other_profile,
        "registration": registration,
        "event": event,
    }


def register_form(profile_id, *people):
    data = {"profile_id": str(profile_id)}
    for i, (name, email) in enumerate(people):
        data[f"attendees-{i}-name"] = name
        data[f"attendees-{i}-email"] = email
    return data


def test_events_list_and_detail_are_public(client, event):
    assert "KI-Tag Test" in client.get("/events").get_data(as_text=True)
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "10:30–10:50" in page and "Mittagspause" in page


def test_unknown_event_is_404(client):
    assert client.get("/events/999").status_code == 404
    assert client.get("/events/999/register").status_code in (302, 404)


def test_register_until_full_then_waiting_list(client, login, make_user, make_profile, event):
    user = make_user()
    p1 = make_profile(owner=user)
    p2 = make_profile(owner=user)
    login(user)
    response = client.post(
        f"/events/{event.id}/register",
        data=register_form(p1.id, ("Anna", "anna@example.de"), ("Ben", "ben@example.de")),
    )
    assert response.status_code == 302
    response = client.post(
        f"/events/{event.id}/register",
        data=register_form(p2.id, ("Cleo", "cleo@example.de")),
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "waiting list at position 1" in page
    regs = db.session.scalars(select(Registration).order_by(Registration.seq)).all()
    assert [r.status for r in regs] == [CONFIRMED, WAITING]
    # Cancel one seat of the first registration: the waiting one is promoted.
    ben = regs[0].attendees[1]
    response = client.post(f"/attendees/{ben.id}/cancel", follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Registration, regs[1].id).status == CONFIRMED


def test_bad_registrations_change_nothing(client, login, world):
    login(world["owner"])
    event = world["event"]
    url = f"/events/{event.id}/register"
    profile = world["profile"]
    cases = [
        register_form(profile.id, ("Anna 2", "ANNA@example.de")),  # same e-mail
        register_form(profile.id, ("", "")),  # nobody
        register_form(profile.id, ("Nina", "not-an-address")),
        register_form(profile.id, ("Nina", "")),
        register_form(world["other_profile"].id, ("Nina", "nina@example.de")),  # not theirs
        {"profile_id": "abc"},
    ]
    for data in cases:
        response = client.post(url, data=data)
        assert response.status_code == 200, data
    assert "already registered" in client.post(url, data=cases[0]).get_data(as_text=True)
    assert db.session.scalar(select(func.count(Registration.id))) == 1


def test_registration_after_closing_is_refused(client, login, world):
    event = world["event"]
    event.registration_closes = clock.local_now() - timedelta(minutes=1)
    event.registration_opens = clock.local_now() - timedelta(days=2)
    db.session.commit()
    login(world["owner"])
    response = client.post(
        f"/events/{event.id}/register",
        data=register_form(world["profile"].id, ("Nina", "nina@example.de")),
    )
    assert response.status_code == 200
    assert "has closed" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Registration.id))) == 1


ROUTES = [
    ("get", "/registrations/{reg}"),
    ("get", "/registrations/{reg}/cancel"),
    ("post", "/registrations/{reg}/cancel"),
    ("get", "/attendees/{att}/cancel"),
    ("post", "/attendees/{att}/cancel"),
    ("get", "/events/{event}/profiles/{profile}/availability"),
    ("post", "/events/{event}/profiles/{profile}/availability"),
]
ORGANISER_ROUTES = [
    ("get", "/events/new"),
    ("get", "/events/{event}/edit"),
    ("post", "/events/{event}/edit"),
    ("get", "/events/{event}/registrations"),
    ("post", "/events/{event}/capacity"),
    ("post", "/registrations/{reg}/move"),
    ("post", "/attendees/{att}/attendance"),
    ("get", "/events/{event}/attendees.csv"),
    ("get", "/events/{event}/badges"),
    ("get", "/events/{event}/scheduling-input.json"),
    ("get", "/outbox"),
    ("post", "/outbox/send"),
]


def fill(url, world):
    reg = world["registration"]
    return url.format(
        reg=reg.id,
        att=reg.attendees[0].id,
        event=world["event"].id,
        profile=world["profile"].id,
    )


@pytest.mark.parametrize(("method", "url"), ROUTES + ORGANISER_ROUTES)
def test_anonymous_is_sent_to_login(client, world, method, url):
    response = getattr(client, method)(fill(url, world))
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


@pytest.mark.parametrize(("method", "url"), ROUTES + ORGANISER_ROUTES)
def test_other_member_is_refused(client, login, world, method, url):
    login(world["other"])
    response = getattr(client, method)(fill(url, world))
    assert response.status_code == 403
    assert world["registration"].status == CONFIRMED


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_owner_may_use_registration_routes(client, login, world, method, url):
    login(world["owner"])
    response = getattr(client, method)(fill(url, world))
    assert response.status_code in (200, 302)


@pytest.mark.parametrize(("method", "url"), ORGANISER_ROUTES)
def test_owner_may_not_use_organiser_routes(client, login, world, method, url):
    login(world["owner"])
    assert getattr(client, method)(fill(url, world)).status_code == 403


POST_DATA = {
    "/registrations/{reg}/move": {"action": "down"},
    "/attendees/{att}/attendance": {"action": "checkin"},
    "/events/{event}/capacity": {"capacity": "5"},
}


@pytest.mark.parametrize(("method", "url"), ROUTES + ORGANISER_ROUTES)
def test_organiser_may_use_every_route(client, login, world, method, url):
    login(world["organiser"])
    kwargs = {"data": POST_DATA[url]} if url in POST_DATA else {}
    response = getattr(client, method)(fill(url, world), **kwargs)
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]


EVENT_FORM = {
    "title": "Sommerforum",
    "date": "2031-06-01",
    "venue": "Görlitz",
    "capacity": "40",
    "registration_opens": "2031-01-01T09:00",
    "registration_closes": "2031-05-20T18:00",
    "first_slot": "10:00",
    "slot_minutes": "20",
    "slot_count": "6",
    "morning_slots": "3",
    "breaks": "3, 45, Mittag",
    "table_count": "3",
    "table_names": "A\nB\nC",
    "max_meetings": "5",
}
"""A valid filled-in event form (organisers' "new event" page)."""


def test_organiser_creates_event_and_bad_input_gives_field_errors(client, login, make_user):
    login(make_user(organiser=True))
    good = dict(EVENT_FORM)
    bad_cases = [
        {"capacity": "-1"},
        {"capacity": "100000"},
        {"registration_closes": "2030-12-01T09:00"},
        {"first_slot": "23:00"},
        {"breaks": "3, -30, Mittag"},
        {"breaks": "3, 10\n3, 10"},
        {"breaks": "nach dem dritten"},
        {"table_names": "A\nB"},
    ]
    for override in bad_cases:
        response = client.post("/events/new", data={**good, **override})
        assert response.status_code == 200, override
        assert 'class="errors"' in response.get_data(as_text=True), override
    assert db.session.scalar(select(func.count(Event.id))) == 0
    response = client.post("/events/new", data=good)
    assert response.status_code == 302
    event = db.session.scalar(select(Event))
    assert event.breaks == [{"after_slot": 3, "minutes": 45, "label": "Mittag"}]
    assert event.table_label(2) == "B"
    # Edit page shows the breaks in their text form again.
    assert "3, 45, Mittag" in client.get(f"/events/{event.id}/edit").get_data(as_text=True)


def test_a_brokerage_of_700_tables_is_accepted_and_the_ceiling_is_told_in_german(
    client, login, make_user
):
    login(make_user(organiser=True))
    client.post("/language/de")
    big = {**EVENT_FORM, "capacity": "1400", "table_count": "700", "table_names": ""}
    too_many = client.post("/events/new", data={**big, "table_count": "2001"})
    assert too_many.status_code == 200
    assert "Bitte zwischen 1 und 2.000 Tische eingeben." in too_many.get_data(as_text=True)
    assert client.post("/events/new", data=big).status_code == 302
    event = db.session.scalar(select(Event))
    assert event.table_count == 700
    # the use case checks the ceiling too (for callers other than the form)
    with pytest.raises(EventError) as refused:
        registrations.update_event(event, base_event_data(table_count=2001))
    assert refused.value.field == "table_count"


def test_organiser_manages_waiting_list(client, login, world, make_profile):
    event = world["event"]
    regs = [world["registration"]]
    for n in range(3):
        regs.append(
            registrations.register(event.id, make_profile(), [(f"P{n}", f"p{n}@example.de")])
        )
    db.session.commit()
    assert [r.status for r in regs] == [CONFIRMED, CONFIRMED, WAITING, WAITING]
    login(world["organiser"])
    page = client.get(f"/events/{event.id}/registrations").get_data(as_text=True)
    assert "Waiting list (2)" in page
    client.post(f"/registrations/{regs[3].id}/move", data={"action": "up"})
    assert [r.id for r in queries.waiting_list(event.id)] == [regs[3].id, regs[2].id]
    response = client.post(f"/registrations/{regs[2].id}/move", data={"action": "promote"})
    assert response.status_code == 302
    assert "Not enough free seats" in client.get(f"/events/{event.id}/registrations").get_data(
        as_text=True
    )
    response = client.post(
        f"/events/{event.id}/capacity", data={"capacity": "1"}, follow_redirects=True
    )
    assert "cannot be lower" in response.get_data(as_text=True)
    client.post(f"/events/{event.id}/capacity", data={"capacity": "3"})
    db.session.expire_all()
    assert db.session.get(Registration, regs[3].id).status == CONFIRMED
    assert db.session.get(Registration, regs[2].id).status == WAITING
    # Cancel on someone's behalf; the last waiting one moves up.
    client.post(f"/registrations/{regs[0].id}/cancel", data={"confirm": "yes"})
    db.session.expire_all()
    assert db.session.get(Registration, regs[2].id).status == CONFIRMED
    # Check-in, no-show, CSV, badges.
    attendee = db.session.get(Registration, regs[1].id).attendees[0]
    client.post(f"/attendees/{attendee.id}/attendance", data={"action": "checkin"})
    csv_text = client.get(f"/events/{event.id}/attendees.csv").get_data(as_text=True)
    assert "P0" in csv_text and "Anna" not in csv_text
    assert csv_text.splitlines()[1].count(",") == 7
    badges = client.get(f"/events/{event.id}/badges").get_data(as_text=True)
    assert badges.count('class="name-badge"') == 3


def test_meeting_request_flow(client, login, world, make_user, make_profile):
    event = world["event"]
    registrations.change_capacity(event, 5)
    other_reg = registrations.register(
        event.id, world["other_profile"], [("Olaf", "olaf@example.de")]
    )
    db.session.commit()
    assert other_reg.status == CONFIRMED
    target = world["other_profile"]
    login(world["owner"])
    detail = client.get(f"/profiles/{target.id}").get_data(as_text=True)
    assert f"/profiles/{target.id}/meet" in detail
    page = client.get(f"/profiles/{target.id}/meet").get_data(as_text=True)
    assert "Send meeting request" in page
    prefix = f"r{event.id}"
    response = client.post(
        f"/profiles/{target.id}/meet/request",
        data={
            f"{prefix}-event_id": str(event.id),
            f"{prefix}-from_profile_id": str(world["profile"].id),
            f"{prefix}-message": "Gern über Rechnungen sprechen",
        },
        follow_redirects=True,
    )
    assert "has been sent" in response.get_data(as_text=True)
    # Asking oneself is refused with a message.
    own = world["profile"]
    response = client.post(
        f"/profiles/{own.id}/meet/request",
        data={f"{prefix}-event_id": str(event.id), f"{prefix}-from_profile_id": str(own.id)},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert db.session.scalar(select(func.count(MeetingRequest.id))) == 1
    request_id = db.session.scalar(select(MeetingRequest.id))
    # Only the asked side may answer.
    response = client.post(f"/requests/{request_id}/answer", data={"action": "accept"})
    assert response.status_code == 403
    client.post("/account/logout")
    login(world["other"])
    assert "Gern über Rechnungen" in client.get("/my/events").get_data(as_text=True)
    client.post(f"/requests/{request_id}/answer", data={"action": "accept"})
    assert db.session.get(MeetingRequest, request_id).status == "accepted"
    data = client.get(f"/events/{event.id}/scheduling-input.json")
    assert data.status_code == 403
    # Not interested toward a profile with an agreed meeting is refused; after withdrawal fine.
    mprefix = f"m{event.id}"
    mark = {
        f"{mprefix}-event_id": str(event.id),
        f"{mprefix}-from_profile_id": str(target.id),
        f"{mprefix}-kind": "not_interested",
    }
    response = client.post(f"/profiles/{own.id}/meet/mark", data=mark, follow_redirects=True)
    assert "withdraw it first" in response.get_data(as_text=True)
    client.post(f"/requests/{request_id}/withdraw", data={"action": "withdraw"})
    client.post(f"/profiles/{own.id}/meet/mark", data=mark)
    assert db.session.scalar(select(ProfileMark.kind)) == "not_interested"
    client.post("/account/logout")
    login(world["organiser"])
    data = client.get(f"/events/{event.id}/scheduling-input.json").get_json()
    assert data["vetoed_pairs"] == [sorted([own.id, target.id])]
    assert data["required_pairs"] == []


def test_availability_form(client, login, world):
    login(world["owner"])
    event, profile = world["event"], world["profile"]
    url = f"/events/{event.id}/profiles/{profile.id}/availability"
    assert "12:50–13:10" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"unavailable": ["2", "5"], "desired_meetings": "4"})
    assert response.status_code == 302
    assert queries.availability_of(event, profile).unavailable_slots == [2, 5]
    response = client.post(url, data={"unavailable": ["12"], "desired_meetings": "4"})
    assert response.status_code == 200
    response = client.post(url, data={"desired_meetings": "9"})
    assert response.status_code == 200 and "Choose between 0 and 6" in response.get_data(
        as_text=True
    )
    assert queries.availability_of(event, profile).desired_meetings == 4


def test_german_is_the_default_language(client, event):
    page = client.get("/events", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert 'lang="de"' in page and "Veranstaltungen" in page


def test_forms_need_csrf_when_enabled(app_factory, make_user, make_profile):
    csrf_app = app_factory(WTF_CSRF_ENABLED=True)
    with csrf_app.app_context():
        event = registrations.create_event(event_data())
        db.session.commit()
        event_id = event.id
    client = csrf_app.test_client()
    user = make_user()
    profile = make_profile(owner=user)
    log_in_with_csrf(client, user.email)
    data = register_form(profile.id, ("Anna", "anna@example.de"))
    response = client.post(f"/events/{event_id}/register", data=data)
    assert response.status_code == 400
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count(Registration.id))) == 0
    page = client.get(f"/events/{event_id}/register").get_data(as_text=True)
    token = csrf_token(page)
    response = client.post(f"/events/{event_id}/register", data={**data, "csrf_token": token})
    assert response.status_code == 302


def test_a_registration_signs_the_csrf_token_only_for_a_page(
    app_factory, make_user, make_profile, monkeypatch
):
    csrf_app = app_factory(WTF_CSRF_ENABLED=True)
    with csrf_app.app_context():
        event_id = registrations.create_event(event_data()).id
        db.session.commit()
    client = csrf_app.test_client()
    user = make_user()
    profile = make_profile(owner=user)
    log_in_with_csrf(client, user.email)
    token = csrf_token(client.get(f"/events/{event_id}/register").get_data(as_text=True))
    signed = []
    sign = flask_wtf.csrf.generate_csrf
    monkeypatch.setattr(
        flask_wtf.csrf, "generate_csrf", lambda *a, **k: signed.append(1) or sign(*a, **k)
    )
    url = f"/events/{event_id}/register"
    # refused: the page again, with a token that works
    refused = register_form(profile.id, ("Anna", "keine-adresse"))
    page = client.post(url, data={**refused, "csrf_token": token}).get_data(as_text=True)
    shown, signed_for_the_page = csrf_token(page), len(signed)
    assert signed_for_the_page >= 1
    data = register_form(profile.id, ("Anna", "anna@example.de"))
    # accepted: a redirect, no page, no token signed for it
    assert client.post(url, data={**data, "csrf_token": shown}).status_code == 302
    assert len(signed) == signed_for_the_page


def test_malformed_actions_get_a_friendly_400(client, login, world):
    login(world["organiser"])
    reg = world["registration"]
    response = client.post(f"/registrations/{reg.id}/move", data={"action": "sideways"})
    assert response.status_code == 400
    assert "Unknown action" in response.get_data(as_text=True)


def hidden_fields(page: str) -> dict[str, str]:
    """Return the hidden inputs of a page's forms, as a browser would send them."""
    return dict(re.findall(r'<input id="[^"]*" name="([^"]+)" type="hidden" value="([^"]*)"', page))


def test_cancelling_a_whole_registration_asks_first(app_factory, make_user, make_profile):
    user = make_user()
    event = registrations.create_event(event_data())
    db.session.commit()
    registration = registrations.register(
        event.id, make_profile(owner=user), [("Anna", "anna@example.de")]
    )
    db.session.commit()
    reg_id, email = registration.id, user.email
    csrf_app = app_factory(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    token = log_in_with_csrf(client, email)
    page = client.get(f"/registrations/{reg_id}").get_data(as_text=True)
    cancel_url = f"/registrations/{reg_id}/cancel"
    # the registration page only links to the confirmation page
    assert f'href="{cancel_url}"' in page and f'action="{cancel_url}"' not in page
    # a POST without the confirmation (an old form, a stray click) cancels nothing
    asked = client.post(cancel_url, data={"csrf_token": token})
    assert asked.status_code == 200
    question = asked.get_data(as_text=True)
    assert "Wirklich stornieren?" in question and "Anna" not in question
    with csrf_app.app_context():
        assert db.session.get(Registration, reg_id).status == CONFIRMED
    # confirming the page's own form cancels
    fields = hidden_fields(client.get(cancel_url).get_data(as_text=True))
    assert fields["confirm"] == "yes" and fields["csrf_token"]
    done = client.post(cancel_url, data=fields)
    assert done.status_code == 302
    with csrf_app.app_context():
        assert db.session.get(Registration, reg_id).status == "cancelled"
