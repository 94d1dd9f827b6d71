"""Every outgoing e-mail is written in its recipient's language: German unless they chose English.

The e-mails are caused through the web pages, by people whose browsers ask for English: the
language of an e-mail follows the recipient's account, never the sender's screen.
"""

import re
from datetime import time

import pytest
from fixtures_events import event_data, publish, run_worker
from sqlalchemy import select

from matchmaker.events import registrations as events
from matchmaker.events.models import MeetingRequest, Registration
from matchmaker.extensions import db
from matchmaker.mail.models import OutboxMessage
from matchmaker.scheduling import versions as scheduling

ENGLISH_BROWSER = {"Accept-Language": "en-GB,en;q=0.9"}
# Words of the English mail texts that no German text of ours contains.
ENGLISH_WORDS = re.compile(
    r"\b(hello|dear|the|and|your|you|is|has|have|been|seat|seats|meeting|meetings|request|"
    r"regards|organisers|waiting|list|cancelled|confirmed|please|registered|venue|message|"
    r"table|schedule|password|someone|good|news|fully|booked|accepted|declined|no)\b",
    re.IGNORECASE,
)
GERMAN_WORDS = re.compile(
    r"\b(guten|ihr|ihre|ihren|sie|wurde|ist|hat|bitte|platz|termin|termine|terminanfrage|"
    r"anmeldung|grüßen|veranstaltungsteam|nachricht|tisch|passwort)\b",
    re.IGNORECASE,
)
ALL_KINDS = {
    "registered",
    "promoted",
    "cancelled",
    "request",
    "schedule",
    "reminder",
    "password_reset",
}


def prose(message: OutboxMessage) -> str:
    """Return subject and body without links, addresses and the names the test chose."""
    text = f"{message.subject}\n{message.body}"
    text = re.sub(r"https?://\S+|\S+@\S+", " ", text)
    for name in ("KI-Tag Lausitz", "Bäckerei Müller GmbH", "RechnungsKI Dresden", "Möbelwerk"):
        text = text.replace(name, " ")
    return text


class Browser:
    """One test client that logs people in and out, with an English browser."""

    def __init__(self, client) -> None:
        self.client = client

    def as_user(self, user) -> None:
        self.client.post("/account/logout", headers=ENGLISH_BROWSER)
        response = self.client.post(
            "/account/login",
            data={"email": user.email, "password": "geheimes-passwort"},
            headers=ENGLISH_BROWSER,
        )
        assert response.status_code == 302

    def post(self, url: str, data: dict | None = None):
        response = self.client.post(url, data=data or {}, headers=ENGLISH_BROWSER)
        assert response.status_code in (200, 302), (url, response.status_code)
        return response


def register(browser: Browser, event_id: int, profile, name: str, email: str) -> None:
    browser.post(
        f"/events/{event_id}/register",
        {"profile_id": str(profile.id), "attendees-0-name": name, "attendees-0-email": email},
    )
    run_worker()  # the job worker writes the confirmation


def send_request(browser: Browser, event_id: int, sender, target) -> None:
    prefix = f"r{event_id}"
    browser.post(
        f"/profiles/{target.id}/meet/request",
        {
            f"{prefix}-event_id": str(event_id),
            f"{prefix}-from_profile_id": str(sender.id),
            f"{prefix}-message": "Gern über Rechnungen sprechen",
        },
    )


def unseen(seen: set[int], kind: str | None = None) -> list[OutboxMessage]:
    """Return the queued messages (of one kind) not looked at yet, and mark them seen."""
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    mails = [m for m in db.session.scalars(query) if m.id not in seen]
    seen.update(m.id for m in mails)
    return mails


