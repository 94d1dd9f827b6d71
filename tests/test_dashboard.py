"""The organisers' event dashboard and its reminders, through the web pages.

The event of ``schedule_world`` has four SMEs and three startups confirmed. The tests give it
requests, wishes, attendance, a published schedule and a newer draft, then read the dashboard,
its CSV files, and send reminders (run as jobs) to exactly the people the preview names.
"""

import csv
import io
import re
from datetime import timedelta

import pytest
from fixtures_events import schedule_world  # noqa: F401 (fixture)
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from matchmaker.core.audit import AuditEntry
from matchmaker.core.clock import utcnow
from matchmaker.events import registrations, wishes
from matchmaker.events.models import (
    ACCEPTED,
    DECLINED,
    MUST_MEET,
    NOT_INTERESTED,
    WITHDRAWN,
    Attendee,
    MeetingRequest,
    Registration,
)
from matchmaker.extensions import db
from matchmaker.jobs.models import FAILED, FINISHED, Job
from matchmaker.mail.models import OutboxMessage
from matchmaker.scheduling.models import (
    DRAFT,
    PUBLISHED,
    ReminderSent,
    ScheduleMeeting,
    ScheduleVersion,
)

MUELLER = "Bäckerei Müller GmbH"
STADTWERKE = "Stadtwerke Spremberg"
MOEBEL = "Lausitzer Möbelwerk"
KREIS = "Kreisverwaltung Cottbus"
RECHNUNG = "RechnungsKI Dresden"
PUMPS = "Predictive Pumps Berlin"
VISION = "VisionCheck Görlitz"
LISTS = ("participants", "without-meeting", "without-request", "no-shows", "checked-in")


def add_version(world, number: int, status: str, pairs: list[tuple[str, str]]) -> None:
    """Store a schedule version whose meetings are the given pairs (slot by slot)."""
    version = ScheduleVersion(event_id=world.event.id, number=number, status=status)
    db.session.add(version)
    db.session.flush()
    for index, (a, b) in enumerate(pairs):
        db.session.add(
            ScheduleMeeting(
                version_id=version.id,
                key=f"{world.pid(a)}-{world.pid(b)}",
                profile_a_id=world.pid(a),
                profile_b_id=world.pid(b),
                slot=index % 4 + 1,
                table=index // 4 + 1,
            )
        )
    db.session.commit()


def request(world, sender: str, target: str, status: str | None = None) -> None:
    """Let one participant ask another for a meeting (and the other answer it)."""
    db.session.add(
        MeetingRequest(
            event_id=world.event.id,
            from_profile_id=world.pid(sender),
            to_profile_id=world.pid(target),
            status=status or "pending",
        )
    )
    db.session.commit()


@pytest.fixture
def busy(schedule_world):  # noqa: F811 (the imported fixture)
    """The small event with requests, wishes, attendance, a waiting list and two versions."""
    w = schedule_world
    request(w, MUELLER, RECHNUNG, ACCEPTED)
    request(w, MUELLER, PUMPS)  # unanswered
    request(w, STADTWERKE, PUMPS, DECLINED)
    request(w, RECHNUNG, MOEBEL, WITHDRAWN)  # withdrawn: RechnungsKI sent nothing
    wishes.set_mark(w.event, w.profiles[KREIS], w.profiles[VISION], MUST_MEET)
    wishes.set_mark(w.event, w.profiles[MOEBEL], w.profiles[PUMPS], NOT_INTERESTED)
    wishes.set_mark(w.event, w.profiles[STADTWERKE], w.profiles[PUMPS], MUST_MEET)
    # published: Müller 2, RechnungsKI 1, Pumps 2, Stadtwerke 1; the draft differs
    add_version(w, 1, PUBLISHED, [(MUELLER, RECHNUNG), (MUELLER, PUMPS), (STADTWERKE, PUMPS)])
    add_version(w, 2, DRAFT, [(KREIS, VISION), (MOEBEL, VISION)])
    return w


