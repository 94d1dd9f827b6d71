"""Schedules: build a draft, edit it by hand with checks, lock, re-optimise, publish, re-plan."""

import re
from datetime import datetime, timedelta

import pytest
from fixtures_events import publish, schedule_world  # noqa: F401 (fixture)
from sqlalchemy import select
from test_events_services import event_data

from matchmaker.events import registrations, wishes
from matchmaker.events.models import MUST_MEET, NOT_INTERESTED, Attendee, Registration
from matchmaker.extensions import db
from matchmaker.mail.models import OutboxMessage
from matchmaker.scheduling import agendas, building, editing, versions
from matchmaker.scheduling.models import PUBLISHED, REQUEST, SUPERSEDED, WISH, SchedulePrint
from matchmaker.scheduling.problem import meeting_key
from matchmaker.scheduling.solver import check

MUELLER = "Bäckerei Müller GmbH"
STADTWERKE = "Stadtwerke Spremberg"
MOEBEL = "Lausitzer Möbelwerk"
KREIS = "Kreisverwaltung Cottbus"
RECHNUNG = "RechnungsKI Dresden"
PUMPS = "Predictive Pumps Berlin"
VISION = "VisionCheck Görlitz"


@pytest.fixture
def world(schedule_world):  # noqa: F811 (the imported fixture)
    """The small event with an agreed request, a must-meet wish, a veto, a cap and a gap."""
    w = schedule_world
    p = w.profiles
    request = wishes.send_meeting_request(w.event, p[MUELLER], p[PUMPS], "Gern!")
    wishes.answer_request(request, accept=True)
    wishes.set_mark(w.event, p[KREIS], p[RECHNUNG], MUST_MEET)
    wishes.set_mark(w.event, p[STADTWERKE], p[PUMPS], NOT_INTERESTED)
    wishes.save_availability(w.event, p[MUELLER], [4], 2)
    db.session.commit()
    return w


def places(event) -> list[tuple[str, int, int, bool]]:
    """Return the newest version's meetings as (key, slot, table, locked)."""
    db.session.expire_all()  # the requests changed them in their own sessions
    version = versions.latest_version(event)
    return sorted((m.key, m.slot, m.table, m.locked) for m in version.meetings)


def flashes(client, event_id: int = 1) -> str:
    """Return the schedule page with the messages of the last action."""
    return client.get(f"/events/{event_id}/schedule").get_data(as_text=True)


def log_in_english(client, login, user) -> None:
    """Log in and switch to English, so the messages read as in the code."""
    login(user)
    client.post("/language/en")


def build(client, login, w, job):
    log_in_english(client, login, w.organiser)
    page = job(f"/events/{w.event.id}/schedule/build")
    assert "finished" in page, page
    db.session.expire_all()
    return versions.latest_version(w.event)


def empty_draft(client, login, w, job):
    """Build, then take every meeting out, so tests place meetings where they want them."""
    version = build(client, login, w, job)
    for m in list(version.meetings):
        editing.remove_meeting(w.event, w.organiser, m.key)
    db.session.commit()
    return version


def test_build_makes_a_valid_draft_from_wishes_scores_and_vetoes(client, login, world, job):
    w = world
    version = build(client, login, w, job)
    assert version.number == 1 and version.status == "draft"
    keys = {m.key: m for m in version.meetings}
    agreed = meeting_key(w.pid(MUELLER), w.pid(PUMPS))
    wish = meeting_key(w.pid(KREIS), w.pid(RECHNUNG))
    vetoed = meeting_key(w.pid(STADTWERKE), w.pid(PUMPS))
    assert keys[agreed].origin == REQUEST
    assert keys[wish].origin == WISH
    listed = {m["id"]: m for m in version.problem["meetings"]}
    assert vetoed not in listed and vetoed not in keys
    assert listed[agreed]["required"] is True
    assert listed[wish]["score"] >= 0.5  # the must-meet bonus
    # Startups only meet SMEs unless someone asked otherwise.
    kinds = {p.id: p.kind for p in w.profiles.values()}
    assert all(kinds[m.profile_a_id] != kinds[m.profile_b_id] for m in version.meetings)
    # The cap (2) and the unavailable slot (4) of the bakery hold.
    mueller = [m for m in version.meetings if m.involves(w.pid(MUELLER))]
    assert len(mueller) <= 2 and all(m.slot != 4 for m in mueller)
    assert check(version.problem, agendas.schedule_document(version)) == []
    assert version.stats["optimal"] is True
    page = client.get(f"/events/{w.event.id}/schedule").get_data(as_text=True)
    assert "Version 1" in page and MUELLER in page and "draft" in page