@pytest.fixture
def people(app, make_user, make_profile):
    """An organiser and three members with a profile each; three seats."""
    # the test logs people in and out more often than the login throttle allows
    app.config.update(
        SCHEDULE_TIME_LIMIT=3.0, SCHEDULE_WORKERS=1, LOGIN_RATE_LIMIT="1000 per minute"
    )
    organiser = make_user(email="orga@example.de", name="Orga", organiser=True)
    anna, bert, carla = (
        make_user(email=f"{n}@example.de", name=n) for n in ("anna", "bert", "carla")
    )
    sme = make_profile(kind="sme", owner=anna, name="Bäckerei Müller GmbH")
    startup = make_profile(
        kind="startup",
        owner=bert,
        name="RechnungsKI Dresden",
        description="Automatische Erfassung von Eingangsrechnungen, Buchhaltung mit KI.",
    )
    third = make_profile(kind="sme", owner=carla, name="Lausitzer Möbelwerk")
    event = events.create_event(
        event_data(
            title="KI-Tag Lausitz",
            capacity=3,
            slot_count=2,
            morning_slots=1,
            breaks=[],
            table_count=2,
            max_meetings=2,
            first_slot=time(10, 0),
        )
    )
    db.session.commit()
    return {
        "organiser": organiser,
        "anna": anna,
        "bert": bert,
        "carla": carla,
        "sme": sme,
        "startup": startup,
        "third": third,
        "event": event,
    }


def test_every_email_type_is_german_by_default(client, people, job):
    p = people
    event_id = p["event"].id
    browser = Browser(client)
    seen: set[int] = set()
    german: dict[str, list[OutboxMessage]] = {}

    def collect(kind: str, *phrases: str) -> list[OutboxMessage]:
        mails = unseen(seen, kind)
        assert mails, kind
        for mail in mails:
            text = prose(mail)
            assert not ENGLISH_WORDS.findall(text), (kind, ENGLISH_WORDS.findall(text), text)
            for phrase in phrases:
                assert phrase in mail.subject + mail.body, (phrase, mail.subject, mail.body)
            german.setdefault(kind, []).append(mail)
        return mails

    browser.as_user(p["anna"])
    register(browser, event_id, p["sme"], "Anna Adler", "anna.adler@firma.example")
    collect("registered", "Angemeldet: KI-Tag Lausitz", "Guten Tag Anna Adler,", "ist bestätigt")
    browser.as_user(p["bert"])
    register(browser, event_id, p["startup"], "Bert Brandt", "bert.brandt@firma.example")
    collect("registered", "ist bestätigt", "Mit freundlichen Grüßen")
    browser.as_user(p["carla"])
    register(browser, event_id, p["third"], "Carla Conrad", "carla.conrad@firma.example")
    collect("registered", "ist bestätigt")
    browser.as_user(p["anna"])
    register(browser, event_id, p["sme"], "Anton Adler", "anton.adler@firma.example")
    collect("registered", "Warteliste: KI-Tag Lausitz", "ausgebucht", "Position 1")

    browser.as_user(p["anna"])
    send_request(browser, event_id, p["sme"], p["startup"])
    collect("request", "Terminanfrage von Bäckerei Müller GmbH", "möchte", "Nachricht:")
    browser.as_user(p["bert"])
    request_id = db.session.scalar(select(MeetingRequest.id))
    browser.post(f"/requests/{request_id}/answer", {"action": "accept"})
    collect("request", "hat Ihre Terminanfrage", "angenommen")
    browser.as_user(p["carla"])
    send_request(browser, event_id, p["third"], p["startup"])
    collect("request", "Terminanfrage von Lausitzer Möbelwerk")
    browser.as_user(p["bert"])
    second_id = max(db.session.scalars(select(MeetingRequest.id)))
    browser.post(f"/requests/{second_id}/answer", {"action": "decline"})
    collect("request", "abgelehnt")

    browser.as_user(p["organiser"])
    job(f"/events/{event_id}/schedule/build")
    publish(client, job, event_id)
    collect("schedule", "Ihre Termine bei KI-Tag Lausitz", "steht fest", "Tisch")
    db.session.expire_all()
    version = scheduling.latest_version(p["event"])
    meeting = next(m for m in version.meetings if m.involves(p["sme"].id))
    browser.post(
        f"/events/{event_id}/schedule/meeting-action", {"meeting": meeting.key, "action": "remove"}
    )
    publish(client, job, event_id)
    changed = collect("schedule", "geändert")
    to_anna = [m for m in changed if m.to_address.startswith("anna")]
    assert to_anna and "Für Sie sind keine Termine geplant." in to_anna[0].body

    # Reminders to both groups: RechnungsKI sent no request; the bakery lost its meeting.
    for audience in ("no_request", "no_meeting"):
        page = client.get(f"/events/{event_id}/reminders?audience={audience}").get_data(
            as_text=True
        )
        token = re.search(r'name="confirmed" type="hidden" value="([^"]+)"', page).group(1)
        job(f"/events/{event_id}/reminders", {"audience": audience, "confirmed": token})
        (reminder,) = collect("reminder", "Guten Tag", "Mit freundlichen Grüßen")
        if audience == "no_request":
            assert reminder.to_address == "bert.brandt@firma.example"
            assert reminder.subject == "Wen möchten Sie bei KI-Tag Lausitz treffen?"
            assert "noch niemanden um einen Termin gebeten" in reminder.body
        else:
            assert reminder.to_address == "anna.adler@firma.example"
            assert reminder.subject == "Sie haben noch keinen Termin bei KI-Tag Lausitz"
            assert "noch kein Termin geplant" in reminder.body

    browser.as_user(p["anna"])
    registration_id = min(
        db.session.scalars(select(Registration.id).where(Registration.profile_id == p["sme"].id))
    )
    browser.post(f"/registrations/{registration_id}/cancel", {"confirm": "yes"})
    collect("cancelled", "Storniert: KI-Tag Lausitz", "wurde storniert")
    collect("promoted", "Sie haben einen Platz", "ist jetzt bestätigt")

    browser.as_user(p["organiser"])
    carla_registration = db.session.scalar(
        select(Registration.id).where(Registration.profile_id == p["third"].id)
    )
    browser.post(f"/registrations/{carla_registration}/cancel", {"confirm": "yes"})
    collect("cancelled", "das Veranstaltungsteam hat Ihre Anmeldung")

    client.post("/account/logout")
    browser.post("/account/password-reset", {"email": p["bert"].email})
    collect("password_reset", "Matchmaker-Passwort", "Guten Tag bert,", "/account/password-reset/")

    assert unseen(seen) == []  # every message was looked at
    assert set(german) == ALL_KINDS
    for mails in german.values():
        for mail in mails:
            assert GERMAN_WORDS.search(prose(mail)), mail.body


