"""Registration e-mails: decided under the event's lock, composed after the commit, never lost.

A registration holds the event's lock only for the seat decision: the lock, one count, the rows
and a small outbox notice per attendee. Subject and body are written after the commit; a notice
whose request died in between is composed by ``flask outbox send`` or the worker's maintenance.
"""

from datetime import timedelta

import pytest
from fixtures_events import event_data
from sqlalchemy import event as sa_event
from sqlalchemy import select, update

from matchmaker.core.clock import utcnow
from matchmaker.events import registrations
from matchmaker.extensions import db
from matchmaker.jobs import services as jobs
from matchmaker.mail import services as mail
from matchmaker.mail.models import OutboxMessage


@pytest.fixture
def full_event(make_profile):
    """An event with one seat, taken."""
    event = registrations.create_event(event_data(capacity=1))
    db.session.commit()
    registrations.register(event.id, make_profile(), [("Erste", "erste@example.de")])
    db.session.commit()
    mail.deliver_new()
    return event


def statements_under_the_lock(action) -> list[str]:
    """Run ``action`` and return the SQL statements from the event's lock to the commit."""
    seen: list[str] = []
    locked = {"now": False}

    def before(conn, cursor, statement, parameters, context, executemany):
        locked["now"] = locked["now"] or statement.startswith("UPDATE events SET lock_version")
        if locked["now"]:
            seen.append(statement.split(None, 3)[:3])

    def commit(conn):
        locked["now"] = False

    sa_event.listen(db.engine, "before_cursor_execute", before)
    sa_event.listen(db.engine, "commit", commit)
    try:
        action()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", before)
        sa_event.remove(db.engine, "commit", commit)
    return [" ".join(words) for words in seen]


def test_the_lock_covers_only_the_seat_decision(full_event, make_profile):
    profile = make_profile(name="Wartende GmbH")

    def register():
        registrations.register(
            full_event.id, profile, [("Wer Wartet", "w@example.de"), ("Zweite", "z@example.de")]
        )
        db.session.commit()

    under_lock = statements_under_the_lock(register)
    # the lock with the arrival number, one count, then only the rows: no reads of accounts,
    # profiles or positions, no rendering (which would read them) before the commit
    assert under_lock[0].startswith("UPDATE events SET")
    assert under_lock[1].startswith("SELECT (SELECT count")
    assert all(statement.startswith("INSERT INTO") for statement in under_lock[2:])
    # one statement per table, or per row where the driver cannot batch with RETURNING
    tables = [statement.split()[2] for statement in under_lock[2:]]
    assert set(tables) == {"registrations", "attendees", "outbox_messages"}
    assert len(tables) <= 5


def test_the_notice_is_stored_with_the_registration_and_composed_after_the_commit(
    full_event, make_profile
):
    enrolment = registrations.enrol(
        full_event.id, make_profile(), [("Wer Wartet", "wartet@example.de")]
    )
    assert enrolment.position == 1
    db.session.commit()
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == "wartet@example.de")
    )
    # committed together with the registration, to be written after the commit
    assert message.notice is not None and message.body == ""
    mail.deliver_new()  # what the view does after its commit
    db.session.refresh(message)
    assert message.notice is None
    assert message.subject == "Warteliste: KI-Tag Test"
    assert "Warteliste an Position 1." in message.body and "Wer Wartet" in message.body


def test_a_notice_left_by_a_request_that_died_after_its_commit_is_composed_later(
    full_event, make_profile, runner
):
    for n in (1, 2):
        registrations.register(full_event.id, make_profile(), [(f"W{n}", f"w{n}@example.de")])
        db.session.commit()
        mail.discard_new()  # the process died before composing
    # the worker's maintenance leaves fresh notices to their own request ...
    assert jobs.housekeeping()["notices_composed"] == 0
    # ... and composes those older than a minute
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.to_address == "w1@example.de")
        .values(created_at=utcnow() - timedelta(minutes=5))
    )
    db.session.commit()
    assert jobs.housekeeping()["notices_composed"] == 1
    # `flask outbox send` composes the rest, even without an SMTP server
    result = runner.invoke(args=["outbox", "send"])
    assert "Composed 1 e-mail(s)" in result.output
    db.session.expire_all()
    bodies = dict(
        db.session.execute(
            select(OutboxMessage.to_address, OutboxMessage.body).where(
                OutboxMessage.to_address.in_(["w1@example.de", "w2@example.de"])
            )
        ).all()
    )
    assert "an Position 1." in bodies["w1@example.de"]
    assert "an Position 2." in bodies["w2@example.de"]


def test_a_notice_whose_registration_was_deleted_is_dropped(full_event, make_profile):
    registration = registrations.register(
        full_event.id, make_profile(), [("Weg", "weg@example.de")]
    )
    db.session.commit()
    mail.discard_new()
    db.session.delete(registration)
    db.session.commit()
    assert mail.compose_all_pending() == 1
    assert (
        db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "weg@example.de"))
        is None
    )


def test_the_registration_page_and_the_e_mail_tell_the_same_place(
    client, login, make_user, make_profile, full_event
):
    user = make_user()
    profile = make_profile(owner=user)
    login(user)
    response = client.post(
        f"/events/{full_event.id}/register",
        data={
            "profile_id": str(profile.id),
            "attendees-0-name": "Wer Wartet",
            "attendees-0-email": "wartet@example.de",
        },
        follow_redirects=True,
    )
    assert "Sie stehen auf Platz 1 der Warteliste" in response.get_data(as_text=True)
    body = db.session.scalar(
        select(OutboxMessage.body).where(OutboxMessage.to_address == "wartet@example.de")
    )
    assert "an Position 1." in body


def test_a_registration_request_is_two_short_transactions(client, login, make_user, make_profile):
    event = registrations.create_event(event_data(capacity=5))
    db.session.commit()
    member = make_user(email="mitglied@example.de")
    profile = make_profile(owner=member, name="Mitglied GmbH")
    login(member)
    url, profile_id = f"/events/{event.id}/register", str(profile.id)
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    def commit(conn):
        seen.append("COMMIT")

    sa_event.listen(db.engine, "before_cursor_execute", before)
    sa_event.listen(db.engine, "commit", commit)
    try:
        response = client.post(
            url,
            data={
                "profile_id": profile_id,
                "attendees-0-name": "Mia Mitglied",
                "attendees-0-email": "mia@example.de",
            },
        )
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", before)
        sa_event.remove(db.engine, "commit", commit)
    assert response.status_code == 302
    # the seat decision, then the e-mail composed; nothing after it (the audit log asks no
    # account again to learn that a member's request is not an organiser's action)
    assert seen.count("COMMIT") == 2 and seen[-1] == "COMMIT"
    lock = next(i for i, s in enumerate(seen) if s.startswith("UPDATE events SET lock_version"))
    # the event is read under its lock only, not loaded before it as well
    assert not any(s.startswith("SELECT events") for s in seen[:lock])
    # the e-mail is written from what the request holds after its commit: no attendee,
    # registration, event or outbox row is loaded again; only the recipient's account is asked
    # for its language before the one UPDATE that stores subject and body
    composing = seen[seen.index("COMMIT") + 1 : -1]
    assert [s.split()[0] for s in composing] == ["SELECT", "UPDATE"]
    assert "FROM users" in composing[0] and composing[1].startswith("UPDATE outbox_messages")
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == "mia@example.de")
    )
    assert message.notice is None and message.subject == "Angemeldet: KI-Tag Test"
    assert "Mia Mitglied" in message.body and "Mitglied GmbH" in message.body
