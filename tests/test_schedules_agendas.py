"""Agendas, print pages and grid: breaks, table names, who asked whom, why fewer meetings."""

import csv
import io
import re
from collections import Counter

import pytest
from fixtures_events import publish, schedule_world  # noqa: F401 (fixture)
from icalendar import Calendar
from pypdf import PdfReader
from sql_statements import reading, statements_of
from sqlalchemy import select

from matchmaker.events import wishes
from matchmaker.events.models import MUST_MEET, NOT_INTERESTED, Registration
from matchmaker.extensions import db
from matchmaker.mail.models import OutboxMessage
from matchmaker.scheduling import editing, versions

MUELLER = "Bäckerei Müller GmbH"
STADTWERKE = "Stadtwerke Spremberg"
RECHNUNG = "RechnungsKI Dresden"
PUMPS = "Predictive Pumps Berlin"
VISION = "VisionCheck Görlitz"
TABLES = ["Tisch Brezel", "Tisch Laugen", "Tisch Stulle"]


def build_and_publish(client, login, w, job) -> None:
    """Build and publish the schedule as the organiser, through the pages and their jobs."""
    login(w.organiser)
    assert "finished" in job(f"/events/{w.event.id}/schedule/build")
    assert "finished" in publish(client, job, w.event.id)[1]
    db.session.expire_all()


def schedule_mail(address: str) -> OutboxMessage:
    """Return the one schedule e-mail sent to an address."""
    return db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.to_address == address, OutboxMessage.kind == "schedule"
        )
    ).one()


def text_of(response) -> str:
    """Return a page's text with tags removed and white space collapsed."""
    assert response.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


@pytest.fixture
def agreed(schedule_world, client, login, job):  # noqa: F811 (the imported fixture)
    """RechnungsKI asked the bakery for a meeting, the bakery agreed; published, named tables."""
    w = schedule_world
    p = w.profiles
    w.event.table_names = TABLES
    request = wishes.send_meeting_request(w.event, p[RECHNUNG], p[MUELLER], "Gern!")
    wishes.answer_request(request, accept=True)
    # The bakery wants exactly the one agreed meeting: its agenda has no shortfall.
    wishes.save_availability(w.event, p[MUELLER], [], 1)
    db.session.commit()
    build_and_publish(client, login, w, job)
    return w


def by_hand(client, job, w, placed) -> None:
    """Build, replace every meeting by ``placed`` (a, b, slot, table) through the page, publish."""
    url = f"/events/{w.event.id}/schedule"
    assert "finished" in job(f"{url}/build")
    db.session.expire_all()
    for m in list(versions.latest_version(w.event).meetings):
        editing.remove_meeting(w.event, w.organiser, m.key)
    db.session.commit()
    for a, b, slot, table in placed:
        data = {"a": w.pid(a), "b": w.pid(b), "slot": slot, "table": table}
        assert client.post(f"{url}/add", data=data).status_code == 302
    publish(client, job, w.event.id)


def test_the_receiver_reads_request_from_the_sender_reads_your_request(client, login, agreed):
    w = agreed
    event_id, bakery, startup = w.event.id, w.pid(MUELLER), w.pid(RECHNUNG)
    sender_agenda = text_of(client.get(f"/events/{event_id}/agenda/{startup}"))
    assert f"Ihre Anfrage an {MUELLER}" in sender_agenda
    csv_text = client.get(f"/events/{event_id}/schedule/meetings.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff"))))
    pair = {RECHNUNG, MUELLER}
    whys = [r["why"] for r in rows if {r["organisation_a"], r["organisation_b"]} == pair]
    assert whys == [f"Anfrage von {RECHNUNG} an {MUELLER}"]
    client.post("/account/logout")

    login(w.owner)
    receiver_agenda = text_of(client.get(f"/events/{event_id}/agenda/{bakery}"))
    assert f"Anfrage von {RECHNUNG}" in receiver_agenda
    assert "Ihre Anfrage" not in receiver_agenda and "Ihre Terminanfrage" not in receiver_agenda
    # One wanted, one planned: nothing to explain.
    assert "gewünscht" not in receiver_agenda and 'class="shortfall"' not in receiver_agenda
    mail = schedule_mail("sme0@teilnehmer.example")
    assert f"Anfrage von {RECHNUNG}" in mail.body


