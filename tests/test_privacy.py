"""DSGVO: privacy page, data export, account deletion with placeholders, retention, audit log."""

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from test_events_services import event_data

from matchmaker.accounts.models import User
from matchmaker.core.audit import AuditEntry
from matchmaker.directory.models import Profile
from matchmaker.events import registrations, wishes
from matchmaker.events.models import Attendee, MeetingRequest, Registration
from matchmaker.extensions import db
from matchmaker.mail.models import OutboxMessage
from matchmaker.privacy.services import purge_old_events


def test_privacy_page_names_the_configured_controller(app_factory):
    application = app_factory(
        PRIVACY_CONTROLLER_NAME="Wirtschaftsregion Lausitz GmbH",
        PRIVACY_CONTROLLER_EMAIL="dsb@wirtschaftsregion.example",
    )
    with application.app_context():
        page = application.test_client().get("/privacy").get_data(as_text=True)
    assert "Wirtschaftsregion Lausitz GmbH" in page
    assert "dsb@wirtschaftsregion.example" in page


@pytest.fixture
def member_with_event(make_user, make_profile):
    user = make_user(email="jana@firma.example", name="Jana Schulz")
    profile = make_profile(owner=user, name="Schulz Metallbau", contact_email="jana@firma.example")
    event = registrations.create_event(event_data(capacity=1))
    db.session.commit()
    registration = registrations.register(
        event.id, profile, [("Jana Schulz", "jana@firma.example")]
    )
    waiting_profile = make_profile(name="Wartende GmbH")
    waiting = registrations.register(
        event.id, waiting_profile, [("Wer Wartet", "wartet@example.de")]
    )
    db.session.commit()
    return user, profile, event, registration, waiting


def test_data_export_contains_everything_about_the_member(
    client, login, member_with_event, make_profile
):
    user, _profile, event, _registration, _waiting = member_with_event
    login(user)
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == "jana@firma.example"
    assert "password" not in json.dumps(data["account"])
    assert [p["name"] for p in data["profiles"]] == ["Schulz Metallbau"]
    assert data["registrations"][0]["attendees"][0]["email"] == "jana@firma.example"
    assert data["registrations"][0]["event"] == event.title
    assert any(m["to"] == "jana@firma.example" for m in data["emails"])
    assert "Wartende GmbH" not in response.get_data(as_text=True)


def test_data_pages_need_login(client):
    assert client.get("/account/data").status_code == 302
    assert client.get("/account/data.json").status_code == 302
    assert client.post("/account/delete").status_code == 302


def test_account_deletion_needs_the_password(client, login, member_with_event):
    user, *_ = member_with_event
    login(user)
    response = client.post("/account/delete", data={"password": "falsch", "confirm": "y"})
    assert response.status_code == 400
    assert db.session.get(User, user.id) is not None


def test_account_deletion_anonymises_and_promotes(client, login, member_with_event):
    user, profile, _event, registration, waiting = member_with_event
    profile_id, user_id = profile.id, user.id
    registration_id, waiting_id = registration.id, waiting.id
    login(user)
    response = client.post(
        "/account/delete", data={"password": "geheimes-passwort", "confirm": "y"}
    )
    assert response.status_code == 302
    db.session.expunge_all()
    assert db.session.get(User, user_id) is None
    placeholder = db.session.get(Profile, profile_id)
    # a registration still refers to the profile: it stays as an anonymous placeholder
    assert placeholder.deleted_at is not None
    assert placeholder.owner_id is None and placeholder.contact_email == ""
    assert "Schulz" not in placeholder.name
    attendee = db.session.scalar(
        select(Attendee).where(Attendee.registration_id == registration_id)
    )
    assert attendee.email.endswith("@invalid") and "Jana" not in attendee.name
    assert db.session.get(Registration, registration_id).status == "cancelled"
    # the seat went to the waiting list
    assert db.session.get(Registration, waiting_id).status == "confirmed"
    assert (
        db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.to_address == "jana@firma.example")
        )
        is None
    )
    # and the placeholder is hidden everywhere
    assert client.get(f"/profiles/{profile_id}").status_code == 404
    assert "Gelöschtes Profil" not in client.get("/directory").get_data(as_text=True)


def test_deleting_an_unreferenced_profile_removes_it(client, login, make_user, make_profile):
    user = make_user()
    profile = make_profile(owner=user)
    profile_id = profile.id
    login(user)
    client.post("/account/delete", data={"password": "geheimes-passwort", "confirm": "y"})
    db.session.expunge_all()
    assert db.session.get(Profile, profile_id) is None


def test_retention_purges_old_events(runner, make_profile):
    event = registrations.create_event(event_data())
    db.session.commit()
    profile = make_profile()
    other = make_profile()
    registrations.register(event.id, profile, [("Alte Person", "alt@example.de")])
    registrations.register(event.id, other, [("Andere Person", "andere@example.de")])
    wishes.send_meeting_request(event, profile, other, "Treffen wir uns?")
    db.session.commit()
    # the event lies in the past now
    event.date = date.today() - timedelta(days=400)
    db.session.commit()
    event_id = event.id
    result = runner.invoke(args=["privacy", "purge", "--older-than-days", "365"])
    assert result.exit_code == 0, result.output
    db.session.expunge_all()
    attendee = db.session.scalar(select(Attendee))
    assert attendee.email.endswith("@invalid")
    assert db.session.scalar(select(MeetingRequest)).message == ""
    assert (
        db.session.scalar(select(OutboxMessage).where(OutboxMessage.event_id == event_id)) is None
    )


def test_retention_keeps_recent_events(make_profile):
    event = registrations.create_event(event_data())
    db.session.commit()
    registrations.register(event.id, make_profile(), [("Neue Person", "neu@example.de")])
    db.session.commit()
    assert purge_old_events(365)["events"] == 0
    assert db.session.scalar(select(Attendee)).email == "neu@example.de"


def test_organiser_actions_are_audited(client, login, make_user, make_profile):
    organiser = make_user(organiser=True, email="orga@example.de")
    profile = make_profile(name="Prüfling")
    login(organiser)
    client.post(
        f"/profiles/{profile.id}/edit",
        data={
            "name": "Geprüft",
            "city": "Forst",
            "description": "Neue Beschreibung hier.",
            "language": "de",
            "contact_visibility": "members",
        },
    )
    client.get("/directory/export.csv")
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("directory.%")).order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["directory.edit", "directory.export_csv"]
    assert entries[0].user_email == "orga@example.de"
    assert "name" in entries[0].details["fields"]
    assert "Geprüft" not in json.dumps(entries[0].details)
    page = client.get("/organiser/audit").get_data(as_text=True)
    assert "directory.edit" in page


def test_member_actions_are_not_audited_and_audit_page_is_closed(
    client, login, make_user, make_profile
):
    user = make_user()
    profile = make_profile(owner=user)
    login(user)
    client.post(f"/profiles/{profile.id}/delete")
    assert db.session.scalar(select(AuditEntry)) is None
    assert client.get("/organiser/audit").status_code == 403
