"""The README's demo: the member login owns a profile, a registration and a published agenda."""

import re

from sqlalchemy import func, select

from matchmaker.events.models import MeetingRequest
from matchmaker.extensions import db
from matchmaker.scheduling.models import ScheduleVersion

MEMBER = "mitglied@ki-tag-lausitz.example"
PROFILE = "Elektro Noack GmbH"


def text_of(response) -> str:
    """Return a page's text with tags removed and white space collapsed."""
    assert response.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def counts() -> tuple[int, int]:
    """Return how many schedule versions and meeting requests exist."""
    versions = db.session.scalar(select(func.count(ScheduleVersion.id)))
    requests = db.session.scalar(select(func.count(MeetingRequest.id)))
    return versions, requests


def test_demo_member_sees_a_published_agenda_and_the_demo_runs_again(runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "published" in result.output
    before = counts()
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "exists already" in again.output and "published already" in again.output
    assert counts() == before == (1, 2)

    client.post("/account/login", data={"email": MEMBER, "password": "demo-passwort"})
    assert PROFILE in text_of(client.get("/my/profiles"))
    mine = client.get("/agenda").get_data(as_text=True)
    (link,) = re.findall(r'href="(/events/\d+/agenda/\d+)"', mine)
    assert "KI-Tag Lausitz 2027" in mine and PROFILE in mine
    agenda = text_of(client.get(link))
    assert "Anfrage von KI-Werkstatt Lausitz GmbH" in agenda
    assert "Ihre Anfrage an BelegBlitz GmbH" in agenda
    assert "Mittagspause" in agenda and "Version 1, veröffentlicht" in agenda

    event_id = link.split("/")[2]
    registrations = text_of(client.get("/my/events"))
    assert "KI-Tag Lausitz 2027" in registrations and "bestätigt" in registrations
    event = text_of(client.get(f"/events/{event_id}"))
    # Booked out with a waiting list, and registration is open: no "not yet open" any more.
    assert "Warteliste: 4" in event and "(geöffnet)" in event
    assert "noch nicht geöffnet" not in event
