"""A registration the API has committed is answered 201 even if the database goes away right after.

Found by the soak benchmark (bench/bench_soak.py): during a PostgreSQL restart a registration was
committed, but the view then built its answer from attributes expired by the commit; the lazy
reload hit the closed connection and the client got a 500 for a stored registration (a retry is
then refused as "already registered"). The answer is now built inside the transaction.
"""

from datetime import time, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import exc, select

from matchmaker.api import services as tokens
from matchmaker.events import services as events
from matchmaker.events.models import Attendee, Registration
from matchmaker.extensions import db


def event_data() -> dict:
    now = events.local_now()
    return {
        "title": "KI-Tag Test",
        "date": now.date() + timedelta(days=30),
        "venue": "Cottbus",
        "description": "",
        "capacity": 10,
        "registration_opens": now - timedelta(days=1),
        "registration_closes": now + timedelta(days=10),
        "first_slot": time(10, 30),
        "slot_minutes": 20,
        "slot_count": 8,
        "morning_slots": 4,
        "breaks": [],
        "table_count": 5,
        "table_names": [],
        "max_meetings": 6,
    }


def test_committed_registration_is_answered_201(app, client, make_user, make_profile):
    owner = make_user()
    profile = make_profile(owner=owner, external_ref="sme-1")
    registered_event = events.create_event(event_data())
    _token, secret = tokens.create_token(owner, "test")
    db.session.commit()
    event_id = registered_event.id

    real_commit = db.session.commit
    lost = {"now": False}

    def fail(conn, cursor, statement, parameters, context, executemany):
        if lost["now"]:
            raise exc.OperationalError(statement, parameters, Exception("server closed"))

    def commit():
        # Only the commit that stores the registration (not e.g. the token's last-use touch).
        storing = any(isinstance(o, Registration) for o in db.session.identity_map.values())
        real_commit()
        lost["now"] = lost["now"] or storing

    sa_event.listen(db.engine, "before_cursor_execute", fail)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(db.session, "commit", commit, raising=False)
            response = client.post(
                f"/api/v1/events/{event_id}/registrations",
                json={
                    "profile": "sme-1",
                    "attendees": [{"name": "Erika", "email": "e@example.de"}],
                },
                headers={"Authorization": f"Bearer {secret}"},
            )
    finally:
        lost["now"] = False
        sa_event.remove(db.engine, "before_cursor_execute", fail)

    db.session.expire_all()
    stored = db.session.scalars(select(Registration).where(Registration.event_id == event_id)).all()
    assert len(stored) == 1  # the registration was committed ...
    assert response.status_code == 201, response.get_data(as_text=True)  # ... and acknowledged
    body = response.get_json()
    assert body["id"] == stored[0].id and body["status"] == "confirmed"
    assert body["profile"]["ref"] == profile.ref
    emails = db.session.scalars(
        select(Attendee.email).where(Attendee.registration_id == stored[0].id)
    ).all()
    assert [a["email"] for a in body["attendees"]] == emails == ["e@example.de"]