def test_hand_edits_are_checked_and_a_refusal_changes_nothing(client, login, world, job):
    w = world
    empty_draft(client, login, w, job)
    url = f"/events/{w.event.id}/schedule"
    a, b = w.pid(MUELLER), w.pid(RECHNUNG)

    def add(x, y, slot, table=""):
        return client.post(f"{url}/add", data={"a": x, "b": y, "slot": slot, "table": table})

    assert add(a, b, 1, 1).status_code == 302
    assert places(w.event) == [(meeting_key(a, b), 1, 1, False)]

    refusals = [
        ((w.pid(STADTWERKE), w.pid(PUMPS), 2), "not interested"),
        ((w.pid(MOEBEL), w.pid(VISION), 1, 1), "Table 1 is already taken in slot 1"),
        ((a, w.pid(VISION), 1), f"{MUELLER} already has a meeting in slot 1"),
        ((a, w.pid(VISION), 4), f"{MUELLER} is not available in slot 4"),
        ((a, b, 2), "already meet in slot 1"),
        ((a, a, 2), "Choose two different participants"),
        ((a, 999_999, 2), "is not a participant of this schedule"),
        ((a, w.pid(VISION), 9), "Choose a slot from 1 to 4"),
        ((a, w.pid(VISION), 2, 7), "Choose a table from 1 to 3"),
    ]
    for arguments, message in refusals:
        assert add(*arguments).status_code == 302
        assert message in flashes(client), message
        assert places(w.event) == [(meeting_key(a, b), 1, 1, False)]

    # The bakery's cap is 2: a third meeting is refused.
    assert add(a, w.pid(PUMPS), 2).status_code == 302
    add(a, w.pid(VISION), 3)
    assert "would have 3 meetings, but the limit is 2" in flashes(client)
    assert len(places(w.event)) == 2

    # Move: to an occupied table, onto a busy participant, then somewhere free.
    first = meeting_key(a, b)
    second = meeting_key(a, w.pid(PUMPS))
    assert add(w.pid(MOEBEL), w.pid(VISION), 3).status_code == 302
    third = meeting_key(w.pid(MOEBEL), w.pid(VISION))
    before = places(w.event)
    client.post(f"{url}/move", data={"meeting": third, "slot": 1, "table": 1})
    assert "Table 1 is already taken in slot 1" in flashes(client)
    client.post(f"{url}/move", data={"meeting": second, "slot": 1, "table": 2})
    assert f"{MUELLER} already has a meeting in slot 1" in flashes(client)
    client.post(f"{url}/move", data={"meeting": "123-456", "slot": 1, "table": 2})
    assert "This meeting is not in the schedule" in flashes(client)
    client.post(f"{url}/move", data={"meeting": third, "slot": "abc", "table": 2})
    assert "Slot" in flashes(client)
    assert places(w.event) == before
    client.post(f"{url}/move", data={"meeting": third, "slot": 1, "table": 3})
    assert (third, 1, 3, False) in places(w.event)

    # Swap: the bakery's two meetings exchange their places.
    client.post(f"{url}/swap", data={"meeting": first, "other": second})
    after = {key: (slot, table) for key, slot, table, _locked in places(w.event)}
    assert after[first] == (2, 1) and after[second] == (1, 1)
    client.post(f"{url}/swap", data={"meeting": first, "other": first})
    assert "two different meetings" in flashes(client)

    # Remove.
    client.post(f"{url}/meeting-action", data={"meeting": third, "action": "remove"})
    assert third not in {key for key, *_rest in places(w.event)}
    client.post(f"{url}/meeting-action", data={"meeting": third, "action": "explode"})
    assert "Action" in flashes(client)


def test_locked_meetings_stay_when_re_optimising(client, login, world, job):
    w = world
    version = build(client, login, w, job)
    url = f"/events/{w.event.id}/schedule"
    # Put one meeting somewhere the solver would not, then lock it.
    target = next(m for m in version.meetings if m.origin != REQUEST)
    key = target.key  # the row is replaced when re-optimising
    busy = {(m.slot, pid) for m in version.meetings for pid in (m.profile_a_id, m.profile_b_id)}
    slot = next(
        s
        for s in range(4, 0, -1)
        if s != target.slot
        and (s, target.profile_a_id) not in busy
        and (s, target.profile_b_id) not in busy
        and not (s == 4 and target.involves(w.pid(MUELLER)))
    )
    client.post(f"{url}/move", data={"meeting": key, "slot": slot, "table": ""})
    client.post(f"{url}/meeting-action", data={"meeting": key, "action": "lock"})
    locked = next(p for p in places(w.event) if p[0] == key)
    assert locked[1] == slot and locked[3] is True

    assert "finished" in job(f"{url}/reoptimise")
    db.session.expire_all()
    assert locked in places(w.event)
    version = versions.latest_version(w.event)
    assert version.number == 1  # still the same draft
    assert check(version.problem, agendas.schedule_document(version)) == []

    client.post(f"{url}/meeting-action", data={"meeting": key, "action": "unlock"})
    assert not next(p for p in places(w.event) if p[0] == key)[3]


