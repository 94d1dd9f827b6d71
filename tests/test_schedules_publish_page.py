"""The publish and reminder confirmations at a trade fair: capped lists, CSV of everybody.

The events here are written in bulk (no solver run): one with a draft only (the first
publication e-mails everybody), one with a published version and a draft in which some
meetings changed tables.
"""

import csv
import io
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from fixtures_events import event_data
from sql_statements import statements_of

from matchmaker.core.clock import utcnow
from matchmaker.directory.models import Profile
from matchmaker.events import registrations
from matchmaker.events.models import CONFIRMED, Attendee, Registration
from matchmaker.extensions import db
from matchmaker.mail.models import OutboxMessage
from matchmaker.scheduling.models import (
    DRAFT,
    NO_REQUEST,
    PUBLISHED,
    ReminderSent,
    ScheduleMeeting,
    ScheduleVersion,
)
from matchmaker.scheduling.problem import meeting_key

LISTED = 100  # rows a confirmation page lists
TOKEN_RE = re.compile(r'name="confirmed" type="hidden" value="([^"]+)"')
ROW_RE = re.compile(r"<tr><td[^>]*>([^<]+)</td>")
# Names in mixed case, so the page's order (by name, ignoring case) is not the ids'.
PREFIXES = ("alpha", "Beta", "gamma", "Delta")


@dataclass
class Fair:
    """An event of ``size`` organisations (half SMEs), each holding one or two seats."""

    event_id: int
    ids: list[int]
    names: dict[int, str]
    emails: dict[int, list[str]]
    #: listed in the problem, registration cancelled: reached at the profile's contact address
    seatless: int

    def by_name(self, ids) -> list[str]:
        """Return the names of ``ids`` in the confirmation page's order."""
        return [self.names[i] for i in sorted(ids, key=lambda i: (self.names[i].casefold(), i))]


def make_fair(size: int, title: str, *, republish: bool) -> Fair:
    """Write an event with its schedule versions in bulk; return what the tests compare."""
    event = registrations.create_event(
        event_data(
            title=title,
            capacity=size * 2,
            slot_count=4,
            morning_slots=2,
            breaks=[],
            table_count=size,
            max_meetings=4,
        )
    )
    stamp = f"{title[:4].lower()}{event.id}"
    names = [f"{PREFIXES[i % 4]} {title} {size - i:04d}" for i in range(size + 1)]
    rows = [{"kind": "sme" if i % 2 else "startup", "name": name} for i, name in enumerate(names)]
    rows[-1]["contact_email"] = f"kontakt-{stamp}@ohne-sitz.example"
    db.session.execute(sa.insert(Profile), rows)
    ids = list(
        db.session.scalars(
            sa.select(Profile.id).where(Profile.name.in_(names)).order_by(Profile.id)
        )
    )
    *seated, seatless = ids
    db.session.execute(
        sa.insert(Registration),
        [
            {
                "event_id": event.id,
                "profile_id": pid,
                "status": CONFIRMED,
                "seq": n + 1,
                "priority": n + 1,
                "confirmed_at": utcnow(),
            }
            for n, pid in enumerate(seated)
        ],
    )
    event.last_seq = len(seated)
    seats = db.session.execute(
        sa.select(Registration.profile_id, Registration.id).where(Registration.event_id == event.id)
    ).all()
    emails = {pid: [f"p{pid}-{k}@{stamp}.example" for k in range(1 + pid % 2)] for pid in seated}
    db.session.execute(
        sa.insert(Attendee),
        [
            {
                "registration_id": registration_id,
                "event_id": event.id,
                "name": f"Person {email}",
                "email": email,
                "email_key": email,
            }
            for pid, registration_id in seats
            for email in emails[pid]
        ],
    )
    emails[seatless] = [rows[-1]["contact_email"]]
    smes, startups = seated[1::2], seated[0::2]
    pairs = len(smes)
    placed = [
        (smes[i], startups[(i + slot) % pairs], slot, i + 1)
        for slot in (1, 2)
        for i in range(pairs)
    ]
    problem = {
        "slots": 4,
        "tables": size,
        "participants": [{"id": f"p{pid}", "unavailable": []} for pid in ids],
        "meetings": [
            {"id": meeting_key(a, b), "a": f"p{a}", "b": f"p{b}", "score": 0.5}
            for a, b, _slot, _table in placed
        ],
    }
    if republish:
        add_version(event.id, 1, PUBLISHED, problem, placed)
        # The first two pairs of slot 1 swap their tables: those four participants changed.
        (a, b, s, t), (c, d, _s, u) = placed[0], placed[1]
        placed = [(a, b, s, u), (c, d, s, t), *placed[2:]]
        add_version(event.id, 2, DRAFT, problem, placed)
    else:
        add_version(event.id, 1, DRAFT, problem, placed)
    db.session.commit()
    return Fair(event.id, ids, dict(zip(ids, names, strict=True)), emails, seatless)


