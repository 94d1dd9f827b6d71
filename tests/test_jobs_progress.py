"""Job pages update live, builds report the solver's progress, old jobs and their files go.

The jobs run on the real Redis through an RQ burst worker in this process (as in test_jobs.py).
"""

import re
from datetime import timedelta

import pytest
from fixtures_events import (
    event_data,
    schedule_world,  # noqa: F401 (fixture)
)
from sqlalchemy import func, select, update

from matchmaker.core.clock import utcnow
from matchmaker.core.security import CONTENT_SECURITY_POLICY
from matchmaker.events import registrations
from matchmaker.extensions import db
from matchmaker.jobs import services, tasks
from matchmaker.jobs.models import CANCELLED, FAILED, FINISHED, Job, JobFile
from matchmaker.scheduling import building
from matchmaker.scheduling.solver import Progress


@pytest.fixture
def world(schedule_world, login):  # noqa: F811 (the imported fixture)
    """The small schedule event with the organiser logged in (German, the default)."""
    login(schedule_world.organiser)
    return schedule_world


def only_job() -> Job:
    db.session.expire_all()
    (job,) = db.session.scalars(select(Job)).all()
    return job


def test_the_job_page_updates_live_from_its_status_document(client, world, run_jobs):
    location = client.post(f"/events/{world.event.id}/schedule/build").headers["Location"]
    response = client.get(location)
    page = response.get_data(as_text=True)
    # With JavaScript: the page's own script (the CSP forbids inline scripts) polls the status;
    # without: the refresh inside <noscript> reloads the page.
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert '<script src="/static/js/job_progress.js" defer></script>' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # no inline script
    assert re.search(r'<noscript><meta http-equiv="refresh" content="\d+"></noscript>', page)
    status_url = re.search(r'data-status-url="([^"]+)"', page).group(1)
    script = client.get("/static/js/job_progress.js")
    code, source = script.status_code, script.data
    script.close()
    assert code == 200 and b'getAttribute("data-status-url")' in source  # the URL is the page's

    waiting = client.get(status_url)
    assert waiting.status_code == 200 and waiting.headers["Cache-Control"] == "no-store"
    assert waiting.get_json() == {
        "id": only_job().id,
        "status": "queued",
        "active": True,
        "progress": 0,
        "step": "queued",
        "step_label": "Warten auf einen freien Worker",
        "detail": "",
        "error": "",
    }
    run_jobs()
    done = client.get(status_url).get_json()
    assert done["status"] == FINISHED and done["active"] is False and done["progress"] == 100
    finished_page = client.get(location).get_data(as_text=True)
    assert "job_progress.js" not in finished_page and "http-equiv" not in finished_page


@pytest.mark.parametrize("who, code", [("owner", 403), (None, 302)])
def test_the_status_document_is_for_organisers_only(app, world, run_jobs, login, who, code):
    organiser = app.test_client()
    organiser.post(
        "/account/login", data={"email": world.organiser.email, "password": "geheimes-passwort"}
    )
    location = organiser.post(f"/events/{world.event.id}/schedule/build").headers["Location"]
    other = app.test_client()
    if who:
        other.post(
            "/account/login", data={"email": world.owner.email, "password": "geheimes-passwort"}
        )
    response = other.get(f"{location}/status.json")
    assert response.status_code == code
    assert b"queued" not in response.data
    assert app.test_client().get("/jobs/999999/status.json").status_code == 302
    assert organiser.get("/jobs/999999/status.json").status_code == 404


def test_a_build_reports_the_solvers_phase_and_best_schedule(client, world, run_jobs):
    location = client.post(f"/events/{world.event.id}/schedule/build").headers["Location"]
    run_jobs()
    job = only_job()
    assert job.status == FINISHED
    # The last report the solver made before the draft was written: its final phase and the
    # best schedule, which is the one stored.
    assert job.detail["phase"] == "done"
    assert job.detail["placed"] == job.result["placed"] > 0
    assert job.detail["holes"] >= 0 and job.detail["score"] > 0
    assert client.get(location).status_code == 200