@pytest.fixture
def waiting(busy, make_profile):
    """Add an SME whose five people do not fit into the ten seats: it waits."""
    registrations.change_capacity(busy.event, 10)
    profile = make_profile(kind="sme", name="Große Werke AG")
    people = [(f"Person {n}", f"gross{n}@werke.example") for n in range(5)]
    registrations.register(busy.event.id, profile, people)
    db.session.commit()
    return busy


def registration_of(world, profile_id: int) -> int:
    """Return the id of a profile's registration for the event."""
    return db.session.scalar(
        select(Registration.id).where(
            Registration.event_id == world.event.id, Registration.profile_id == profile_id
        )
    )


def attendee_id(world, name: str) -> int:
    """Return the id of the (only) attendee of a profile."""
    registration_id = registration_of(world, world.pid(name))
    return db.session.scalar(select(Attendee.id).where(Attendee.registration_id == registration_id))


def read_csv(response) -> list[list[str]]:
    """Return the rows of a CSV download (after its byte-order mark)."""
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


# -- access ----------------------------------------------------------------------------------

PAGES = [
    ("get", "/events/{e}/dashboard"),
    *[("get", f"/events/{{e}}/dashboard/{name}.csv") for name in LISTS],
    ("get", "/events/{e}/reminders"),
    ("get", "/events/{e}/reminders?audience=no_meeting"),
    ("post", "/events/{e}/reminders"),
]


@pytest.mark.parametrize(("method", "url"), PAGES)
def test_anonymous_is_sent_to_login(client, schedule_world, method, url):  # noqa: F811
    response = getattr(client, method)(url.format(e=schedule_world.event.id), data={})
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


@pytest.mark.parametrize(("method", "url"), PAGES)
def test_a_member_is_refused(client, login, schedule_world, method, url):  # noqa: F811
    login(schedule_world.owner)
    response = getattr(client, method)(url.format(e=schedule_world.event.id), data={})
    assert response.status_code == 403


@pytest.mark.parametrize(("method", "url"), PAGES)
def test_the_organiser_may(client, login, busy, method, url):
    login(busy.organiser)
    response = getattr(client, method)(url.format(e=busy.event.id), data={})
    if method == "post":  # a POST that names no group is told so
        assert response.status_code == 400
        assert "Bitte wählen Sie, wer die Erinnerung bekommt." in response.get_data(as_text=True)
    else:
        assert response.status_code == 200


def test_unknown_lists_and_events_are_404_and_a_bad_group_400(client, login, busy):
    login(busy.organiser)
    assert client.get(f"/events/{busy.event.id}/dashboard/secrets.csv").status_code == 404
    assert client.get("/events/999999/dashboard").status_code == 404
    response = client.get(f"/events/{busy.event.id}/reminders?audience=everyone")
    assert response.status_code == 400
    assert "Bitte wählen Sie, wer die Erinnerung bekommt." in response.get_data(as_text=True)


def test_the_event_page_links_to_the_dashboard(client, login, busy):
    login(busy.organiser)
    page = client.get(f"/events/{busy.event.id}").get_data(as_text=True)
    assert f'href="/events/{busy.event.id}/dashboard"' in page
    client.post("/account/logout")
    login(busy.owner)
    page = client.get(f"/events/{busy.event.id}").get_data(as_text=True)
    assert "/dashboard" not in page


# -- figures ---------------------------------------------------------------------------------


