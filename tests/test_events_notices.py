"""Registration e-mails: decided under the event's lock, composed by the job worker, never lost.

A registration holds the event's lock only for the seat decision: the lock, one count, the rows
and a small outbox notice per attendee. Subject and body are written by the job worker's compose
job, one per burst of registrations; a notice whose job was lost is composed by
``flask outbox send`` or the worker's maintenance.
"""

from datetime import timedelta

import pytest
from fixtures_events import event_data, run_worker
from sqlalchemy import event as sa_event
from sqlalchemy import select, update

from matchmaker import web
from matchmaker.core.clock import utcnow
from matchmaker.events import registrations
from matchmaker.events.models import Attendee, Registration
from matchmaker.extensions import db
from matchmaker.jobs import mailing
from matchmaker.jobs import queue as jobs_queue
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
    run_worker()
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
        registrations.enrol(
            full_event.id, profile, [("Wer Wartet", "w@example.de"), ("Zweite", "z@example.de")]
        )
        db.session.commit()

    under_lock = statements_under_the_lock(register)
    # the lock with the arrival number and the seat counters, then only the rows: no count,
    # no reads of accounts, profiles or positions, no rendering (which would read them) before
    # the commit
    assert under_lock[0].startswith("UPDATE events SET")
    if db.engine.dialect.name == "postgresql":
        # the registration, its attendees, their notices and the counters in one statement
        assert under_lock[1:] == ["WITH new_registration AS"]
        ids = dict(
            db.session.execute(
                select(Attendee.email, Attendee.id).where(
                    Attendee.email.in_(["w@example.de", "z@example.de"])
                )
            ).all()
        )
        stored = db.session.execute(
            select(OutboxMessage.to_address, OutboxMessage.notice, OutboxMessage.kind).where(
                OutboxMessage.to_address.in_(list(ids))
            )
        ).all()
        # a notice per attendee, naming that attendee, like queue_notices writes them
        assert len(ids) == 2 and len(stored) == 2
        for address, notice, kind in stored:
            assert kind == "registered"
            assert notice["attendee_id"] == ids[address] and notice["position"] == 1
            assert "origin" in notice
        return
    # the addresses registered already, the rows, the counters
    assert under_lock[1] == "SELECT attendees.email FROM" and under_lock[-1] == "UPDATE events SET"
    assert all(statement.startswith("INSERT INTO") for statement in under_lock[2:-1])
    # one statement per table, or per row where the driver cannot batch with RETURNING
    tables = [statement.split()[2] for statement in under_lock[2:-1]]
    assert tables[0] == "registrations" and set(tables) == {
        "registrations",
        "attendees",
        "outbox_messages",
    }
    assert tables.count("outbox_messages") == 1 and len(tables) <= 4


def test_the_notice_is_stored_with_the_registration_and_composed_by_the_worker(
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
    # committed together with the registration, to be written by the worker's compose job
    assert message.notice is not None and message.body == ""
    run_worker()
    db.session.refresh(message)
    assert message.notice is None
    assert message.subject == "Warteliste: KI-Tag Test"
    assert "Warteliste an Position 1." in message.body and "Wer Wartet" in message.body


def test_the_registration_rows_carry_the_models_defaults(full_event, make_profile):
    # On PostgreSQL the rows are one statement of three INSERTs; the columns it leaves out get
    # what the models declare, for each of the three tables.
    before = utcnow().replace(tzinfo=None)  # SQLite gives the times back without their zone
    enrolment = registrations.enrol(
        full_event.id,
        make_profile(),
        [("Anna Eins", "anna@example.de"), ("Bert Zwei", " bert@example.de")],
    )
    db.session.commit()
    registration = enrolment.registration
    assert (
        registration.created_at.replace(tzinfo=None) >= before and registration.status == "waiting"
    )
    assert registration.seq == registration.priority == 2
    attendees = sorted(registration.attendees, key=lambda a: a.id)
    assert [(a.name, a.email, a.no_show) for a in attendees] == [
        ("Anna Eins", "anna@example.de", False),
        ("Bert Zwei", "bert@example.de", False),
    ]
    notices = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address.in_(["anna@example.de", "bert@example.de"]))
        .order_by(OutboxMessage.id)
    ).all()
    assert [
        (n.kind, n.event_id, n.status, n.attempts, n.last_error, n.subject, n.body) for n in notices
    ] == [("registered", full_event.id, "queued", 0, "", "", "")] * 2
    assert all(n.created_at.replace(tzinfo=None) >= before for n in notices)
    assert [n.notice for n in notices] == [
        {"attendee_id": a.id, "position": 1, "origin": None} for a in attendees
    ]