def test_a_member_who_chose_english_gets_english_emails(client, people):
    p = people
    event_id = p["event"].id
    browser = Browser(client)
    browser.as_user(p["bert"])
    # German browser, explicit choice of English: the account keeps it for e-mails.
    client.post("/language/en", headers={"Accept-Language": "de"})
    register(browser, event_id, p["startup"], "Bert Brandt", "bert.brandt@firma.example")
    browser.as_user(p["anna"])
    register(browser, event_id, p["sme"], "Anna Adler", "anna.adler@firma.example")
    send_request(browser, event_id, p["sme"], p["startup"])
    client.post("/account/logout")
    browser.post("/account/password-reset", {"email": p["bert"].email})

    mails = unseen(set())
    to_bert = {m.kind: m for m in mails if m.to_address.startswith("bert")}
    assert set(to_bert) == {"registered", "request", "password_reset"}
    assert to_bert["registered"].subject == "Registered: KI-Tag Lausitz"
    assert "your seat at “KI-Tag Lausitz”" in to_bert["registered"].body
    assert "Kind regards" in to_bert["registered"].body
    assert "would like to meet RechnungsKI Dresden" in to_bert["request"].body
    assert to_bert["password_reset"].subject == "Reset your Matchmaker password"
    for mail in to_bert.values():
        assert not GERMAN_WORDS.findall(prose(mail)), (mail.kind, mail.body)
    # Anna did not choose a language: German, although her browser asks for English.
    to_anna = next(m for m in mails if m.to_address.startswith("anna"))
    assert to_anna.subject == "Angemeldet: KI-Tag Lausitz"