def text_of(page: str, element_id: str) -> str:
    """Return the text inside the element with this id (tags removed, spaces collapsed)."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(dd|p|table|ul|tr)>', page, re.S)
    assert match, element_id
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def distribution(page: str) -> list[tuple[str, str]]:
    """Return the (meetings, participants) rows of the distribution table."""
    row = r'<tr><th scope="row" class="number">(\d+)</th><td class="number">(\d+)</td>'
    return re.findall(row, page)


def test_dashboard_counts_sides_requests_wishes_meetings_and_attendance(client, login, waiting):
    w = waiting
    login(w.organiser)
    client.post(f"/attendees/{attendee_id(w, MUELLER)}/attendance", data={"action": "checkin"})
    client.post(f"/attendees/{attendee_id(w, PUMPS)}/attendance", data={"action": "checkin"})
    client.post(f"/attendees/{attendee_id(w, KREIS)}/attendance", data={"action": "noshow"})
    page = client.get(f"/events/{w.event.id}/dashboard").get_data(as_text=True)

    # SMEs: four confirmed, one waiting (five registered); startups: three confirmed
    assert text_of(page, "side-sme") == "KMU 5 4 1 4"
    assert text_of(page, "side-startup") == "Startups 3 3 0 3"
    assert text_of(page, "requests-sent") == "4"
    assert text_of(page, "requests-accepted") == "1"
    assert text_of(page, "requests-declined") == "1"
    assert text_of(page, "requests-pending") == "1"
    assert text_of(page, "requests-withdrawn") == "1"
    assert text_of(page, "wishes-must-meet") == "2"
    assert text_of(page, "wishes-not-interested") == "1"

    # counted in the published version 1, not in the newer draft
    assert text_of(page, "counted-version") == "Gezählt in der veröffentlichten Version 1."
    rows = distribution(page)
    # 0 meetings: Möbelwerk, Kreis, VisionCheck; 1: Stadtwerke, RechnungsKI; 2: Müller, Pumps
    assert rows == [("0", "3"), ("1", "2"), ("2", "2")]
    assert text_of(page, "without-meeting") == f"KMU: {KREIS} KMU: {MOEBEL} Startup: {VISION}"
    # sent no request: RechnungsKI (withdrawn only) and everybody else but Müller and Stadtwerke
    assert text_of(page, "without-request") == (
        f"KMU: {KREIS} KMU: {MOEBEL} Startup: {PUMPS} Startup: {RECHNUNG} Startup: {VISION}"
    )
    assert text_of(page, "checked-in").startswith("2 von 7 Personen")
    assert text_of(page, "no-show-count") == "1"
    assert text_of(page, "no-shows") == "Person sme 3 (Kreisverwaltung Cottbus)"
    assert text_of(page, "last-reminders").count("noch nicht erinnert") == 2


def test_an_organisation_with_two_registrations_counts_once(client, login, busy, make_profile):
    # a colleague registered on her own (the demo has such pairs): one more seat, the same
    # organisation; an SME with one registration confirmed and one waiting is registered once
    colleague = [("Kollegin", "k@mueller.example")]
    registrations.register(busy.event.id, busy.profiles[MUELLER], colleague)
    registrations.change_capacity(busy.event, 9)
    crowd = make_profile(kind="sme", name="Große Werke AG")
    registrations.register(busy.event.id, crowd, [("Person 1", "gross1@werke.example")])
    registrations.register(busy.event.id, crowd, [("Person 2", "gross2@werke.example")])
    db.session.commit()
    login(busy.organiser)
    page = client.get(f"/events/{busy.event.id}/dashboard").get_data(as_text=True)
    # SMEs: Müller, Stadtwerke, Kreis, Möbel and Große Werke registered; Große Werke waits too
    assert text_of(page, "side-sme") == "KMU 5 5 1 6"


def test_before_the_first_build_nobody_has_a_meeting(client, login, schedule_world):  # noqa: F811
    login(schedule_world.organiser)
    page = client.get(f"/events/{schedule_world.event.id}/dashboard").get_data(as_text=True)
    assert text_of(page, "counted-version") == "Noch kein Terminplan: niemand hat einen Termin."
    assert distribution(page) == [("0", "7")]


def test_without_a_published_version_the_draft_is_counted(client, login, schedule_world):  # noqa: F811
    add_version(schedule_world, 1, DRAFT, [(KREIS, VISION)])
    login(schedule_world.organiser)
    page = client.get(f"/events/{schedule_world.event.id}/dashboard").get_data(as_text=True)
    assert "Entwurf Version 1" in text_of(page, "counted-version")
    rows = distribution(page)
    assert rows == [("0", "5"), ("1", "2")]


def test_the_lists_download_as_csv_with_german_headers(client, login, waiting, make_profile):
    w = waiting
    login(w.organiser)
    client.post(f"/attendees/{attendee_id(w, PUMPS)}/attendance", data={"action": "checkin"})
    client.post(f"/attendees/{attendee_id(w, KREIS)}/attendance", data={"action": "noshow"})
    base = f"/events/{w.event.id}/dashboard"

    participants = read_csv(client.get(f"{base}/participants.csv"))
    assert participants[0] == [
        "Organisation",
        "Seite",
        "Teilnehmende",
        "E-Mail",
        "Gesendete Terminanfragen",
        "Termine",
        "Eingecheckt",
        "Nicht erschienen",
    ]
    by_name = {row[0]: row for row in participants[1:]}
    assert set(by_name) == {MUELLER, STADTWERKE, MOEBEL, KREIS, RECHNUNG, PUMPS, VISION}
    assert by_name[MUELLER][:4] == [MUELLER, "KMU", "Jörg Müller", "sme0@teilnehmer.example"]
    assert by_name[MUELLER][4:] == ["2", "2", "0", "0"]
    assert by_name[PUMPS][4:] == ["0", "2", "1", "0"]
    assert by_name[KREIS][4:] == ["0", "0", "0", "1"]

    without = read_csv(client.get(f"{base}/without-meeting.csv"))
    assert [row[0] for row in without[1:]] == [KREIS, MOEBEL, VISION]
    no_request = read_csv(client.get(f"{base}/without-request.csv"))
    assert [row[0] for row in no_request[1:]] == [KREIS, MOEBEL, PUMPS, RECHNUNG, VISION]

    no_shows = read_csv(client.get(f"{base}/no-shows.csv"))
    assert no_shows == [
        ["Name", "E-Mail", "Organisation", "Seite", "Eingecheckt um"],
        ["Person sme 3", "sme3@teilnehmer.example", KREIS, "KMU", ""],
    ]
    checked_in = read_csv(client.get(f"{base}/checked-in.csv"))
    assert [row[:4] for row in checked_in[1:]] == [
        ["Person startup 1", "startup1@teilnehmer.example", PUMPS, "Startup"]
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", checked_in[1][4])

    # English headers in the English interface
    client.post("/language/en")
    english = read_csv(client.get(f"{base}/no-shows.csv"))
    assert english[0] == ["Name", "E-mail", "Organisation", "Side", "Checked in at"]
    assert english[1][3] == "SME"


def test_csv_cells_cannot_run_formulas(client, login, busy, make_profile):
    hostile = make_profile(kind="startup", name='=HYPERLINK("http://evil.example","klick")')
    registrations.register(busy.event.id, hostile, [("@SUMME(A1)", "evil@example.de")])
    db.session.commit()
    login(busy.organiser)
    rows = read_csv(client.get(f"/events/{busy.event.id}/dashboard/without-meeting.csv"))
    hostile_row = next(row for row in rows if "HYPERLINK" in row[0])
    assert hostile_row[0].startswith("'=") and hostile_row[2] == "'@SUMME(A1)"


def count_queries(app, client, url: str) -> int:
    """Count the SQL statements one request runs."""
    statements = []

    def before(*_args):
        statements.append(1)

    engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", before)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa_event.remove(engine, "before_cursor_execute", before)
    return len(statements)


def test_the_dashboard_runs_the_same_queries_for_more_participants(
    app, client, login, busy, make_profile
):
    login(busy.organiser)
    url = f"/events/{busy.event.id}/dashboard"
    csv_url = f"/events/{busy.event.id}/dashboard/participants.csv"
    preview_url = f"/events/{busy.event.id}/reminders?audience=no_meeting"
    before = [count_queries(app, client, u) for u in (url, csv_url, preview_url)]
    for number in range(12):
        profile = make_profile(kind="startup" if number % 2 else "sme", name=f"Neu {number}")
        registrations.register(
            busy.event.id, profile, [(f"Neu {number}", f"neu{number}@example.de")]
        )
        db.session.add(
            MeetingRequest(
                event_id=busy.event.id, from_profile_id=profile.id, to_profile_id=busy.pid(VISION)
            )
        )
        db.session.add(
            Attendee(
                registration_id=registration_of(busy, profile.id),
                event_id=busy.event.id,
                name=f"Zweite Person {number}",
                email=f"zweite{number}@example.de",
                email_key=f"zweite{number}@example.de",
                no_show=True,
            )
        )
    db.session.commit()
    after = [count_queries(app, client, u) for u in (url, csv_url, preview_url)]
    assert after == before


# -- reminders -------------------------------------------------------------------------------


def preview(client, event_id: int, audience: str, again: bool = False) -> tuple[str, str]:
    """Open a reminder preview; return the page and its confirmation token."""
    url = f"/events/{event_id}/reminders?audience={audience}" + ("&again=1" if again else "")
    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    token = re.search(r'name="confirmed" type="hidden" value="([^"]+)"', page).group(1)
    return page, token


def recipient_names(page: str) -> list[str]:
    """Return the participants the preview's table names."""
    table = re.search(r'<table id="recipients".*?</table>', page, re.S)
    if table is None:
        return []
    cells = r'<tr><td data-label="Teilnehmende Organisation">([^<]+)</td>'
    return re.findall(cells, table.group(0))