def test_publish_then_change_makes_a_new_version_mails_the_changed_and_shows_the_diff(
    client, login, world, job
):
    w = world
    version = build(client, login, w, job)
    url = f"/events/{w.event.id}/schedule"
    # The button only asks: a POST without the confirmation page's token publishes nothing.
    asked = client.post(f"{url}/publish")
    assert asked.status_code == 200 and "Publish version 1?" in asked.get_data(as_text=True)
    assert versions.published_version(w.event) is None
    assert (
        db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.kind == "schedule")) is None
    )
    page, done = publish(client, job, w.event.id)
    # The first publication e-mails everybody, and the page said so, name by name.
    assert "7 participants get an e-mail" in page
    assert all(name in page for name in (MUELLER, STADTWERKE, RECHNUNG, PUMPS, VISION))
    assert "mueller@example.de" not in page and "sme0@teilnehmer.example" in page
    assert "7 participants were notified" in done
    db.session.expire_all()
    assert versions.published_version(w.event).number == 1
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "schedule")).all()
    assert len(mails) == 7  # first publication: every participant
    assert {m.to_address for m in mails} == set(re.findall(r"[\w.]+@teilnehmer\.example", page))
    assert any("Jörg Müller" in m.body or MUELLER in m.body for m in mails)

    assert client.get(f"{url}/print/agendas").status_code == 200
    assert db.session.scalar(select(SchedulePrint.version_id)) == version.id
    assert "No changes: the printouts are up to date." in flashes(client)

    # Move one meeting to another free place: a new draft, version 1 stays published.
    moved = next(m for m in versions.latest_version(w.event).meetings if m.origin != REQUEST)
    busy = {(m.slot, p) for m in version.meetings for p in (m.profile_a_id, m.profile_b_id)}
    slot = next(
        s
        for s in range(1, 5)
        if s != moved.slot
        and (s, moved.profile_a_id) not in busy
        and (s, moved.profile_b_id) not in busy
        and not (s == 4 and moved.involves(w.pid(MUELLER)))
    )
    names = {moved.profile_a.name, moved.profile_b.name}
    client.post(f"{url}/move", data={"meeting": moved.key, "slot": slot, "table": ""})
    db.session.expire_all()
    latest = versions.latest_version(w.event)
    assert latest.number == 2 and latest.status == "draft"
    assert versions.published_version(w.event).number == 1
    page = flashes(client)
    assert "Moved:" in page
    assert all(name in page for name in names)

    # The participant still sees version 1 until the organiser publishes version 2.
    agenda = client.get(f"/events/{w.event.id}/agenda/{moved.profile_a_id}")
    assert "Version 1" in agenda.get_data(as_text=True)

    before = {m.id for m in db.session.scalars(select(OutboxMessage))}
    page, _done = publish(client, job, w.event.id)
    # The confirmation named exactly the two participants whose meetings changed.
    assert "2 participants get an e-mail" in page
    listed = re.search(r'<table id="recipients">(.*?)</table>', page, re.S).group(1)
    assert all(name in listed for name in names)
    db.session.expire_all()
    statuses = {v.number: v.status for v in versions.versions_of(w.event)}
    assert statuses == {1: SUPERSEDED, 2: PUBLISHED}
    new_mails = [m for m in db.session.scalars(select(OutboxMessage)) if m.id not in before]
    addresses = {m.to_address for m in new_mails}
    expected = {
        a.email
        for a in db.session.scalars(
            select(Attendee)
            .join(Registration)
            .where(Registration.profile_id.in_([moved.profile_a_id, moved.profile_b_id]))
        )
    }
    assert addresses == expected
    assert all("geändert" in m.subject or "changed" in m.subject for m in new_mails)
    # Publishing again without a draft is refused.
    client.get(f"{url}/publish")
    assert "already published" in flashes(client)