def test_an_agenda_reads_its_partners_and_the_agreed_requests_once(client, login, agreed):
    w = agreed
    login(w.organiser)
    version = versions.published_version(w.event)
    meetings = Counter(p for m in version.meetings for p in (m.profile_a_id, m.profile_b_id))
    busiest, count = meetings.most_common(1)[0]
    assert count >= 2
    partners = [m.partner_of(busiest).name for m in version.meetings if m.involves(busiest)]
    contacts = {
        r.profile_id: r.attendees[0].name
        for r in db.session.scalars(select(Registration).where(Registration.event_id == w.event.id))
    }
    url = f"/events/{w.event.id}/agenda/{busiest}"
    statements = statements_of(client, url)
    # the viewed profile, then every partner in one statement (not one query per meeting)
    assert len(reading(statements, "profiles")) == 2, statements
    assert len(reading(statements, "meeting_requests")) == 1
    assert reading(statements, "meeting_ratings") == []  # the organiser's view has no ratings
    agenda = text_of(client.get(url))
    assert all(name in agenda for name in partners)
    # the participant's own attendee is named, no other participant's
    assert contacts.pop(busiest) in agenda
    assert not any(name in agenda for name in contacts.values())


def test_breaks_are_rows_at_their_time_everywhere(client, login, agreed, run_jobs):
    w = agreed
    event_id = w.event.id
    # Slots of 20 minutes from 10:00; the 30-minute coffee break follows slot 2.
    order = ["10:20–10:40", "Kaffee", "11:10–11:30"]
    page = client.get(f"/events/{event_id}/agenda/{w.pid(RECHNUNG)}").get_data(as_text=True)
    assert 'class="break-row"' in page
    agenda = text_of(client.get(f"/events/{event_id}/agenda/{w.pid(RECHNUNG)}"))
    positions = [agenda.index(item) for item in order]
    assert positions == sorted(positions) and "10:40–11:10 Kaffee" in agenda

    sheets = 7
    printed = text_of(client.get(f"/events/{event_id}/schedule/print/agendas"))
    assert printed.count("10:40–11:10 Kaffee") == sheets
    tables = text_of(client.get(f"/events/{event_id}/schedule/print/tables"))
    assert tables.count("10:40–11:10 Kaffee") == len(TABLES)
    grid = text_of(client.get(f"/events/{event_id}/schedule/print/grid"))
    assert grid.count("Kaffee (10:40–11:10)") == 1
    overview = text_of(client.get(f"/events/{event_id}/schedule"))
    assert "Kaffee 10:40–11:10" in overview  # the break's name is in the slot column

    # The PDF is made by a job; its page offers the download.
    started = client.post(f"/events/{event_id}/schedule/agendas.pdf")
    assert started.status_code == 302 and "/jobs/" in started.headers["Location"]
    run_jobs()
    pdf = client.get(started.headers["Location"] + "/download")
    assert pdf.mimetype == "application/pdf"
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.data)).pages]
    assert len(pages) == sheets and all("Kaffee" in p for p in pages)


def test_table_names_are_printed_as_entered(client, login, agreed):
    w = agreed
    event_id = w.event.id
    pages = {
        kind: text_of(client.get(f"/events/{event_id}/schedule/print/{kind}"))
        for kind in ("agendas", "tables", "grid")
    }
    pages["overview"] = text_of(client.get(f"/events/{event_id}/schedule"))
    pages["agenda"] = text_of(client.get(f"/events/{event_id}/agenda/{w.pid(RECHNUNG)}"))
    for kind, text in pages.items():
        assert "Tisch Tisch" not in text, kind
    for name in TABLES:
        assert pages["tables"].count(name) == 1  # the heading of its sheet
        assert pages["grid"].count(name) == 1  # the column head
    version = versions.published_version(w.event)
    for m in version.meetings:
        assert m.key in client.get(f"/events/{event_id}/schedule/meetings/{m.key}").get_data(
            as_text=True
        )
    bakery = w.pid(MUELLER)
    (meeting,) = [m for m in version.meetings if m.involves(bakery)]
    calendar = Calendar.from_ical(client.get(f"/events/{event_id}/agenda/{bakery}.ics").get_data())
    (entry,) = calendar.walk("VEVENT")
    assert str(entry["location"]) == f"Cottbus – {TABLES[meeting.table - 1]}"
    mail = schedule_mail("sme0@teilnehmer.example")
    assert TABLES[meeting.table - 1] in mail.body and "Tisch Tisch" not in mail.body


