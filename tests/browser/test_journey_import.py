"""Journey: an organiser imports a German Excel CSV: preview with an error, fix, confirm."""

import pytest
from sqlalchemy import select

from matchmaker.accounts.services import create_user
from matchmaker.directory.models import Profile
from matchmaker.extensions import db

pytestmark = pytest.mark.browser
PASSWORD = "veranstaltung-123"
HEADER = "kind;id;name;city;tags;needs;offering\r\n"
GOOD_ROWS = (
    "sme;lk-1;Bäckerei Müller;Görlitz;;Eingangsrechnungen und Belege von Hand prüfen.;\r\n"
    "startup;lk-2;BelegKI Weißwasser;Cottbus;OCR, DATEV;;KI liest Belege aus.\r\n"
)


@pytest.fixture
def organiser(live_app):
    with live_app.app_context():
        create_user("orga@ki-tag.example", "Orga", PASSWORD, organiser=True)
        db.session.commit()
    return "orga@ki-tag.example"


def test_import_preview_and_confirm(page, live_app, organiser, tmp_path, assert_accessible):
    bad = tmp_path / "profile-fehler.csv"
    bad.write_bytes((HEADER + GOOD_ROWS + "sme;lk-3;;Forst;;Text;\r\n").encode("cp1252"))
    good = tmp_path / "profile.csv"
    good.write_bytes((HEADER + GOOD_ROWS).encode("cp1252"))

    page.goto("/account/login")
    page.get_by_label("E-Mail-Adresse", exact=True).fill(organiser)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_text("Sie sind angemeldet.").wait_for()
    page.goto("/directory")
    page.get_by_role("link", name="Profile importieren").click()
    page.get_by_label("Datei", exact=True).wait_for()
    assert_accessible(page)

    page.get_by_label("Datei", exact=True).set_input_files(str(bad))
    page.get_by_role("button", name="Vorschau anzeigen").click()
    page.get_by_text("1 Zeile ist fehlerhaft; nichts wird importiert.").wait_for()
    assert page.get_by_role("cell", name="„name“ fehlt.").is_visible()
    assert page.get_by_role("button", name="Jetzt importieren").count() == 0
    assert_accessible(page)
    page.screenshot(path=str(tmp_path / "import-errors.png"), full_page=True)

    page.get_by_role("link", name="Andere Datei hochladen").click()
    page.get_by_label("Datei", exact=True).set_input_files(str(good))
    page.get_by_role("button", name="Vorschau anzeigen").click()
    page.get_by_text("2 neue Profile").wait_for()
    assert page.get_by_role("cell", name="BelegKI Weißwasser").is_visible()
    assert_accessible(page)
    page.screenshot(path=str(tmp_path / "import-preview.png"), full_page=True)
    page.get_by_role("button", name="Jetzt importieren").click()
    # the import is a job: as the other journeys' jobs, it may wait for a busy machine's worker
    page.locator("#job[data-status=finished]").wait_for(timeout=120_000)
    page.get_by_text("Import abgeschlossen: 2 neu, 0 aktualisiert.").wait_for()

    with live_app.app_context():
        names = db.session.scalars(select(Profile.name).order_by(Profile.name)).all()
    assert names == ["BelegKI Weißwasser", "Bäckerei Müller"]