def reminder_mails() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "reminder").order_by(OutboxMessage.id)
        )
    )


def confirm(client, event_id: int, audience: str, token: str, again: bool = False):
    data = {"audience": audience, "confirmed": token}
    if again:
        data["again"] = "y"
    return client.post(f"/events/{event_id}/reminders", data=data)


def test_the_preview_names_exactly_the_group(client, login, busy):
    login(busy.organiser)
    page, _token = preview(client, busy.event.id, "no_request")
    assert recipient_names(page) == [KREIS, MOEBEL, PUMPS, RECHNUNG, VISION]
    assert "5 teilnehmende Organisationen bekommen die Erinnerung" in page
    assert "Person sme 3 &lt;sme3@teilnehmer.example&gt;" in page
    page, _token = preview(client, busy.event.id, "no_meeting")
    assert recipient_names(page) == [KREIS, MOEBEL, VISION]
    assert "(3 E-Mails)" in page
    assert reminder_mails() == []  # looking sends nothing


def test_reminder_links_name_the_organisers_site_and_unsent_mails_are_counted(
    app, client, login, busy, run_jobs
):
    # The organiser works on https://ki-tag.example; the job that writes the e-mails runs in the
    # worker, which has no request of its own. Without a mail server nothing is sent yet.
    app.config["SERVER_NAME"] = None  # as in production: the host is the request's
    site, to_site = "https://ki-tag.example", client.open
    client.open = lambda *args, **kwargs: to_site(*args, base_url=site, **kwargs)
    login(busy.organiser)
    _page, token = preview(client, busy.event.id, "no_meeting")
    response = confirm(client, busy.event.id, "no_meeting", token)
    run_jobs()

    mails = reminder_mails()
    assert len(mails) == 3
    for mail in mails:
        assert "https://ki-tag.example/profiles/" in mail.body, mail.body
        assert f"https://ki-tag.example/events/{busy.event.id}" in mail.body
        assert "localhost" not in mail.body
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "E-Mails gesendet: 0; noch nicht gesendet (sie bleiben im Postausgang): 3." in page