def test_a_burst_of_registrations_is_one_compose_job_with_a_few_queries(app, make_profile):
    event = registrations.create_event(event_data(capacity=2))
    db.session.commit()
    queue = jobs_queue.queue(app)

    def compose_jobs() -> int:
        return sum(job.func_name == "matchmaker.jobs.tasks.compose_mail" for job in queue.jobs)

    for n in range(6):
        registrations.register(event.id, make_profile(), [(f"P{n}", f"p{n}@example.de")])
        db.session.commit()
    # the first commit enqueued the job; the others saw it waiting
    assert compose_jobs() == 1
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", before)
    try:
        run_worker()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", before)
    bodies = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.event_id == event.id)
    ).all()
    assert len(bodies) == 6 and all(bodies)
    assert sum("Warteliste an Position" in body for body in bodies) == 4
    # the attendees (with registration, event and profile) and the recipients' languages are
    # read once for the batch, not once per e-mail
    assert sum("FROM attendees" in statement for statement in seen) == 1
    assert sum("FROM users" in statement for statement in seen) == 1
    # the mark is cleared when the job ends: the next registration enqueues the next job
    registrations.register(event.id, make_profile(), [("Später", "spaet@example.de")])
    db.session.commit()
    assert compose_jobs() == 1
    run_worker()
    assert db.session.scalar(
        select(OutboxMessage.subject).where(OutboxMessage.to_address == "spaet@example.de")
    )


def test_a_notice_whose_compose_job_was_lost_is_composed_later(
    app, full_event, make_profile, runner
):
    for n in (1, 2):
        registrations.register(full_event.id, make_profile(), [(f"W{n}", f"w{n}@example.de")])
        db.session.commit()
    jobs_queue.discard(app)  # the compose job was lost (Redis lost its data, say)
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
    run_worker()
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == "wartet@example.de")
    )
    assert "an Position 1." in message.body
    # the link leads to the site the registration came to, although the worker wrote it
    registration_id = message.notice is None and db.session.scalar(
        select(Registration.id).where(Registration.profile_id == profile.id)
    )
    assert f"http://localhost/registrations/{registration_id}" in message.body


def test_a_registration_request_is_one_short_transaction(client, login, make_user, make_profile):
    event = registrations.create_event(event_data(capacity=5))
    db.session.commit()
    member = make_user(email="mitglied@example.de")
    profile = make_profile(owner=member, name="Mitglied GmbH")
    login(member)
    url, profile_id = f"/events/{event.id}/register", str(profile.id)
    seen: list[str] = []

    autocommit: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
        if getattr(conn.connection.dbapi_connection, "autocommit", False) is True:
            autocommit.append(statement)

    def commit(conn):
        seen.append("COMMIT")

    checkouts: list[object] = []

    def checkout(dbapi_connection, record, proxy):
        checkouts.append(dbapi_connection)

    sa_event.listen(db.engine, "before_cursor_execute", before)
    sa_event.listen(db.engine, "commit", commit)
    sa_event.listen(db.engine, "checkout", checkout)
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
        sa_event.remove(db.engine, "checkout", checkout)
    assert response.status_code == 302
    # one connection for the whole request: the wait for the disk takes no second checkout
    # (with its ping: two round trips more)
    assert len(checkouts) == 1
    # one transaction and nothing after it (the e-mail is the job worker's); on PostgreSQL
    # its commit does not wait for the disk, a tiny second transaction does
    postgresql = db.engine.dialect.name == "postgresql"
    first = seen.index("COMMIT")
    if postgresql:
        barrier = "SELECT pg_logical_emit_message(true, 'matchmaker', 'durable')"
        assert seen[first + 1 :] == [barrier, "COMMIT"]
        # its own transaction in autocommit mode: no BEGIN and COMMIT round trips around it
        assert autocommit == [barrier]
    else:
        assert seen[first + 1 :] == []
    transaction = seen[:first]
    lock = next(
        i for i, s in enumerate(transaction) if s.startswith("UPDATE events SET lock_version")
    )
    # for the commit, said by the lock statement: no round trip of its own
    said = "set_config('synchronous_commit', 'off', true)"
    assert [s for s in transaction if "synchronous_commit" in s] == (
        [transaction[lock]] if postgresql else []
    )
    assert not postgresql or said in transaction[lock]
    # before the lock: the account and the member's profiles (not whole rows); the event is
    # read under its lock only, not loaded before it as well
    assert [s.split(None, 1)[0] for s in transaction[:lock]] == ["SELECT", "SELECT"]
    assert transaction[1].startswith("SELECT profiles.id, profiles.name, profiles.kind \nFROM")
    # under it no count (the lock returns the event's seat counters), only the rows: on
    # PostgreSQL one statement for the registration (unless an address is taken), its
    # attendees, their notices and the counters; else the check of the addresses, one INSERT
    # each and the counters
    rows = (
        [["WITH", "new_registration", "AS"]]
        if postgresql
        else [
            ["SELECT", "attendees.email", "FROM"],
            ["INSERT", "INTO", "registrations"],
            ["INSERT", "INTO", "attendees"],
            ["INSERT", "INTO", "outbox_messages"],
            ["UPDATE", "events", "SET"],
        ]
    )
    assert [s.split()[:3] for s in transaction[lock + 1 :]] == rows
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == "mia@example.de")
    )
    assert message.notice is not None and message.body == ""
    run_worker()
    db.session.refresh(message)
    assert message.notice is None and message.subject == "Angemeldet: KI-Tag Test"
    assert "Mia Mitglied" in message.body and "Mitglied GmbH" in message.body