def add_version(event_id: int, number: int, status: str, problem: dict, placed) -> None:
    """Insert a version with its meetings."""
    version = ScheduleVersion(event_id=event_id, number=number, status=status, problem=problem)
    version.published_at = utcnow() if status == PUBLISHED else None
    db.session.add(version)
    db.session.flush()
    db.session.execute(
        sa.insert(ScheduleMeeting),
        [
            {
                "version_id": version.id,
                "key": meeting_key(a, b),
                "profile_a_id": a,
                "profile_b_id": b,
                "slot": slot,
                "table": table,
            }
            for a, b, slot, table in placed
        ],
    )


@pytest.fixture
def organiser(make_user, login):
    """Log an organiser in (German, the site's language)."""
    user = make_user(email="orga@messe.example", organiser=True)
    login(user)
    return user


def listed_names(page: str) -> list[str]:
    """Return the names in the page's recipients table, in order."""
    table = re.search(r'<table id="recipients"[^>]*>(.*?)</table>', page, re.S).group(1)
    return ROW_RE.findall(table)


def csv_rows(response) -> list[list[str]]:
    """Return the rows of a CSV download below its header."""
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))[1:]


def test_the_first_publication_lists_100_by_name_and_the_csv_everybody(app, client, organiser):
    fair = make_fair(130, "Erstmesse", republish=False)
    url = f"/events/{fair.event_id}/schedule/publish"
    page = client.get(url).get_data(as_text=True)
    assert "Eine E-Mail geht an 131 Teilnehmende" in page
    assert listed_names(page) == fair.by_name(fair.ids)[:LISTED]
    assert "… und 31 weitere: siehe CSV-Datei." in page
    assert f'href="{url}/recipients.csv"' in page

    rows = csv_rows(client.get(f"{url}/recipients.csv"))
    assert [name for name, _addresses in rows] == fair.by_name(fair.ids)
    addresses = {name: set(cell.split("; ")) for name, cell in rows}
    assert addresses == {fair.names[pid]: set(fair.emails[pid]) for pid in fair.ids}
    # the one without a seat is reached at the profile's contact address
    assert addresses[fair.names[fair.seatless]] == {fair.emails[fair.seatless][0]}


def test_a_short_list_has_no_remainder(app, client, organiser):
    fair = make_fair(100, "Kleinmesse", republish=True)
    page = client.get(f"/events/{fair.event_id}/schedule/publish").get_data(as_text=True)
    assert "Eine E-Mail geht an 4 Teilnehmende" in page
    assert len(listed_names(page)) == 4
    assert "more-rows" not in page
    assert "recipients.csv" in page


def test_the_publish_mails_exactly_the_previewed_recipients(app, client, organiser, job):
    fair = make_fair(140, "Zweitmesse", republish=True)
    url = f"/events/{fair.event_id}/schedule/publish"
    page = client.get(url).get_data(as_text=True)
    assert "Eine E-Mail geht an 4 Teilnehmende" in page
    rows = csv_rows(client.get(f"{url}/recipients.csv"))
    previewed = {address for _name, cell in rows for address in cell.split("; ")}
    assert len(rows) == 4 and len(previewed) >= 4

    done = job(url, {"confirmed": TOKEN_RE.search(page).group(1)})
    assert "Version 2 ist veröffentlicht; 4 Teilnehmende wurden benachrichtigt" in done, done
    mails = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "schedule"))
    assert sorted(m.to_address for m in mails) == sorted(previewed)
    assert (
        db.session.scalar(
            sa.select(ScheduleVersion.status).where(
                ScheduleVersion.event_id == fair.event_id, ScheduleVersion.number == 2
            )
        )
        == PUBLISHED
    )


def test_the_first_publication_mails_everybody_listed(app, client, organiser, job):
    fair = make_fair(110, "Dritte Messe", republish=False)
    url = f"/events/{fair.event_id}/schedule/publish"
    page = client.get(url).get_data(as_text=True)
    rows = csv_rows(client.get(f"{url}/recipients.csv"))
    previewed = sorted(address for _name, cell in rows for address in cell.split("; "))
    job(url, {"confirmed": TOKEN_RE.search(page).group(1)})
    mails = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "schedule"))
    assert sorted(m.to_address for m in mails) == previewed
    assert len(rows) == len(fair.ids)


def test_a_stale_confirmation_is_refused_and_publishes_nothing(app, client, organiser, job):
    fair = make_fair(120, "Vierte Messe", republish=True)
    url = f"/events/{fair.event_id}/schedule/publish"
    token = TOKEN_RE.search(client.get(url).get_data(as_text=True)).group(1)
    # Another pair's meeting (table 10 of slot 1) moves to a free slot: two more get an e-mail.
    moved = db.session.scalars(
        sa.select(ScheduleMeeting)
        .join(ScheduleVersion)
        .where(
            ScheduleVersion.event_id == fair.event_id,
            ScheduleVersion.number == 2,
            ScheduleMeeting.slot == 1,
            ScheduleMeeting.table == 10,
        )
    ).one()
    moved.slot = 4
    db.session.commit()
    stale = client.post(url, data={"confirmed": token})
    assert stale.status_code == 200
    page = stale.get_data(as_text=True)
    assert "Der Entwurf hat sich inzwischen geändert" in page, page
    assert "Eine E-Mail geht an 6 Teilnehmende" in page
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    assert (
        db.session.scalar(
            sa.select(ScheduleVersion.status).where(
                ScheduleVersion.event_id == fair.event_id, ScheduleVersion.number == 2
            )
        )
        == DRAFT
    )