def test_confirming_sends_once_records_it_and_leaves_the_reminded_out(
    client, login, busy, run_jobs
):
    w = busy
    login(w.organiser)
    _page, token = preview(client, w.event.id, "no_meeting")
    response = confirm(client, w.event.id, "no_meeting", token)
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    assert reminder_mails() == []  # nothing is sent inside the request
    second = confirm(client, w.event.id, "no_meeting", token)  # a double click
    assert second.headers["Location"] == response.headers["Location"]
    run_jobs()

    mails = reminder_mails()
    assert sorted(m.to_address for m in mails) == [
        "sme2@teilnehmer.example",
        "sme3@teilnehmer.example",
        "startup2@teilnehmer.example",
    ]
    job = db.session.scalar(select(Job).where(Job.kind == "reminders"))
    assert job.status == FINISHED
    assert job.result["organisations"] == 3 and job.result["emails"] == 3
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 teilnehmende Organisationen wurden erinnert." in page
    assert db.session.scalar(select(func.count()).select_from(ReminderSent)) == 3
    audit = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "scheduling.reminders_sent")
    )
    assert audit.user_email == w.organiser.email
    assert audit.details["audience"] == "no_meeting" and audit.details["emails"] == 3

    # the same confirmation again is stale: nothing more is sent
    third = confirm(client, w.event.id, "no_meeting", token)
    assert third.status_code == 200
    assert "hat sich inzwischen geändert" in third.get_data(as_text=True)
    run_jobs()
    assert len(reminder_mails()) == 3

    # the dashboard shows when; the next preview leaves the reminded out
    dashboard = client.get(f"/events/{w.event.id}/dashboard").get_data(as_text=True)
    assert "zuletzt erinnert am" in text_of(dashboard, "last-reminders")
    page, token = preview(client, w.event.id, "no_meeting")
    assert recipient_names(page) == []
    assert "Niemand in dieser Gruppe braucht jetzt eine Erinnerung" in page
    assert "Yes" not in page and "E-Mails senden" not in page
    assert re.findall(r"<li>([^<]+)</li>", text_block(page, "recently-reminded")) == [
        KREIS,
        MOEBEL,
        VISION,
    ]
    # the other group is not affected
    page, _token = preview(client, w.event.id, "no_request")
    assert len(recipient_names(page)) == 5

    # only an explicit second confirmation reminds them again
    page, token = preview(client, w.event.id, "no_meeting", again=True)
    assert recipient_names(page) == [KREIS, MOEBEL, VISION]
    assert confirm(client, w.event.id, "no_meeting", token, again=True).status_code == 302
    run_jobs()
    assert len(reminder_mails()) == 6


