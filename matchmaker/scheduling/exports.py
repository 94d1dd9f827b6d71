"""Exports of a schedule: CSV of all meetings, iCalendar per participant, PDF of the agendas.

The PDF is rendered by WeasyPrint from the print page's HTML, whose CSS is inline. The URL
fetcher serves only the app's own static files and refuses everything else, so rendering never
reaches the network.
"""

import io
import mimetypes
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from datetime import UTC
from functools import partial
from itertools import chain
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from icalendar import Calendar
from icalendar import Event as CalendarEvent
from pypdf import PdfReader, PdfWriter
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from matchmaker.core.clock import local_zone, utcnow
from matchmaker.core.safe_csv import csv_document
from matchmaker.directory.models import Profile
from matchmaker.events.models import Event
from matchmaker.events.programme import slot_times
from matchmaker.scheduling import queries
from matchmaker.scheduling.agendas import agenda, request_senders, why_line
from matchmaker.scheduling.models import ScheduleVersion
from matchmaker.scheduling.publishing import PublishPreview
from matchmaker.scheduling.reminders import ReminderPreview

#: Base URL of the HTML handed to WeasyPrint; only ``/static/`` below it is ever served.
PDF_BASE_URL = "http://matchmaker.invalid/"
CSV_COLUMNS = (
    "version",
    "slot",
    "start",
    "end",
    "table",
    "organisation_a",
    "kind_a",
    "organisation_b",
    "kind_b",
    "score",
    "origin",
    "locked",
    "why",
)


def meetings_csv(event: Event, version: ScheduleVersion) -> str:
    """Return every meeting of a version as CSV (UTF-8 with BOM for spreadsheet programs)."""
    times = slot_times(event)
    senders = request_senders(event.id)
    return csv_document(
        CSV_COLUMNS,
        (
            [
                version.number,
                m.slot,
                times[m.slot - 1][0].strftime("%H:%M"),
                times[m.slot - 1][1].strftime("%H:%M"),
                event.table_label(m.table),
                m.profile_a.name,
                m.profile_a.kind,
                m.profile_b.name,
                m.profile_b.kind,
                round(m.score, 4),
                m.origin,
                "yes" if m.locked else "",
                why_line(m, senders=senders),
            ]
            for m in sorted(version.meetings, key=lambda m: (m.slot, m.table))
        ),
    )


def agenda_ics(event: Event, version: ScheduleVersion, profile: Profile) -> bytes:
    """Return a participant's meetings as an iCalendar file with Europe/Berlin times."""
    zone = local_zone()
    calendar = Calendar()
    calendar.add("prodid", "-//Matchmaker//Networking schedule//DE")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{event.title} – {profile.name}")
    stamp = utcnow()
    for row in agenda(event, version, profile.id):
        if row.meeting is None:
            continue
        item = CalendarEvent()
        uid = f"event-{event.id}-meeting-{row.meeting.key}-profile-{profile.id}@matchmaker"
        item.add("uid", uid)
        item.add("dtstamp", stamp)
        item.add("dtstart", row.start.replace(tzinfo=zone))
        item.add("dtend", row.end.replace(tzinfo=zone))
        item.add("summary", _("Meeting with %(name)s", name=row.partner.name))
        item.add("location", f"{event.venue} – " + event.table_title(row.meeting.table))
        item.add("description", row.why)
        # A new version with the same meeting updates the entry instead of duplicating it.
        item.add("sequence", version.number)
        calendar.add_component(item)
    calendar.add_missing_timezones()
    return calendar.to_ical()


class StaticOnlyFetcher(URLFetcher):
    """Serve the app's static files to WeasyPrint; refuse every other URL."""

    def __init__(self, static_folder: str) -> None:
        super().__init__(allowed_protocols=("http",), allow_redirects=False)
        self.static_folder = Path(static_folder).resolve()

    def fetch(self, url, headers=None):
        """Return a static file of the app, or raise for anything else."""
        if not url.startswith(PDF_BASE_URL + "static/"):
            raise ValueError(f"refusing to fetch {url}: only the app's static files")
        relative = urlsplit(url).path.removeprefix("/static/")
        path = (self.static_folder / relative).resolve()
        if not path.is_file() or self.static_folder not in path.parents:
            raise ValueError(f"no static file {relative}")
        mime, _encoding = mimetypes.guess_type(path.name)
        return URLFetcherResponse(
            url, path.read_bytes(), {"Content-Type": mime or "application/octet-stream"}
        )


def html_to_pdf(html: str) -> bytes:
    """Render print-ready HTML to PDF without touching the network."""
    return _render(current_app.static_folder, html)


def _render(static_folder: str, html: str) -> bytes:
    fetcher = StaticOnlyFetcher(static_folder)
    return HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=fetcher).write_pdf()