@pytest.mark.parametrize(
    "path",
    [
        "/events/{event}/schedule/publish",
        "/events/{event}/reminders?audience=no_request",
    ],
)
def test_the_statements_do_not_grow_with_the_participants(app, client, organiser, path):
    small = make_fair(12, "Kleine Messe", republish=False)
    large = make_fair(150, "Große Messe", republish=False)
    counts = []
    for fair in (small, large):
        url = path.format(event=fair.event_id)
        page, listing = statements_of(client, url), statements_of(client, csv_url(url))
        counts.append((len(page), len(listing)))
    assert counts[0] == counts[1], counts


def test_the_republication_page_reads_a_fixed_number_of_statements(app, client, organiser):
    small = make_fair(12, "Kleine Messe", republish=True)
    large = make_fair(150, "Große Messe", republish=True)
    counts = [
        len(statements_of(client, f"/events/{fair.event_id}/schedule/publish"))
        for fair in (small, large)
    ]
    assert counts[0] == counts[1], counts


def csv_url(page_url: str) -> str:
    """Return the CSV download of a confirmation page's URL."""
    path, _, query = page_url.partition("?")
    return f"{path}/recipients.csv" + (f"?{query}" if query else "")


def test_the_reminder_page_lists_100_and_the_csv_everybody(app, client, organiser):
    fair = make_fair(130, "Erinnerungsmesse", republish=False)
    url = f"/events/{fair.event_id}/reminders?audience=no_request"
    page = client.get(url).get_data(as_text=True)
    seated = [pid for pid in fair.ids if pid != fair.seatless]
    assert "130 teilnehmende Organisationen bekommen die Erinnerung" in page
    assert listed_names(page) == fair.by_name(seated)[:LISTED]
    assert "… und 30 weitere: siehe CSV-Datei." in page
    link = f"/events/{fair.event_id}/reminders/recipients.csv?audience=no_request"
    assert f'href="{link}"' in page

    rows = csv_rows(client.get(link))
    assert [row[0] for row in rows] == fair.by_name(seated)
    assert {row[0]: set(row[3].split("; ")) for row in rows} == {
        fair.names[pid]: set(fair.emails[pid]) for pid in seated
    }


def test_an_unknown_reminder_group_is_a_clear_400(app, client, organiser):
    fair = make_fair(12, "Fehlermesse", republish=False)
    response = client.get(f"/events/{fair.event_id}/reminders/recipients.csv?audience=alle")
    assert response.status_code == 400
    assert "Bitte wählen Sie, wer die Erinnerung bekommt." in response.get_data(as_text=True)


def test_the_csv_without_a_draft_goes_back_to_the_schedule(app, client, organiser):
    fair = make_fair(12, "Leermesse", republish=True)
    db.session.execute(
        sa.update(ScheduleVersion)
        .where(ScheduleVersion.event_id == fair.event_id, ScheduleVersion.number == 2)
        .values(status=PUBLISHED)
    )
    db.session.commit()
    response = client.get(f"/events/{fair.event_id}/schedule/publish/recipients.csv")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/events/{fair.event_id}/schedule")


@pytest.mark.parametrize(
    "path",
    ["/events/{event}/schedule/publish/recipients.csv", "/events/{event}/reminders/recipients.csv"],
)
def test_only_organisers_download_the_recipients(app, client, make_user, login, path):
    fair = make_fair(12, "Geheime Messe", republish=False)
    url = path.format(event=fair.event_id)
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    login(make_user(email="mitglied@messe.example"))
    member = client.get(url)
    assert member.status_code == 403
    assert "@" not in member.get_data(as_text=True)


def test_the_recently_reminded_are_listed_up_to_100(app, client, organiser):
    fair = make_fair(130, "Wiedermesse", republish=False)
    seated = [pid for pid in fair.ids if pid != fair.seatless]
    db.session.execute(
        sa.insert(ReminderSent),
        [
            {
                "event_id": fair.event_id,
                "profile_id": pid,
                "audience": NO_REQUEST,
                "sent_at": utcnow(),
            }
            for pid in seated
        ],
    )
    db.session.commit()
    page = client.get(f"/events/{fair.event_id}/reminders?audience=no_request")
    section = re.search(
        r'<section id="recently-reminded".*?</section>', page.get_data(as_text=True), re.S
    ).group(0)
    assert re.findall(r"<li>([^<]+)</li>", section) == fair.by_name(seated)[:LISTED]
    assert "… und 30 weitere." in section
    assert "recipients.csv" not in section