def test_publish_refuses_a_confirmation_of_other_recipients(client, login, world, job):
    w = world
    build(client, login, w, job)
    url = f"/events/{w.event.id}/schedule/publish"
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="confirmed" type="hidden" value="([^"]+)"', page).group(1)
    publish(client, job, w.event.id)
    # a change after the confirmation page was opened: that page's recipients are stale
    moved = next(m for m in versions.latest_version(w.event).meetings if m.origin != REQUEST)
    editing.remove_meeting(w.event, w.organiser, moved.key)
    db.session.commit()
    stale = client.post(url, data={"confirmed": token})
    assert stale.status_code == 200
    assert "please check who gets an e-mail again" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert versions.latest_version(w.event).status == "draft"
    assert "2 participants get an e-mail" in stale.get_data(as_text=True)


def test_the_publish_job_refuses_a_draft_changed_after_the_confirmation(
    client, login, world, job, run_jobs
):
    """The job checks the confirmed token again: the draft changed while the job was queued."""
    w = world
    build(client, login, w, job)
    publish(client, job, w.event.id)
    db.session.expire_all()
    meetings = [m for m in versions.latest_version(w.event).meetings if m.origin != REQUEST]
    first = meetings[0]
    pair = {first.profile_a_id, first.profile_b_id}
    second = next(m for m in meetings if not pair & {m.profile_a_id, m.profile_b_id})
    editing.remove_meeting(w.event, w.organiser, first.key)
    db.session.commit()
    before = set(db.session.scalars(select(OutboxMessage.id)))
    url = f"/events/{w.event.id}/schedule/publish"
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="confirmed" type="hidden" value="([^"]+)"', page).group(1)
    queued = client.post(url, data={"confirmed": token})
    assert queued.status_code == 302 and "/jobs/" in queued.headers["Location"]
    # While the job waits in the queue, a further edit changes who would get an e-mail.
    editing.remove_meeting(w.event, w.organiser, second.key)
    db.session.commit()
    run_jobs()
    job_page = client.get(queued.headers["Location"]).get_data(as_text=True)
    assert "please check who gets an e-mail again" in job_page
    db.session.expire_all()
    assert versions.published_version(w.event).number == 1
    assert set(db.session.scalars(select(OutboxMessage.id))) == before


def test_no_show_re_plan_keeps_past_slots(client, login, world, job):
    w = world
    version = build(client, login, w, job)
    url = f"/events/{w.event.id}/schedule"
    publish(client, job, w.event.id)
    db.session.expire_all()
    version = versions.latest_version(w.event)
    later = [m for m in version.meetings if m.slot >= 3]
    if not later:  # make sure someone has a meeting still to come
        m = version.meetings[0]
        editing.move_meeting(w.event, w.organiser, m.key, 3, None)
        db.session.commit()
        version = versions.latest_version(w.event)
        later = [m for m in version.meetings if m.slot >= 3]
    gone = later[0].profile_a_id
    past = sorted((m.key, m.slot, m.table) for m in version.meetings if m.slot < 3)
    attendee = db.session.scalar(
        select(Attendee).join(Registration).where(Registration.profile_id == gone)
    )
    registrations.set_attendance(attendee, "noshow")
    db.session.commit()

    page = job(f"{url}/reoptimise", {"from_slot": 3})
    db.session.expire_all()
    latest = versions.latest_version(w.event)
    assert latest.is_draft
    assert sorted((m.key, m.slot, m.table) for m in latest.meetings if m.slot < 3) == past
    assert not [m for m in latest.meetings if m.slot >= 3 and m.involves(gone)]
    assert check(latest.problem, agendas.schedule_document(latest)) == []
    assert "finished" in page
    assert "no-show" in flashes(client)

    client.post(f"{url}/reoptimise", data={"from_slot": 99})
    assert "Choose a slot from 1 to 4" in flashes(client)


def test_the_first_open_slot_follows_the_clock(world):
    event = world.event
    start = datetime.combine(event.date, event.first_slot)
    assert building.first_open_slot(event, start - timedelta(days=1)) == 1
    assert building.first_open_slot(event, start + timedelta(minutes=5)) == 2
    assert building.first_open_slot(event, start + timedelta(hours=5)) == 5


def test_build_without_participants_is_refused(client, login, app, make_user, job):
    organiser = make_user(organiser=True)
    event = registrations.create_event(
        event_data(title="Leer", slot_count=4, morning_slots=2, breaks=[], max_meetings=3)
    )
    db.session.commit()
    log_in_english(client, login, organiser)
    page = job(f"/events/{event.id}/schedule/build")
    assert "failed" in page and "Nobody is confirmed" in page
    assert versions.latest_version(event) is None
