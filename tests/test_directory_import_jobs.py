"""Large imports run as jobs: same idempotent result as the synchronous import, German row errors.

The browser's confirmation always queues an import job; the command line hands files of more
than ``IMPORT_JOB_ROWS`` rows to one.
"""

import re
from pathlib import Path

import pytest
from conftest import RequestIsolatingClient, base_config, clone_database
from sqlalchemy import func, select
from test_directory_import_web import GOOD, upload

from matchmaker.app import create_app
from matchmaker.directory import importing
from matchmaker.directory.exporting import profiles_document
from matchmaker.directory.models import Profile, StagedImport
from matchmaker.extensions import db
from matchmaker.jobs.models import FAILED, FINISHED, Job
from matchmaker.jobs.worker import work

DEV_FILE = Path(__file__).resolve().parent / "data" / "matching-dev.json"


def import_jobs() -> list[Job]:
    db.session.expire_all()
    return list(db.session.scalars(select(Job).where(Job.kind == "import").order_by(Job.id)))


@pytest.fixture
def second_database(database_template, tmp_path):
    """Another empty database made from the same template, with an app on it."""
    uri, drop = clone_database(database_template, tmp_path)
    application = create_app(base_config(uri))
    application.test_client_class = RequestIsolatingClient
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def test_a_large_command_line_import_runs_as_a_job_with_the_same_result(app, second_database):
    synchronous = app.test_cli_runner().invoke(args=["import-profiles", str(DEV_FILE)])
    assert "Importiert: 70 neu, 0 aktualisiert." in synchronous.output
    assert not import_jobs()  # 70 rows: below IMPORT_JOB_ROWS, written in the command
    expected = profiles_document()

    second_database.config["IMPORT_JOB_ROWS"] = 50
    runner = second_database.test_cli_runner()
    with second_database.app_context():
        for created, updated in ((70, 0), (0, 70)):  # the second run updates: idempotent
            queued = runner.invoke(args=["import-profiles", str(DEV_FILE), "--no-wait"])
            assert queued.exit_code == 0, queued.output
            assert re.search(r"70 Zeilen: Importauftrag \d+ ist eingereiht", queued.output)
            assert db.session.scalar(select(func.count()).select_from(Profile)) == 70 - created
            work(second_database, burst=True, in_process=True)
            job = import_jobs()[-1]
            assert job.status == FINISHED and job.progress == 100
            assert job.result == {"created": created, "updated": updated, "errors": []}
            assert job.requested_by_id is None
            assert profiles_document() == expected
        assert db.session.scalar(select(func.count()).select_from(StagedImport)) == 0


def test_the_browser_import_job_reports_rows_that_became_invalid_in_german(
    client, login, make_user, make_profile, run_jobs
):
    login(make_user(organiser=True))
    preview_url = upload(client, GOOD).headers["Location"]
    job_url = client.post(preview_url).headers["Location"]
    # between the confirmation and the job, a startup takes the id of the file's SME
    make_profile(kind="startup", external_ref="w-1", name="Schneller")
    run_jobs()
    page = client.get(job_url).get_data(as_text=True)
    (row,) = import_jobs()
    assert row.status == FAILED
    assert "1 fehlerhafte Zeile; nichts wurde importiert." in page
    assert "Zeile 2 (w-1): Ein Profil der anderen Art hat bereits diese id." in page
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 1  # nothing written


def test_a_second_click_follows_the_running_import(client, login, make_user, run_jobs):
    login(make_user(organiser=True))
    preview_url = upload(client, GOOD).headers["Location"]
    first = client.post(preview_url)
    second = client.post(preview_url)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(import_jobs()) == 1
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Profile importieren" in page and "Warten auf einen freien Worker" in page
    run_jobs()
    assert "Import abgeschlossen: 2 neu, 0 aktualisiert." in client.get(
        first.headers["Location"]
    ).get_data(as_text=True)
    assert client.post(preview_url).status_code == 404  # the staged file is used up


def test_the_import_reports_its_progress(app):
    calls = []
    importing.import_profiles(
        DEV_FILE.read_bytes(), DEV_FILE.name, progress=lambda *step: calls.append(step)
    )
    assert calls == [("validating", 0, 70), ("importing", 0, 70)]
    db.session.rollback()
