"""Schedules: who may open which page (anonymous, another member, the participant, organisers)."""

import pytest
from fixtures_events import schedule_world  # noqa: F401 (fixture)

from matchmaker.extensions import db
from matchmaker.scheduling import building, publishing

MUELLER = "Bäckerei Müller GmbH"
STADTWERKE = "Stadtwerke Spremberg"

ORGANISER_ROUTES = [
    ("get", "/events/{e}/schedule"),
    ("get", "/events/{e}/schedule/meetings/{key}"),
    ("get", "/events/{e}/schedule/add"),
    ("get", "/events/{e}/schedule/print/agendas"),
    ("get", "/events/{e}/schedule/print/tables"),
    ("get", "/events/{e}/schedule/print/grid"),
    ("post", "/events/{e}/schedule/agendas.pdf"),
    ("get", "/events/{e}/schedule/meetings.csv"),
    ("get", "/events/{e}/schedule/schedule.json"),
    ("get", "/events/{e}/schedule/problem.json"),
    ("post", "/events/{e}/schedule/build"),
    ("post", "/events/{e}/schedule/reoptimise"),
    ("post", "/events/{e}/schedule/publish"),
    ("post", "/events/{e}/schedule/move"),
    ("post", "/events/{e}/schedule/swap"),
    ("post", "/events/{e}/schedule/meeting-action"),
    ("post", "/events/{e}/schedule/add"),
]
OWN_AGENDA = [
    ("get", "/events/{e}/agenda/{own}"),
    ("get", "/events/{e}/agenda/{own}.ics"),
]
FOREIGN_AGENDA = [
    ("get", "/events/{e}/agenda/{foreign}"),
    ("get", "/events/{e}/agenda/{foreign}.ics"),
]
ALL_ROUTES = [*ORGANISER_ROUTES, *OWN_AGENDA, *FOREIGN_AGENDA, ("get", "/agenda")]


@pytest.fixture
def published(schedule_world):  # noqa: F811 (the imported fixture)
    """The small event with a published schedule."""
    w = schedule_world
    version = building.build(w.event, w.organiser)
    publishing.publish(w.event, w.organiser)
    db.session.commit()
    own = w.pid(MUELLER)
    if not any(m.involves(own) for m in version.meetings):
        pytest.fail("the bakery should have a meeting in the published schedule")
    return w, version


@pytest.fixture
def unbuilt(schedule_world):  # noqa: F811 (the imported fixture)
    """The small event without a schedule: access is refused before anything is looked up."""
    return schedule_world, None


def fill(url: str, w, version) -> str:
    """Put the ids of the event, a meeting and two profiles into a route."""
    own = w.pid(MUELLER)
    key = next((m.key for m in version.meetings if m.involves(own)), None) if version else None
    return url.format(e=w.event.id, key=key or "1-5", own=own, foreign=w.pid(STADTWERKE))


def call(client, method: str, url: str):
    return getattr(client, method)(url, data={})


@pytest.mark.parametrize(("method", "url"), ALL_ROUTES)
def test_anonymous_is_sent_to_login(client, unbuilt, method, url):
    response = call(client, method, fill(url, *unbuilt))
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


@pytest.mark.parametrize(("method", "url"), [*ORGANISER_ROUTES, *OWN_AGENDA, *FOREIGN_AGENDA])
def test_another_member_is_refused(client, login, unbuilt, method, url):
    w, _version = unbuilt
    login(w.other)
    assert call(client, method, fill(url, *unbuilt)).status_code == 403


@pytest.mark.parametrize(("method", "url"), [*ORGANISER_ROUTES, *FOREIGN_AGENDA])
def test_participant_may_not_use_organiser_routes_or_foreign_agendas(
    client, login, unbuilt, method, url
):
    w, _version = unbuilt
    login(w.owner)
    assert call(client, method, fill(url, *unbuilt)).status_code == 403


@pytest.mark.parametrize(("method", "url"), [*OWN_AGENDA, ("get", "/agenda")])
def test_participant_sees_their_own_agenda(client, login, published, method, url):
    w, _version = published
    login(w.owner)
    response = call(client, method, fill(url, *published))
    assert response.status_code == 200
    if url == "/agenda":
        assert MUELLER in response.get_data(as_text=True)


@pytest.mark.parametrize(("method", "url"), ALL_ROUTES)
def test_organiser_may_use_every_route(client, login, published, method, url):
    w, _version = published
    login(w.organiser)
    response = call(client, method, fill(url, *published))
    # Edits without form data are refused with a message and a redirect, never a 500.
    assert response.status_code == (302 if method == "post" else 200)


def test_other_member_sees_an_empty_agenda_list(client, login, published):
    w, _version = published
    login(w.other)
    client.post("/language/en")
    page = client.get("/agenda").get_data(as_text=True)
    assert "No published meeting schedule includes your profiles yet." in page
    assert MUELLER not in page


def test_agenda_before_publishing_says_so(client, login, schedule_world):  # noqa: F811
    w = schedule_world
    building.build(w.event, w.organiser)
    db.session.commit()
    login(w.owner)
    client.post("/language/en")
    page = client.get(f"/events/{w.event.id}/agenda/{w.pid(MUELLER)}").get_data(as_text=True)
    assert "has not been published yet" in page
    assert client.get(f"/events/{w.event.id}/agenda/{w.pid(MUELLER)}.ics").status_code == 404


def test_unknown_event_meeting_and_profile_are_404(client, login, published):
    w, _version = published
    login(w.organiser)
    assert client.get("/events/999/schedule").status_code == 404
    assert client.get(f"/events/{w.event.id}/schedule/meetings/1-2-3").status_code == 404
    assert client.get(f"/events/{w.event.id}/agenda/999999").status_code == 404
    assert client.get(f"/events/{w.event.id}/schedule/print/agendas?profile=999").status_code == 404
