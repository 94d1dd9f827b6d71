"""Profile import in the browser: upload, preview with per-row errors, confirm as a job."""

import io
from datetime import timedelta

import openpyxl
from csrf_forms import csrf_token, log_in_with_csrf
from sqlalchemy import func, select, update

from matchmaker.core.clock import utcnow
from matchmaker.directory.models import Profile, StagedImport
from matchmaker.extensions import db
from matchmaker.jobs.worker import work

GOOD = (
    "kind;id;name;city;categories;tags;needs;offering\r\n"
    "sme;w-1;Bäckerei Müller;Görlitz;bookkeeping;;Rechnungen und Belege prüfen.;\r\n"
    "startup;w-2;BelegKI Weißwasser;Cottbus;bookkeeping, document_processing;OCR, DATEV;;"
    "KI liest Belege.\r\n"
).encode("cp1252")
BAD = (
    "kind;id;name;needs\r\n"
    "sme;b-1;Gute GmbH;Belege prüfen.\r\n"
    "sme;b-2;;Kein Name.\r\n"
    "sme;b-3;Schlechte Zahl;Text;\r\n"
    'sme;b-4;"Offenes Zitat;Text\r\n'
    "sme;b-5;Verschluckt;Text\r\n"
).encode("utf-8-sig")


def upload(client, data: bytes, name: str = "profile.csv", **extra):
    return client.post(
        "/directory/import",
        data={"file": (io.BytesIO(data), name), **extra},
        content_type="multipart/form-data",
    )


def organiser_client(app, login_form=True):
    """Create an organiser on an app without a test app context; return a logged-in client."""
    with app.app_context():
        from matchmaker.accounts.services import create_user

        create_user("orga@example.de", "Orga", "geheimes-passwort", organiser=True)
        db.session.commit()
    client = app.test_client()
    if login_form:
        client.post(
            "/account/login", data={"email": "orga@example.de", "password": "geheimes-passwort"}
        )
    return client


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Profile))


def test_preview_then_confirm_then_reimport_updates(client, login, make_user, job, run_jobs):
    login(make_user(organiser=True))
    form = client.get("/directory/import").get_data(as_text=True)
    assert "Profile importieren" in form and 'enctype="multipart/form-data"' in form
    assert "Höchstens 2 MB." in form
    response = upload(client, GOOD)
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "2 neue Profile" in page and "0 Profile werden aktualisiert" in page
    assert page.count('class="import-row"') == 2
    assert "Bäckerei Müller" in page and "BelegKI Weißwasser" in page
    assert "Jetzt importieren" in page
    assert count() == 0  # the preview writes nothing
    done = job(preview_url)  # the import runs as a job; its page tells the outcome
    assert "Import abgeschlossen: 2 neu, 0 aktualisiert." in done
    db.session.expire_all()
    startup = db.session.scalar(select(Profile).where(Profile.external_ref == "w-2"))
    assert startup.tags == ["OCR", "DATEV"]
    assert [c.code for c in startup.categories] == ["bookkeeping", "document_processing"]
    assert db.session.scalar(select(func.count()).select_from(StagedImport)) == 0
    assert client.get(preview_url).status_code == 404  # used up
    again = client.get(upload(client, GOOD).headers["Location"]).get_data(as_text=True)
    assert "0 neue Profile" in again and "2 Profile werden aktualisiert" in again
    assert again.count(">aktualisieren<") == 2
    client.post(upload(client, GOOD).headers["Location"])
    run_jobs()
    assert count() == 2


def test_preview_lists_german_errors_per_row_and_confirm_writes_nothing(client, login, make_user):
    login(make_user(organiser=True))
    preview_url = upload(client, BAD).headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "3 Zeilen sind fehlerhaft; nichts wird importiert." in page
    assert page.count('class="import-error"') == 3
    assert "<td>3</td><td>b-2</td><td>„name“ fehlt.</td>" in page
    assert "<td>4</td><td>b-3</td><td>5 Spalten statt 4" in page
    assert "<td>5</td><td></td><td>Ein in dieser Zeile geöffnetes Anführungszeichen" in page
    assert "Jetzt importieren" not in page
    response = client.post(preview_url)
    assert response.status_code == 400
    assert "fehlerhaft" in response.get_data(as_text=True)
    assert count() == 0


