"""Jobs: schedule work runs off the request path, one build per event, progress, cancel, failures.

The jobs run on the real Redis (CI has it) through an RQ burst worker in this process; the
tests that kill workers are in ``test_jobs_worker.py``.
"""

import pytest
from fixtures_events import schedule_world  # noqa: F401 (fixture)
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from test_events_concurrency import run_together

from matchmaker.events import registrations
from matchmaker.extensions import db
from matchmaker.jobs import queue as rq_side
from matchmaker.jobs import services as jobs
from matchmaker.jobs.models import CANCELLED, FAILED, FINISHED, QUEUED, Job, JobFile
from matchmaker.scheduling import building
from matchmaker.scheduling import versions as schedule_versions
from matchmaker.scheduling.models import SchedulePrint, ScheduleVersion


@pytest.fixture
def world(schedule_world, login):  # noqa: F811 (the imported fixture)
    """The small schedule event with the organiser logged in (German, the default)."""
    login(schedule_world.organiser)
    return schedule_world


def job_rows() -> list[Job]:
    db.session.expire_all()
    return list(db.session.scalars(select(Job).order_by(Job.id)))


def versions() -> int:
    return db.session.scalar(select(func.count()).select_from(ScheduleVersion))


def test_build_answers_at_once_and_the_job_page_follows_it_to_the_end(client, world, run_jobs):
    response = client.post(f"/events/{world.event.id}/schedule/build")
    assert response.status_code == 302
    (job,) = job_rows()
    assert response.headers["Location"].endswith(f"/jobs/{job.id}")
    assert job.status == QUEUED and job.kind == "build" and job.requested_by_id
    assert versions() == 0  # nothing was solved inside the request

    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in page  # reloads itself, no JavaScript needed
    assert "Warten auf einen freien Worker" in page
    assert f'action="/jobs/{job.id}/cancel"' in page

    run_jobs()
    (job,) = job_rows()
    assert job.status == FINISHED and job.progress == 100 and job.finished_at
    version = schedule_versions.latest_version(world.event)
    assert job.result == {"version": 1, "placed": version.stats["placed"], "notes": []}
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "http-equiv" not in page and "cancel" not in page
    assert f"Entwurf 1: {version.stats['placed']} Treffen." in page


def statements_of(action) -> list[str]:
    """Run ``action`` and return the first words of every SQL statement it sent."""
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()[:3]))

    sa_event.listen(db.engine, "before_cursor_execute", before)
    try:
        action()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", before)
    return seen


def test_the_build_request_does_nothing_that_grows_with_the_event(client, world, make_profile):
    url = f"/events/{world.event.id}/schedule/build"

    def press() -> list[str]:
        statements = statements_of(lambda: client.post(url))
        (active,) = [j for j in job_rows() if j.status == QUEUED]
        jobs.cancel(active)  # the next press starts a new build again
        db.session.commit()
        return statements

    small = press()
    for n in range(40):  # six times the participants
        registrations.register(
            world.event.id, make_profile(name=f"Neu {n}"), [(f"P {n}", f"neu{n}@example.de")]
        )
    db.session.commit()
    assert press() == small
    # it records and enqueues the job; it reads no participant, profile or wish
    read = " ".join(small)
    assert not any(table in read for table in ("registrations", "attendees", "profiles"))


def test_a_second_build_while_one_is_queued_is_told_so(client, world, run_jobs):
    url = f"/events/{world.event.id}/schedule/build"
    first = client.post(url)
    second = client.post(url)
    assert second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "Für diese Veranstaltung läuft bereits ein Planungsauftrag" in page
    # re-plan and publish share the lane; the PDF has a lane of its own
    client.post(f"/events/{world.event.id}/schedule/reoptimise")
    client.post(f"/events/{world.event.id}/schedule/publish")
    assert len(job_rows()) == 1
    run_jobs()
    assert versions() == 1
    third = client.post(url)  # the lane is free again once the job ended
    assert third.headers["Location"] != first.headers["Location"]
    assert len(job_rows()) == 2


def test_the_database_refuses_a_second_active_job_of_a_lane(world):
    for rq_id in ("a", "b"):
        db.session.add(Job(rq_id=rq_id, kind="build", lane="schedule", event_id=world.event.id))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    # finished jobs and jobs without a lane never collide
    db.session.add(Job(rq_id="c", kind="build", lane="schedule", event_id=world.event.id))
    db.session.add(
        Job(rq_id="d", kind="build", lane="schedule", event_id=world.event.id, status=FINISHED)
    )
    db.session.add(Job(rq_id="e", kind="build", lane=None, event_id=world.event.id))
    db.session.add(Job(rq_id="f", kind="build", lane=None, event_id=world.event.id))
    db.session.commit()