def test_an_unnamed_table_is_called_by_its_number(client, login, schedule_world, job):  # noqa: F811
    w = schedule_world
    build_and_publish(client, login, w, job)
    tables = text_of(client.get(f"/events/{w.event.id}/schedule/print/tables"))
    assert all(f"Tisch {n}" in tables for n in (1, 2, 3))


def test_fewer_meetings_come_with_the_reason_from_the_schedule(
    client,
    login,
    schedule_world,  # noqa: F811
    job,
):
    """The bakery wants 2 and is free in slots 1 and 2; slot 1 is taken, slot 2 nobody can."""
    w = schedule_world
    p = w.profiles
    wishes.save_availability(w.event, p[MUELLER], [3, 4], 2)
    wishes.save_availability(w.event, p[VISION], [2], None)
    wishes.set_mark(w.event, p[MUELLER], p[PUMPS], MUST_MEET)
    wishes.set_mark(w.event, p[MUELLER], p[VISION], MUST_MEET)
    db.session.commit()
    login(w.organiser)
    url = f"/events/{w.event.id}/schedule"
    by_hand(client, job, w, [(MUELLER, RECHNUNG, 1, 1), (STADTWERKE, PUMPS, 2, 1)])
    printed = text_of(client.get(f"{url}/print/agendas?profile={w.pid(MUELLER)}"))
    client.post("/account/logout")

    login(w.owner)
    agenda = text_of(client.get(f"/events/{w.event.id}/agenda/{w.pid(MUELLER)}"))
    reasons = (
        "2 gewünscht, 1 geplant: "
        "1 weiterer passender Partner war in Ihren freien Zeitfenstern schon belegt. "
        "1 weiterer passender Partner war in Ihren freien Zeitfenstern nicht verfügbar."
    )
    assert reasons in agenda
    assert reasons in printed
    # the e-mail with the agenda tells the same
    assert reasons in " ".join(schedule_mail("sme0@teilnehmer.example").body.split())


def test_the_agenda_e_mail_has_the_breaks_between_the_meetings(
    client,
    login,
    schedule_world,  # noqa: F811
    job,
):
    """The bakery meets one partner before the coffee break and one after it."""
    w = schedule_world
    stadtwerke = db.session.scalars(
        select(Registration).where(Registration.profile_id == w.pid(STADTWERKE))
    ).one()
    stadtwerke.locale = "en"  # registered from an English page
    db.session.commit()
    login(w.organiser)
    placed = [(MUELLER, RECHNUNG, 1, 1), (MUELLER, PUMPS, 3, 1), (STADTWERKE, VISION, 1, 2)]
    by_hand(client, job, w, placed)

    rows = re.findall(
        r"^\d\d:\d\d–\d\d:\d\d  .*$", schedule_mail("sme0@teilnehmer.example").body, re.M
    )
    assert rows == [
        "10:00–10:20  Tisch 1  RechnungsKI Dresden",
        "10:40–11:10  Kaffee",
        "11:10–11:30  Tisch 1  Predictive Pumps Berlin",
    ]
    # one meeting: no break to tell about; the reason in the recipient's language
    english = schedule_mail("sme1@teilnehmer.example").body
    assert "Kaffee" not in english
    assert "up to 3 possible, 1 planned:" in english and "gewünscht" not in english


def test_no_further_candidates_is_the_reason_when_all_others_are_ruled_out(
    client,
    login,
    schedule_world,  # noqa: F811
    job,
):
    w = schedule_world
    p = w.profiles
    wishes.save_availability(w.event, p[MUELLER], [], 2)
    wishes.set_mark(w.event, p[MUELLER], p[PUMPS], NOT_INTERESTED)
    wishes.set_mark(w.event, p[MUELLER], p[VISION], NOT_INTERESTED)
    db.session.commit()
    build_and_publish(client, login, w, job)
    client.post("/account/logout")
    login(w.owner)
    agenda = text_of(client.get(f"/events/{w.event.id}/agenda/{w.pid(MUELLER)}"))
    assert "2 gewünscht, 1 geplant: Es gab keine weiteren passenden Teilnehmenden." in agenda