def test_the_compose_job_writes_what_arrives_while_it_runs(app, make_profile, monkeypatch):
    event = registrations.create_event(event_data(capacity=5))
    db.session.commit()
    late = [make_profile(), make_profile()]
    registrations.register(event.id, make_profile(), [("Anna", "anna@example.de")])
    db.session.commit()
    arrivals = iter(enumerate(late))

    def meanwhile(_seconds: float) -> None:  # a registration commits while the job waits
        arrival = next(arrivals, None)
        if arrival is not None:
            n, profile = arrival
            registrations.register(event.id, profile, [(f"P{n}", f"p{n}@example.de")])
            db.session.commit()

    monkeypatch.setattr(mailing.time, "sleep", meanwhile)
    assert mailing.compose_while_arriving(app) == 3
    subjects = db.session.scalars(
        select(OutboxMessage.subject).where(OutboxMessage.event_id == event.id)
    ).all()
    assert len(subjects) == 3 and all(subjects)
    # the job cleared its mark before its last look: the next registration enqueues a job
    assert jobs_queue.redis_connection(app).get(mailing.pending_key(app)) is None


def commit_setting(block) -> list[str]:
    """Run ``block`` in a hot transaction; return the ``synchronous_commit`` its commit had
    (the first commit: sending the e-mails may commit again, as usual)."""
    seen: list[str] = []

    def read_setting(session):
        if session.get_bind().dialect.name == "postgresql":
            seen.append(session.connection().exec_driver_sql("SHOW synchronous_commit").scalar())

    sa_event.listen(db.session, "before_commit", read_setting)
    try:
        with web.hot_transaction():
            block()
    finally:
        sa_event.remove(db.session, "before_commit", read_setting)
    return seen[:1]


def test_a_hot_registration_commits_without_waiting_for_the_disk(full_event, make_profile):
    profile = make_profile()
    postgresql = db.engine.dialect.name == "postgresql"
    # said by the lock statement of the registration ...
    enrolled = commit_setting(
        lambda: registrations.enrol(full_event.id, profile, [("Hanna", "h@example.de")])
    )
    assert enrolled == (["off"] if postgresql else [])
    # ... or, by a block that cannot say it, before the commit
    cancelled = commit_setting(
        lambda: registrations.cancel_registration(
            db.session.scalar(select(Registration).where(Registration.profile_id == profile.id))
        )
    )
    assert cancelled == (["off"] if postgresql else [])
    # a commit outside a hot transaction waits as usual
    registrations.enrol(full_event.id, profile, [("Hanna", "h@example.de")])
    if postgresql:
        assert db.session.connection().exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    db.session.commit()