def test_a_double_click_from_many_browsers_makes_one_build(app, world, run_jobs):
    """Concurrent build requests (real threads, one session each): one job, the rest told so."""
    clients = []
    for _ in range(6):
        client = app.test_client()
        response = client.post(
            "/account/login",
            data={"email": world.organiser.email, "password": "geheimes-passwort"},
        )
        assert response.status_code == 302
        clients.append(client)
    url = f"/events/{world.event.id}/schedule/build"
    responses = run_together([lambda c=c: c.post(url) for c in clients])
    assert [r.status_code for r in responses] == [302] * len(clients)
    rows = job_rows()
    assert len(rows) == 1, [(j.status, j.error) for j in rows]
    job = rows[0]
    assert {r.headers["Location"] for r in responses} == {f"/jobs/{job.id}"}
    told = [
        c for c in clients if "läuft bereits" in c.get(f"/jobs/{job.id}").get_data(as_text=True)
    ]
    assert len(told) == len(clients) - 1
    run_jobs()
    assert versions() == 1 and job_rows()[0].status == FINISHED


def test_a_refused_build_fails_with_the_reason_in_the_requesters_language(
    client, app, make_user, login, run_jobs
):
    from test_events_services import event_data

    from matchmaker.events import registrations

    organiser = make_user(organiser=True)
    event = registrations.create_event(
        event_data(title="Leer", slot_count=4, morning_slots=2, breaks=[], max_meetings=3)
    )
    db.session.commit()
    login(organiser)
    location = client.post(f"/events/{event.id}/schedule/build").headers["Location"]
    run_jobs()
    (job,) = job_rows()
    assert job.status == FAILED
    page = client.get(location).get_data(as_text=True)
    assert "fehlgeschlagen" in page
    assert "Für diese Veranstaltung ist noch niemand bestätigt." in page


def test_cancelling_a_queued_job_means_it_never_runs(client, world, run_jobs):
    location = client.post(f"/events/{world.event.id}/schedule/build").headers["Location"]
    response = client.post(f"{location}/cancel")
    assert response.headers["Location"] == location
    page = client.get(location).get_data(as_text=True)
    assert "Der Auftrag wurde abgebrochen" in page
    run_jobs()
    (job,) = job_rows()
    assert job.status == CANCELLED and versions() == 0
    again = client.post(f"{location}/cancel")
    assert "bereits beendet" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_a_job_whose_queue_entry_vanished_is_failed_not_stuck(client, world, monkeypatch):
    location = client.post(f"/events/{world.event.id}/schedule/build").headers["Location"]
    assert len(job_rows()) == 1
    rq_side.queue().delete(delete_jobs=True)  # e.g. Redis restarted without persistence
    monkeypatch.setattr(jobs, "ENQUEUE_GRACE", jobs.ENQUEUE_GRACE * 0)
    page = client.get(location).get_data(as_text=True)
    assert "Der Worker wurde während des Auftrags beendet" in page
    assert job_rows()[0].status == FAILED
    # and the lane is free for a new build
    assert client.post(f"/events/{world.event.id}/schedule/build").headers["Location"] != location


def test_without_redis_the_build_fails_with_a_message_not_a_500(app_factory, schedule_world):  # noqa: F811
    w = schedule_world
    server = app_factory(REDIS_URL="redis://127.0.0.1:1/0")
    client = server.test_client()
    client.post(
        "/account/login", data={"email": w.organiser.email, "password": "geheimes-passwort"}
    )
    response = client.post(f"/events/{w.event.id}/schedule/build")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Die Auftragswarteschlange ist nicht erreichbar" in page
    assert job_rows()[0].status == FAILED


def test_the_agendas_pdf_is_a_job_whose_file_organisers_download(client, world, run_jobs, login):
    building.build(world.event, world.organiser)
    db.session.commit()
    location = client.post(f"/events/{world.event.id}/schedule/agendas.pdf").headers["Location"]
    assert client.get(f"{location}/download").status_code == 404  # not ready yet
    run_jobs()
    (job,) = job_rows()
    stored = db.session.scalar(select(JobFile).where(JobFile.job_id == job.id))
    assert stored.filename == f"event-{world.event.id}-agendas-v1.pdf"
    assert job.result == {"version": 1, "pages": 7}
    assert db.session.scalar(select(func.count()).select_from(SchedulePrint)) == 0
    response = client.get(f"{location}/download")
    assert response.status_code == 200 and response.data == stored.data
    assert response.data.startswith(b"%PDF")
    assert db.session.scalar(select(SchedulePrint.kind)) == "pdf"  # printed when downloaded
    client.post("/account/logout")
    login(world.owner)
    assert client.get(f"{location}/download").status_code == 403
