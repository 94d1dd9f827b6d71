"""Two app processes and one worker on loopback, one database and one Redis.

A build started through one app shows its progress and its outcome on the other: the job's
state is in the database, not in any process. The job is held mid-work by a lock the test
takes (see ``test_jobs_worker.py``), so what the other app shows is not a race.

The machine may be busy (other test runs on the same cores): every wait is for a state (an
app answering, the job waiting for the lock, the job finished) with a deadline that only turns
a hang into a failure, and nothing checked depends on how fast the processes ran.
"""

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from csrf_forms import csrf_token
from fixtures_events import schedule_world  # noqa: F401 (fixture)
from live_processes import free_port, start_gunicorn, start_worker, stop_worker
from test_jobs_worker import versions, wait_for, writes_held

from matchmaker.extensions import db
from matchmaker.jobs.models import Job

PASSWORD = "geheimes-passwort"
# Deadline of every wait and request: starting three processes and a build on two busy cores
# can take minutes; a hang still fails the test.
PATIENCE = 300.0


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self) -> None:
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), self._NoRedirect()
        )

    def open(self, url: str, data: dict | None = None) -> tuple[int, str, str]:
        """Return status, Location header and body."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(url, body, timeout=PATIENCE) as response:
                return response.status, "", response.read().decode()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers.get("Location", ""), answer.read().decode()


def healthy(base: str) -> bool:
    try:
        # S310: the URL is our own loopback server over http
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def hosts(app, schedule_world, tmp_path):  # noqa: F811 (the imported fixture)
    """Start two gunicorn apps and one worker on the test's database and queue."""
    db.session.commit()
    processes, bases = [], []
    for name in ("a", "b"):
        port = free_port()
        processes.append(start_gunicorn(app, port, tmp_path / f"app-{name}.log"))
        bases.append(f"http://127.0.0.1:{port}")
    for base in bases:
        wait_for(lambda base=base: healthy(base), f"the app at {base}", PATIENCE)

    def worker() -> None:
        processes.append(start_worker(app, tmp_path / "worker.log", SCHEDULE_TIME_LIMIT=5))

    yield bases, worker
    for process in processes:
        stop_worker(process)


def progress(page: str) -> tuple[str, int, str]:
    """Return status, percentage and step shown on a job page."""
    status = re.search(r'data-status="(\w+)"', page).group(1)
    value = int(re.search(r'<progress id="job-progress" max="100" value="(\d+)"', page).group(1))
    step = re.search(r'id="job-step">([^<]*)<', page).group(1)
    return status, value, step


def test_a_build_started_on_one_app_shows_its_progress_on_the_other(
    app,
    schedule_world,  # noqa: F811 (the imported fixture)
    hosts,
):
    (a, b), start_the_worker = hosts
    browser = Browser()  # one browser; a load balancer would send its requests anywhere
    _status, _location, page = browser.open(f"{a}/account/login")
    login = {"email": schedule_world.organiser.email, "password": PASSWORD}
    status, _location, _page = browser.open(
        f"{a}/account/login", {**login, "csrf_token": csrf_token(page)}
    )
    assert status == 302
    _status, _location, page = browser.open(f"{a}/events/{schedule_world.event.id}/schedule")
    token = csrf_token(page)

    status, location, _page = browser.open(
        f"{a}/events/{schedule_world.event.id}/schedule/build", {"csrf_token": token}
    )
    assert status == 302 and "/jobs/" in location
    job_path = urllib.parse.urlsplit(location).path
    on_sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    with writes_held(app) as build_waits:
        if on_sqlite:
            # One writer: held, the job could not even start. The worker starts once the lock
            # is gone: its writes would wait only for its busy timeout (10 s), which a slow
            # machine can exceed while this block's requests are answered.
            expected = ("queued", 0, "Warten auf einen freien Worker")
        else:
            start_the_worker()
            # The job runs up to its final write (the new draft) and waits there; its last
            # progress, written by the solver, grows with the seconds the solver took.
            wait_for(build_waits, "the build to wait for its write", PATIENCE)
            db.session.expire_all()
            job = db.session.get(Job, int(job_path.rsplit("/", 1)[1]))
            assert 10 <= job.progress <= 95 and job.step == "solving"
            expected = ("running", job.progress, "Zeitplan wird optimiert")
        assert progress(browser.open(f"{b}{job_path}")[2]) == expected
        # A second build through the other app is refused while this one runs.
        status, location, _page = browser.open(
            f"{b}/events/{schedule_world.event.id}/schedule/build", {"csrf_token": token}
        )
        assert status == 302 and urllib.parse.urlsplit(location).path == job_path
    if on_sqlite:
        start_the_worker()
    done = wait_for(
        lambda: (shown := progress(browser.open(f"{b}{job_path}")[2]))[0] == "finished" and shown,
        "app b to show the finished job",
        PATIENCE,
    )
    assert done[1:] == (100, "Fertig")
    assert "Entwurf 1:" in browser.open(f"{a}{job_path}")[2]
    assert versions() == 1