def test_xlsx_upload(client, login, make_user, job):
    workbook = openpyxl.Workbook()
    workbook.active.append(["id", "name", "kind", "offering", "tags"])
    workbook.active.append(["x-1", "Tabellen GmbH", "startup", "KI für Tabellen.", "Excel;CSV"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    login(make_user(organiser=True))
    preview_url = upload(client, buffer.getvalue(), "liste.xlsx").headers["Location"]
    assert "1 neues Profil" in client.get(preview_url).get_data(as_text=True)
    job(preview_url)
    assert db.session.scalar(select(Profile.tags).where(Profile.external_ref == "x-1")) == [
        "Excel",
        "CSV",
    ]


def test_unreadable_file_and_wrong_type(client, login, make_user):
    login(make_user(organiser=True))
    page = client.get(upload(client, b"PK\x03\x04kaputt", "x.xlsx").headers["Location"])
    assert "Die Excel-Datei kann nicht gelesen werden" in page.get_data(as_text=True)
    wrong = upload(client, b"%PDF-1.4", "profile.pdf")
    assert wrong.status_code == 400
    assert "Nur CSV-, Excel- (.xlsx) oder JSON-Dateien" in wrong.get_data(as_text=True)
    empty = client.post("/directory/import", data={}, content_type="multipart/form-data")
    assert "Bitte wählen Sie eine Datei." in empty.get_data(as_text=True)


def test_too_large_file_gets_a_clear_message(app_factory):
    # below 500 KiB, where the test client would spool the body to a temporary file
    client = organiser_client(app_factory(MAX_CONTENT_LENGTH=300 * 1024))
    response = upload(client, b"id,name\n" + b"x" * (400 * 1024))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Die Datei ist zu groß: höchstens 0,3 MB können importiert werden." in page
    assert 'type="file"' in page


def test_staged_file_belongs_to_its_organiser_and_expires(client, login, make_user):
    first, second = make_user(organiser=True), make_user(organiser=True)
    login(first)
    preview_url = upload(client, GOOD).headers["Location"]
    client.post("/account/logout")
    login(second)
    assert client.get(preview_url).status_code == 404
    assert client.post(preview_url).status_code == 404
    client.post("/account/logout")
    login(first)
    db.session.execute(update(StagedImport).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert client.get(preview_url).status_code == 404
    assert count() == 0
    upload(client, GOOD)  # a new upload clears expired ones
    assert db.session.scalar(select(func.count()).select_from(StagedImport)) == 1


def test_privacy_purge_deletes_expired_uploads(client, login, make_user, runner):
    login(make_user(organiser=True))
    upload(client, GOOD)
    upload(client, BAD, "andere.csv")
    db.session.execute(
        update(StagedImport)
        .where(StagedImport.filename == "profile.csv")
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    result = runner.invoke(args=["privacy", "purge"])
    assert "Expired import uploads deleted: 1." in result.output
    assert db.session.scalars(select(StagedImport.filename)).all() == ["andere.csv"]


def test_confirm_reaches_another_worker(app_factory):
    """The preview state is in the database: a second app instance (worker) confirms it."""
    workers = [app_factory(), app_factory()]
    clients = [organiser_client(workers[0]), workers[1].test_client()]
    clients[1].post(
        "/account/login", data={"email": "orga@example.de", "password": "geheimes-passwort"}
    )
    preview_url = upload(clients[0], GOOD).headers["Location"]
    assert "2 neue Profile" in clients[1].get(preview_url).get_data(as_text=True)
    assert clients[1].post(preview_url).status_code == 302
    with workers[1].app_context():
        work(workers[1], burst=True, in_process=True)  # the queue the confirmation used
    with workers[0].app_context():
        assert count() == 2


def test_both_forms_need_the_csrf_token(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = organiser_client(app, login_form=False)
    log_in_with_csrf(client, "orga@example.de")
    assert upload(client, GOOD).status_code == 400
    token = csrf_token(client.get("/directory/import").get_data(as_text=True))
    response = upload(client, GOOD, csrf_token=token)
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    assert client.post(preview_url).status_code == 400
    token = csrf_token(client.get(preview_url).get_data(as_text=True))
    assert client.post(preview_url, data={"csrf_token": token}).status_code == 302
    with app.app_context():
        work(app, burst=True, in_process=True)
        assert count() == 2


def test_members_may_not_import(client, login, make_user):
    login(make_user())
    assert client.get("/directory/import").status_code == 403
    assert upload(client, GOOD).status_code == 403
    assert count() == 0