def test_progress_is_written_per_phase_and_throttled_within_one(world):
    job = Job(rq_id="progress", kind="build", event_id=world.event.id, status="running")
    db.session.add(job)
    db.session.commit()
    writer = tasks.SolverProgress(job.id, interval=3600)
    for phase, placed in (("construct", 3), ("construct", 4), ("select", 5), ("select", 6)):
        writer(Progress(phase, 1.0, 4.0, placed, 10.0, 0))
    db.session.expire_all()
    # one write per phase within the interval: the first report of each phase
    assert db.session.get(Job, job.id).detail["placed"] == 5
    assert services.detail_label(db.session.get(Job, job.id)) == (
        "Phase: die besten Treffen auswählen. Bisher bestes Ergebnis: 5 Treffen, "
        "Punktzahl 10,0, 0 Lücken."
    )
    db.session.execute(update(Job).where(Job.id == job.id).values(status=CANCELLED))
    db.session.commit()
    with pytest.raises(services.JobCancelled):  # a cancelled build stops at its next report
        writer(Progress("holes", 2.0, 4.0, 6, 10.0, 0))


def ended_job(event_id: int, status: str, days_ago: float, with_file: bool) -> int:
    job = Job(
        rq_id=f"old-{status}-{days_ago}",
        kind="agendas_pdf",
        event_id=event_id,
        status=status,
        step=status,
        finished_at=utcnow() - timedelta(days=days_ago),
    )
    db.session.add(job)
    db.session.flush()
    if with_file:
        db.session.add(
            JobFile(job_id=job.id, filename="a.pdf", mimetype="application/pdf", data=b"%PDF")
        )
    db.session.commit()
    return job.id


def test_cleanup_prunes_ended_jobs_and_their_files_after_the_retention(app, world, runner):
    app.config["JOBS_RETENTION_DAYS"] = 30
    event_id = world.event.id
    old = [
        ended_job(event_id, FINISHED, 31, True),
        ended_job(event_id, FAILED, 45, False),
        ended_job(event_id, CANCELLED, 400, False),
    ]
    recent = ended_job(event_id, FINISHED, 29, True)
    running = Job(rq_id="running", kind="build", event_id=event_id, status="running")
    db.session.add(running)
    db.session.commit()
    running_id = running.id
    result = runner.invoke(args=["jobs", "cleanup"])
    assert result.exit_code == 0, result.output
    assert "3 job(s) ended more than 30 day(s) ago deleted with 1 file(s)." in result.output
    db.session.expire_all()
    left = set(db.session.scalars(select(Job.id)))
    assert not left & set(old) and {recent, running_id} <= left
    assert db.session.scalar(select(func.count()).select_from(JobFile)) == 1
    # the option overrides the setting
    result = runner.invoke(args=["jobs", "cleanup", "--older-than-days", "7"])
    assert "1 job(s) ended more than 7 day(s) ago deleted with 1 file(s)." in result.output
    assert db.session.scalar(select(func.count()).select_from(JobFile)) == 0


def test_the_workers_maintenance_prunes_too(app, world):
    app.config["JOBS_RETENTION_DAYS"] = 1
    ended_job(world.event.id, FINISHED, 2, True)
    assert services.housekeeping() == {"jobs_pruned": 1, "files_pruned": 1, "notices_composed": 0}


def test_deleting_a_participant_deletes_the_agenda_pdfs_of_their_event(
    client, world, run_jobs, login
):
    building.build(world.event, world.organiser)
    db.session.commit()
    location = client.post(f"/events/{world.event.id}/schedule/agendas.pdf").headers["Location"]
    run_jobs()
    assert db.session.scalar(select(JobFile.job_id)) == only_job().id
    # another event's file, without the member, stays
    elsewhere = registrations.create_event(event_data(title="Anderswo"))
    db.session.commit()
    kept = ended_job(elsewhere.id, FINISHED, 0, True)

    client.post("/account/logout")
    login(world.owner)
    response = client.post(
        "/account/delete", data={"password": "geheimes-passwort", "confirm": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert [f.job_id for f in db.session.scalars(select(JobFile))] == [kept]

    login(world.organiser)
    assert client.get(f"{location}/download").status_code == 404
    page = client.get(location).get_data(as_text=True)
    assert "Die Datei wurde gelöscht" in page