def _side(kind: str) -> str:
    return _("SME") if kind == "sme" else _("Startup")


def _people(contacts: list[tuple[str, str]]) -> tuple[str, str]:
    return "; ".join(n for n, _e in contacts), "; ".join(e for _n, e in contacts)


def _participant_csv(rows: list[queries.ParticipantRow], event: Event) -> str:
    contacts = queries.contacts_of(event)
    header = [
        _("Organisation"),
        _("Side"),
        _("Attendees"),
        _("E-mail"),
        _("Meeting requests sent"),
        _("Meetings"),
        _("Checked in"),
        _("No-shows"),
    ]
    return csv_document(
        header,
        (
            [
                row.name,
                _side(row.kind),
                *_people(contacts.get(row.profile_id, [])),
                row.requests_sent,
                row.meetings,
                row.checked_in,
                row.no_shows,
            ]
            for row in rows
        ),
    )


def _attendee_csv(rows: list[queries.AttendeeRow]) -> str:
    header = [_("Name"), _("E-mail"), _("Organisation"), _("Side"), _("Checked in at")]
    zone = local_zone()
    return csv_document(
        header,
        (
            [
                row.name,
                row.email,
                row.organisation,
                _side(row.kind),
                _local(row.checked_in_at, zone),
            ]
            for row in rows
        ),
    )


def publish_recipients_csv(preview: PublishPreview) -> str:
    """Return everybody a publication would e-mail, with their addresses, as CSV."""
    return csv_document(
        [_("Organisation"), _("E-mail")],
        ([r.name, "; ".join(r.addresses)] for r in preview.recipients),
    )


def reminder_recipients_csv(preview: ReminderPreview) -> str:
    """Return everybody a reminder would reach, with the people who get it, as CSV."""
    return csv_document(
        [_("Organisation"), _("Side"), _("Attendees"), _("E-mail")],
        ([r.name, _side(r.kind), *_people(list(r.people))] for r in preview.recipients),
    )


def _local(moment, zone) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite returns timezone-aware columns naive (in UTC)
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


#: The dashboard's lists, each downloadable as CSV (the name is the file's and the URL's).
DASHBOARD_LISTS = ("participants", "without-meeting", "without-request", "no-shows", "checked-in")


def dashboard_csv(event: Event, name: str) -> str:
    """Return one of the dashboard's lists as CSV, headers in the current language."""
    if name == "no-shows":
        return _attendee_csv(queries.attendee_rows(event, no_show=True))
    if name == "checked-in":
        return _attendee_csv(queries.attendee_rows(event, checked_in=True))
    rows = queries.participant_rows(event, queries.counted_version(event))
    if name == "without-meeting":
        rows = queries.without_meeting(rows)
    elif name == "without-request":
        rows = queries.without_request(rows)
    return _participant_csv(rows, event)


def htmls_to_pdf(documents: Iterable[str], *, processes: int = 1) -> bytes:
    """Render print-ready HTML documents into one PDF, their pages in order.

    WeasyPrint lays out a whole document in memory; thousands of agendas in one document take
    gigabytes and slow down with the size. Rendered in parts and joined, the pages are the same
    and memory stays at a few parts'. With ``processes`` > 1 that many parts are laid out at
    once in forked processes (WeasyPrint uses one core). One document alone is rendered
    directly.
    """
    documents = iter(documents)
    first = next(documents, None)
    if first is None:
        return b""
    second = next(documents, None)
    if second is None:
        return html_to_pdf(first)
    static_folder = current_app.static_folder
    writer = PdfWriter()
    info = None
    with ExitStack() as stack:
        if processes > 1:
            context = multiprocessing.get_context("fork")
            pool = stack.enter_context(ProcessPoolExecutor(processes, mp_context=context))
            render = partial(pool.submit, _render, static_folder)
        else:
            render = partial(_Done, _render, static_folder)
        pending: deque = deque()
        for html in chain((first, second), documents):
            pending.append(render(html))
            # At most two parts per process in flight: memory stays bounded.
            if len(pending) >= 2 * processes:
                info = _join(writer, pending.popleft().result(), info)
        while pending:
            info = _join(writer, pending.popleft().result(), info)
    # The first part's document information (title, producer) stands for the whole.
    writer.add_metadata(dict(info or {}))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class _Done:
    """A part rendered at once, in this process (looks like a finished future)."""

    def __init__(self, function: Callable[..., bytes], *args) -> None:
        self.value = function(*args)

    def result(self) -> bytes:
        return self.value


def _join(writer: PdfWriter, pdf: bytes, info):
    part = PdfReader(io.BytesIO(pdf))
    writer.append(part)
    return part.metadata if info is None else info
