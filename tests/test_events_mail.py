"""E-mail through a real SMTP server on loopback (aiosmtpd); failures stay in the outbox."""

import socket
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from fixtures_events import event_data as base_event_data
from fixtures_events import run_worker
from sqlalchemy import select

from matchmaker.directory.models import Profile
from matchmaker.events import registrations
from matchmaker.events.models import CONFIRMED, Registration
from matchmaker.extensions import db
from matchmaker.mail import services as mail
from matchmaker.mail.models import FAILED, QUEUED, SENT, OutboxMessage


def event_data(**overrides) -> dict:
    """Return valid event data for one seat in Spremberg."""
    spremberg = {"title": "KI-Tag Lausitz", "venue": "Spremberg", "capacity": 1, "breaks": []}
    return base_event_data(**{**spremberg, **overrides})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages = []
        self.greetings = 0  # EHLO: one per connection

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content)
        self.messages.append(
            {
                "to": envelope.rcpt_tos,
                "subject": str(make_header(decode_header(message["Subject"]))),
                "body": message.get_payload(decode=True).decode("utf-8"),
            }
        )
        return "250 OK"


@pytest.fixture
def smtp():
    """Run an SMTP server on a free loopback port; yield its inbox and port."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


def mail_config(port: int) -> dict:
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_DEFAULT_SENDER": "KI-Tag <orga@ki-tag.example>",
        "MAIL_TIMEOUT": 5,
    }


def setup_full_event(make_user, make_profile):
    """Create an event with one seat and two members with a profile each; return plain ids."""
    event = registrations.create_event(event_data())
    first_user, second_user = make_user(), make_user()
    first = make_profile(owner=first_user)
    second = make_profile(owner=second_user)
    db.session.commit()
    return event.id, (first_user.email, first.id), (second_user.email, second.id)


def register_form(profile_id, name, email):
    return {
        "profile_id": str(profile_id),
        "attendees-0-name": name,
        "attendees-0-email": email,
    }


def test_promotion_email_arrives_after_cancellation(app_factory, smtp, make_user, make_profile):
    app = app_factory(**mail_config(smtp.port))
    with app.app_context():
        event_id, (u1, p1), (u2, p2) = setup_full_event(make_user, make_profile)
    client = app.test_client()

    def login(email):
        client.post("/account/login", data={"email": email, "password": "geheimes-passwort"})

    login(u1)
    client.post(f"/events/{event_id}/register", data=register_form(p1, "Anna", "anna@a.de"))
    client.post("/account/logout")
    login(u2)
    client.post(f"/events/{event_id}/register", data=register_form(p2, "Bert", "bert@b.de"))
    assert smtp.messages == []  # registrations leave their e-mails to the job worker
    run_worker(app)
    assert [m["to"] for m in smtp.messages] == [["anna@a.de"], ["bert@b.de"]]
    # German once the catalogue has the translation, the English msgid until then.
    assert any(w in smtp.messages[1]["subject"] for w in ("Warteliste", "Waiting list"))
    assert "1" in smtp.messages[1]["body"]
    client.post("/account/logout")
    login(u1)
    with app.app_context():
        first = db.session.scalar(select(Registration).where(Registration.profile_id == p1))
        first_id = first.id
    client.post(f"/registrations/{first_id}/cancel", data={"confirm": "yes"})
    promoted = [m for m in smtp.messages if m["to"] == ["bert@b.de"]][-1]
    assert "KI-Tag Lausitz" in promoted["subject"]
    assert "Bert" in promoted["body"]
    with app.app_context():
        second = db.session.scalar(select(Registration).where(Registration.profile_id == p2))
        assert second.status == CONFIRMED
        statuses = db.session.scalars(select(OutboxMessage.status)).all()
        assert set(statuses) == {SENT} and len(statuses) == 4  # 2 registered, cancelled, promoted


def test_unreachable_smtp_keeps_registration_and_retries(
    app_factory, smtp, make_user, make_profile
):
    dead_port = free_port()  # nothing listens here
    app = app_factory(**mail_config(dead_port))
    with app.app_context():
        event_id, (u1, p1), _second = setup_full_event(make_user, make_profile)
        organiser = make_user(organiser=True).email
    client = app.test_client()
    client.post("/account/login", data={"email": u1, "password": "geheimes-passwort"})
    response = client.post(
        f"/events/{event_id}/register", data=register_form(p1, "Anna", "anna@a.de")
    )
    assert response.status_code == 302
    run_worker(app)
    with app.app_context():
        registration = db.session.scalar(select(Registration))
        assert registration.status == CONFIRMED
        message = db.session.scalar(select(OutboxMessage))
        assert message.status == FAILED and message.attempts == 1
        assert message.last_error
    # The organiser sees the failure in the outbox.
    client.post("/account/logout")
    client.post("/account/login", data={"email": organiser, "password": "geheimes-passwort"})
    page = client.get("/outbox?status=failed").get_data(as_text=True)
    assert "anna@a.de" in page
    # The server comes back: `flask outbox send` delivers it.
    app.config["MAIL_PORT"] = smtp.port
    with app.app_context():  # the command runs in the current app context
        result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert "Sent 1, failed 0" in result.output
    assert [m["to"] for m in smtp.messages] == [["anna@a.de"]]
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        assert message.status == SENT and message.attempts == 2 and message.last_error == ""


def test_without_smtp_messages_stay_queued(app, make_user, make_profile):
    event_id, (_u1, p1), _second = setup_full_event(make_user, make_profile)
    registrations.register(event_id, db.session.get(Profile, p1), [("Anna", "anna@a.de")])
    db.session.commit()
    assert mail.deliver_new() == (0, 0)
    assert db.session.scalar(select(OutboxMessage.status)) == QUEUED


def test_a_message_is_claimed_only_once(app_factory, smtp, make_user, make_profile):
    app = app_factory(**mail_config(smtp.port))
    with app.app_context():
        message = mail.queue_message("x@example.de", "Hallo", "Text")
        db.session.commit()
        assert mail.claim(message.id) is not None
        assert mail.claim(message.id) is None  # already being sent
        db.session.remove()


def test_a_batch_of_messages_goes_over_one_connection(app_factory, smtp):
    app = app_factory(**mail_config(smtp.port))
    with app.app_context():
        ids = [mail.queue_message(f"p{n}@example.de", "Hallo", f"Text {n}").id for n in range(3)]
        db.session.commit()
        assert mail.deliver(ids) == (3, 0)
        assert [m["to"] for m in smtp.messages] == [[f"p{n}@example.de"] for n in range(3)]
        assert smtp.greetings == 1
        statuses = db.session.scalars(select(OutboxMessage.status)).all()
        assert statuses == ["sent"] * 3
        db.session.remove()