def text_block(page: str, element_id: str) -> str:
    match = re.search(rf'<section id="{element_id}".*?</section>', page, re.S)
    assert match, element_id
    return match.group(0)


def test_after_the_repeat_window_they_are_reminded_again(client, login, busy, run_jobs):
    login(busy.organiser)
    _page, token = preview(client, busy.event.id, "no_request")
    confirm(client, busy.event.id, "no_request", token)
    run_jobs()
    for sent in db.session.scalars(select(ReminderSent)):
        sent.sent_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    page, _token = preview(client, busy.event.id, "no_request")
    assert len(recipient_names(page)) == 5


def test_a_group_that_changed_before_the_job_ran_is_not_reminded(client, login, busy, run_jobs):
    login(busy.organiser)
    _page, token = preview(client, busy.event.id, "no_meeting")
    assert confirm(client, busy.event.id, "no_meeting", token).status_code == 302
    # Kreisverwaltung gets a meeting in a new published version before the worker starts
    for version in db.session.scalars(select(ScheduleVersion)):
        version.status = "superseded"
    db.session.commit()
    add_version(busy, 3, PUBLISHED, [(KREIS, VISION)])
    run_jobs()
    job = db.session.scalar(select(Job).where(Job.kind == "reminders"))
    assert job.status == FAILED and "hat sich inzwischen geändert" in job.error
    assert reminder_mails() == []
    assert db.session.scalar(select(func.count()).select_from(ReminderSent)) == 0


def test_the_reminder_is_german_or_in_the_language_the_recipient_chose(
    client, login, busy, run_jobs, make_user
):
    # Predictive Pumps' person has an account that chose English
    english = make_user(email="startup1@teilnehmer.example", name="Pumps")
    english.locale = "en"
    db.session.commit()
    login(busy.organiser)
    client.post("/language/en")  # the organiser's screen language does not matter
    _page, token = preview(client, busy.event.id, "no_request")
    confirm(client, busy.event.id, "no_request", token)
    run_jobs()
    mails = {m.to_address: m for m in reminder_mails()}
    german = mails["sme3@teilnehmer.example"]
    assert german.subject == "Wen möchten Sie bei KI-Tag Lausitz Test treffen?"
    assert german.body.startswith("Guten Tag Person sme 3,")
    assert "noch niemanden um einen Termin gebeten" in german.body
    assert "Mit freundlichen Grüßen" in german.body
    pumps = mails["startup1@teilnehmer.example"]
    assert pumps.subject == "Who would you like to meet at KI-Tag Lausitz Test?"
    assert "have not asked anyone for a meeting yet" in pumps.body
