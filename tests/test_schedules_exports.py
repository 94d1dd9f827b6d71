"""Schedules: PDF of all agendas (text with umlauts), iCalendar, CSV and JSON exports."""

import csv
import io
import json
import re
from datetime import datetime

import pytest
from fixtures_events import schedule_world  # noqa: F401 (fixture)
from icalendar import Calendar
from pypdf import PdfReader

from matchmaker.events.programme import slot_times
from matchmaker.extensions import db
from matchmaker.scheduling import building, exports, publishing
from matchmaker.scheduling.exports import CSV_COLUMNS, PDF_BASE_URL, StaticOnlyFetcher
from matchmaker.scheduling.solver import check

MUELLER = "Bäckerei Müller GmbH"


@pytest.fixture
def published(schedule_world, client, login):  # noqa: F811 (the imported fixture)
    """A published schedule of the small event, with the organiser logged in."""
    w = schedule_world
    version = building.build(w.event, w.organiser)
    publishing.publish(w.event, w.organiser)
    db.session.commit()
    login(w.organiser)
    return w, version


def test_pdf_has_one_a4_page_per_participant_with_umlauts(client, published, run_jobs):
    w, version = published
    started = client.post(f"/events/{w.event.id}/schedule/agendas.pdf")
    assert started.status_code == 302 and "/jobs/" in started.headers["Location"]
    run_jobs()
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    download = started.headers["Location"] + "/download"
    assert download in page
    response = client.get(download)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    participants = len(version.problem["participants"])
    assert len(reader.pages) == participants
    width, height = (float(x) for x in reader.pages[0].mediabox[2:])
    assert round(width) == 595 and round(height) == 842  # A4 in points
    # Words only: table cells wrap long names onto several lines.
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    text = "\n".join(pages)
    assert MUELLER in text and "Jörg Müller" in text and "VisionCheck Görlitz" in text
    mueller_page = next(p for p in pages if MUELLER in p)
    partner = next(
        m.partner_of(w.pid(MUELLER)) for m in version.meetings if m.involves(w.pid(MUELLER))
    )
    assert partner.name in mueller_page
    assert "10:00" in text
    # The download is recorded as a print of this version.
    _printed, changes = publishing.changes_since_print(w.event)
    assert _printed.kind == "pdf" and _printed.version_id == version.id and changes == []


def test_pdf_rendering_fetches_nothing_but_static_files(app):
    fetcher = StaticOnlyFetcher(app.static_folder)
    with pytest.raises(ValueError, match="only the app's static files"):
        fetcher.fetch("https://fonts.example.com/font.woff2")
    with pytest.raises(ValueError):
        fetcher.fetch(PDF_BASE_URL + "static/../../etc/passwd")
    response = fetcher.fetch(PDF_BASE_URL + "static/css/print.css")
    assert b"@page" in response.read()


def test_print_pages_are_ready_to_print(client, published):
    w, _version = published
    for kind in ("agendas", "tables", "grid"):
        page = client.get(f"/events/{w.event.id}/schedule/print/{kind}").get_data(as_text=True)
        assert "schedule-print.css" in page and 'class="nav"' not in page
        assert "sheet" in page
    agendas = client.get(f"/events/{w.event.id}/schedule/print/agendas").get_data(as_text=True)
    assert agendas.count('class="sheet agenda-sheet"') == 7
    css = client.get("/schedule-print.css")
    assert css.mimetype == "text/css" and b"break-after: page" in css.data
    assert b"DejaVu Sans" in css.data


def test_ical_parses_back_with_berlin_times(client, login, published):
    w, version = published
    login(w.owner)
    client.post("/language/en")
    response = client.get(f"/events/{w.event.id}/agenda/{w.pid(MUELLER)}.ics")
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    entries = list(calendar.walk("VEVENT"))
    mine = [m for m in version.meetings if m.involves(w.pid(MUELLER))]
    assert len(entries) == len(mine) >= 1
    times = slot_times(w.event)
    for entry in entries:
        start = entry.decoded("dtstart")
        assert isinstance(start, datetime) and str(start.tzinfo) == "Europe/Berlin"
        assert start.replace(tzinfo=None) in [t[0] for t in times]
        assert str(entry["summary"]).startswith("Meeting with ")
    assert next(iter(calendar.walk("VTIMEZONE")))["tzid"] == "Europe/Berlin"


def test_csv_lists_every_meeting(client, published):
    w, version = published
    response = client.get(f"/events/{w.event.id}/schedule/meetings.csv")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(version.meetings)
    names = {r["organisation_a"] for r in rows} | {r["organisation_b"] for r in rows}
    assert MUELLER in names
    assert all(r["start"] < r["end"] for r in rows)


def test_json_is_the_solver_format_and_passes_its_check(client, published):
    w, version = published
    schedule = json.loads(client.get(f"/events/{w.event.id}/schedule/schedule.json").data)
    problem = json.loads(client.get(f"/events/{w.event.id}/schedule/problem.json").data)
    assert {"meetings", "unscheduled", "stats"} <= set(schedule)
    assert len(schedule["meetings"]) == len(version.meetings)
    assert {"slots", "tables", "participants", "meetings"} <= set(problem)
    assert check(problem, schedule) == []


def _texts(reader: PdfReader) -> list[str]:
    """Return each page's text without the minute it was printed (two renders may differ)."""
    return [re.sub(r"(gedruckt am|printed) .*", r"\1", p.extract_text()) for p in reader.pages]


def _pdf_download(client, event_id: int, run_jobs) -> PdfReader:
    started = client.post(f"/events/{event_id}/schedule/agendas.pdf")
    assert started.status_code == 302
    run_jobs()
    response = client.get(started.headers["Location"] + "/download")
    assert response.status_code == 200
    return PdfReader(io.BytesIO(response.data))


@pytest.mark.parametrize("processes", [1, 2])
def test_pdf_in_parts_has_the_pages_and_text_of_the_whole(
    app, client, published, run_jobs, monkeypatch, processes
):
    w, version = published
    whole = _pdf_download(client, w.event.id, run_jobs)
    rendered = []
    render = exports._render

    def counting(static_folder: str, html: str) -> bytes:
        rendered.append(html.count('class="sheet agenda-sheet"'))
        return render(static_folder, html)

    if processes == 1:  # (forked processes are handed the function by name)
        monkeypatch.setattr(exports, "_render", counting)
    app.config.update(PDF_AGENDAS_PER_PART=2, PDF_PROCESSES=processes)
    parts = _pdf_download(client, w.event.id, run_jobs)
    if processes == 1:
        assert rendered == [2, 2, 2, 1]  # WeasyPrint laid out at most two agendas at a time
    assert len(whole.pages) == len(version.problem["participants"]) == len(parts.pages)
    assert _texts(parts) == _texts(whole)
    assert [p.mediabox for p in parts.pages] == [p.mediabox for p in whole.pages]
    assert parts.metadata.title == whole.metadata.title
