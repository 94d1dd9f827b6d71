"""Real RQ workers in subprocesses: killed mid-build, a killed work horse, cancel while running.

A job is held in the middle of its work by a lock the test takes (on PostgreSQL the schedule
table, so the build waits at its final write; on SQLite the database, so the job waits at its
first write); then the worker or its horse is killed, or the job is cancelled. Afterwards no
schedule version exists and the job is failed or cancelled, never left running.
"""

import os
import signal
import sqlite3
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from fixtures_events import schedule_world  # noqa: F401 (fixture)
from live_processes import start_worker, stop_worker
from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.jobs import queue as rq_side
from matchmaker.jobs import services as jobs
from matchmaker.jobs.models import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING, Job
from matchmaker.scheduling.models import ScheduleVersion

HEARTBEAT = 1


@pytest.fixture
def world(schedule_world, login):  # noqa: F811 (the imported fixture)
    """The small schedule event with the organiser logged in."""
    login(schedule_world.organiser)
    return schedule_world


def wait_for(condition, what: str, limit: float = 90.0):
    """Poll until condition() is true; the limit only turns a hang into a failure."""
    deadline = time.monotonic() + limit
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def worker(app, tmp_path):
    """Start `flask jobs worker` in a subprocess on the test's database and queue."""
    started = []

    def start():
        log = tmp_path / f"worker{len(started)}.log"
        process = start_worker(
            app,
            log,
            JOBS_HEARTBEAT_SECONDS=HEARTBEAT,
            SCHEDULE_TIME_LIMIT=5,
            SCHEDULE_WORKERS=1,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        stop_worker(process)


def children(pid: int) -> list[int]:
    """Return the ids of a process's children (the work horse of an RQ worker)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextmanager
def writes_held(app, table: str = "schedule_versions"):
    """Hold a lock that stops a job from writing to ``table``; yield 'is a writer waiting?'.

    On SQLite the whole database is held (one writer), so the job waits at its first write.
    """
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database, isolation_level=None, timeout=30)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield lambda: True
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    engine = sa.create_engine(url)
    connection = engine.connect()
    connection.begin()
    connection.execute(sa.text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))

    def writer_waits() -> bool:
        return bool(
            connection.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    " AND relation = CAST(:table AS regclass)"
                ),
                {"table": table},
            )
        )

    try:
        yield writer_waits
    finally:
        connection.rollback()
        connection.close()
        engine.dispose()


def job_row() -> Job:
    db.session.expire_all()
    return db.session.scalar(select(Job).order_by(Job.id.desc()))


def versions() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ScheduleVersion))


def start_build(client, world) -> Job:
    response = client.post(f"/events/{world.event.id}/schedule/build")
    assert response.status_code == 302
    return job_row()


def horse_of(process: subprocess.Popen, job: Job) -> int:
    """Wait until RQ runs the job in a work horse; return the horse's process id."""
    wait_for(
        lambda: (j := rq_side.fetch(job.rq_id)) is not None and j.get_status() == "started",
        "the worker to start the job",
    )
    return wait_for(lambda: (children(process.pid) or [None])[0], "the work horse")


def test_a_worker_killed_mid_build_leaves_nothing_and_its_job_is_given_up(
    app, client, world, worker
):
    job = start_build(client, world)
    with writes_held(app) as build_waits:
        process = worker()
        horse = horse_of(process, job)
        wait_for(build_waits, "the build to wait for its write")
        os.kill(horse, signal.SIGKILL)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        wait_for(lambda: not alive(horse), "the horse to die")
    assert job_row().status in (QUEUED, RUNNING)  # nobody is left to say otherwise
    # While the last heartbeat has not expired, the job may still have a live worker.
    assert jobs.fail_abandoned() == []
    assert job_row().status in (QUEUED, RUNNING)
    later = time.time() + HEARTBEAT + 61  # the heartbeat would have been renewed by now
    assert jobs.fail_abandoned(now=later) == [job.id]
    db.session.commit()
    failed = job_row()
    assert failed.status == FAILED and "Worker" in failed.error
    assert versions() == 0  # nothing half-written
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Der Worker wurde während des Auftrags beendet" in page
    assert "/jobs/" in client.post(f"/events/{world.event.id}/schedule/build").headers["Location"]
    assert job_row().id != job.id  # a new build may start


def test_a_killed_work_horse_is_reported_by_its_worker_at_once(app, client, world, worker):
    job = start_build(client, world)
    with writes_held(app) as build_waits:
        process = worker()
        horse = horse_of(process, job)
        wait_for(build_waits, "the build to wait for its write")
        os.kill(horse, signal.SIGKILL)  # e.g. the kernel's out-of-memory killer
        wait_for(lambda: not alive(horse), "the horse to die")
    failed = wait_for(lambda: (j := job_row()).status == FAILED and j, "the job to be failed")
    assert "Worker" in failed.error
    assert versions() == 0
    assert process.poll() is None  # the worker itself lives on for the next job


def test_cancelling_a_running_build_stops_it_and_saves_nothing(app, client, world, worker):
    job = start_build(client, world)
    process = worker()
    with writes_held(app) as build_waits:
        horse = horse_of(process, job)
        wait_for(build_waits, "the build to wait for its write")
        os.kill(horse, signal.SIGSTOP)  # keep it mid-job once the lock is gone
    response = client.post(f"/jobs/{job.id}/cancel")
    assert response.status_code == 302
    wait_for(lambda: not alive(horse), "RQ to stop the work horse")
    assert job_row().status == CANCELLED
    assert versions() == 0

    # The same worker then builds normally, in a fresh work horse.
    again = start_build(client, world)
    done = wait_for(lambda: (j := job_row()).status in (FINISHED, FAILED) and j, "the build")
    assert done.id == again.id and done.status == FINISHED, done.error
    assert versions() == 1
    page = client.get(f"/jobs/{again.id}").get_data(as_text=True)
    assert f"Entwurf 1: {done.result['placed']} Treffen." in page
