"""Every CSV download: complete files, and no formulas for spreadsheet programs (OWASP)."""

import csv
import io
import threading
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from fixtures_events import schedule_world  # noqa: F401 (fixture)
from sqlalchemy import select
from werkzeug.serving import make_server

from matchmaker.accounts.services import create_user
from matchmaker.core.safe_csv import csv_document, restore_cell
from matchmaker.directory import services as directory
from matchmaker.directory.models import Profile
from matchmaker.events.models import Attendee, Registration
from matchmaker.extensions import db
from matchmaker.scheduling import building

EVIL = '=HYPERLINK("http://evil.example","klick")'
DEFUSED = "'" + EVIL


def read(response) -> list[dict]:
    """Parse a CSV download (UTF-8 with BOM) into rows."""
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.fixture
def hostile(schedule_world, client, login):  # noqa: F811 (the imported fixture)
    """The small event with a built schedule; one SME and one attendee named like a formula."""
    w = schedule_world
    version = building.build(w.event, w.organiser)
    profile = db.session.get(Profile, w.pid("Bäckerei Müller GmbH"))  # build ends the session
    directory.update_profile(profile, {"name": EVIL})
    attendee = db.session.scalar(
        select(Attendee).join(Registration).where(Registration.profile_id == profile.id)
    )
    attendee.name = EVIL
    db.session.commit()
    login(w.organiser)
    return w, version


def test_directory_export_defuses_formulas(client, hostile):
    rows = read(client.get("/directory/export.csv"))
    assert DEFUSED in [r["name"] for r in rows]
    assert EVIL not in [r["name"] for r in rows]


def test_attendee_export_defuses_formulas(client, hostile):
    w, _version = hostile
    rows = read(client.get(f"/events/{w.event.id}/attendees.csv"))
    assert {r["name"] for r in rows if r["organisation"] == DEFUSED} == {DEFUSED}
    assert EVIL not in {r["name"] for r in rows} | {r["organisation"] for r in rows}


def test_meetings_export_defuses_formulas(client, hostile):
    w, version = hostile
    rows = read(client.get(f"/events/{w.event.id}/schedule/meetings.csv"))
    names = {r["organisation_a"] for r in rows} | {r["organisation_b"] for r in rows}
    assert DEFUSED in names and EVIL not in names
    assert len(rows) == len(version.meetings)
    assert all(float(r["score"]) >= 0 for r in rows)  # scores are numbers, not defused text


def test_match_overview_export_defuses_formulas(client, hostile):
    rows = read(client.get("/organiser/matches.csv?threshold=0.01"))
    assert DEFUSED in {r["sme"] for r in rows}
    assert EVIL not in {r["sme"] for r in rows}
    assert all(not r["score"].startswith("'") for r in rows)


def test_every_formula_start_is_defused_and_numbers_stay_numbers():
    cells = ["=1+2", "+49 355 1234", "-2", "@SUM(A1)", "\tx", "\rx", "Müller", "", -0.25, -3, 7]
    text = csv_document(["cell"] * len(cells), [cells])
    row = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))[1]
    assert row == [
        *["'=1+2", "'+49 355 1234", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "Müller", ""],
        *["-0.25", "-3", "7"],
    ]
    assert [restore_cell(c) for c in row[:8]] == [str(c) for c in cells[:8]]
    assert restore_cell("'Hallo") == "'Hallo"  # only the apostrophe this writer added


def organiser_and_profiles(app, names: list[str], tags: list[str]) -> None:
    """Create the organiser orga@example.de and one profile per name, SMEs and startups."""
    with app.app_context():
        create_user("orga@example.de", "Orga", "geheimes-passwort", organiser=True)
        for number, name in enumerate(names):
            directory.create_profile(
                "sme" if number % 2 else "startup",
                {
                    "name": name,
                    "city": "Cottbus",
                    "description": "Wir suchen KI für unsere Eingangsrechnungen.",
                    "language": "de",
                    "tags": tags,
                    "categories": [],
                },
                None,
            )
        db.session.commit()


def test_directory_export_streams_every_profile(app_factory):
    """The whole file arrives when the rows are read after the view returned (no app context)."""
    app = app_factory()
    organiser_and_profiles(
        app, [f"Firma {n:03d} Müller" for n in range(150)], ["Rechnung", "DATEV"]
    )
    client = app.test_client()
    response = client.post(
        "/account/login", data={"email": "orga@example.de", "password": "geheimes-passwort"}
    )
    assert response.status_code == 302
    rows = read(client.get("/directory/export.csv"))
    assert sorted(r["name"] for r in rows) == [f"Firma {n:03d} Müller" for n in range(150)]
    assert {r["tags"] for r in rows} == {"Rechnung;DATEV"}


def test_directory_export_arrives_whole_from_a_real_server(app_factory, tmp_path):
    """A real WSGI server reads the rows after the request's context was torn down.

    The download is audited after the view returned (a commit that expires what the view
    loaded), and the server iterates the response only then: the rows must still be readable.
    """
    app = app_factory(SERVER_NAME=None)
    organiser_and_profiles(app, [f"Firma {n:03d}" for n in range(30)], ["Rechnung"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        form = {"email": "orga@example.de", "password": "geheimes-passwort"}
        with browser.open(f"{base}/account/login", urllib.parse.urlencode(form).encode()) as login:
            assert not login.url.endswith("/account/login")  # logged in and sent on
        with browser.open(f"{base}/directory/export.csv") as response:
            status, text = response.status, response.read().decode("utf-8")
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert sorted(r["name"] for r in rows) == [f"Firma {n:03d}" for n in range(30)]
