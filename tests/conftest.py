"""Shared fixtures: every test gets its own database, migrated from empty.

Set ``TEST_DATABASE_URL`` to a PostgreSQL server URL (any database on it, e.g.
``postgresql://postgres@127.0.0.1:5432/postgres``) to run the suite on PostgreSQL;
otherwise it runs on SQLite. A template database is migrated once per session and
cloned for each test (file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on
PostgreSQL).
"""

import contextlib
import itertools
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade
from redis.exceptions import RedisError

from matchmaker.app import create_app
from matchmaker.config import normalise_database_url
from matchmaker.extensions import db
from matchmaker.jobs import queue as jobs_queue
from matchmaker.matching import artefacts

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
_counter = itertools.count()


def base_config(uri: str) -> dict:
    """Return the configuration every test app starts from."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": uri,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret-key",
        "SERVER_NAME": "localhost",
        # a cheap hash keeps account fixtures fast; production uses scrypt
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # a queue of its own: tests run in parallel against one Redis (and maybe a dev worker)
        "JOBS_QUEUE": f"test-{uuid.uuid4().hex[:12]}",
        # a request that notices a new matching model loads it at once: tests see it at once
        "MATCHING_LOAD_IN_BACKGROUND": False,
        # a refit job fits at once (no wait for more edits)
        "MATCHING_REFIT_DELAY": 0,
        # a compose job writes the registration e-mails at once
        "MAIL_COMPOSE_DELAY": 0,
    }


def _pg_url(database: str) -> str:
    return (
        sa.engine.make_url(normalise_database_url(PG_URL))
        .set(database=database)
        .render_as_string(hide_password=False)
    )


def _pg_admin(statement: str) -> None:
    engine = sa.create_engine(_pg_url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def _migrate(uri: str) -> None:
    app = create_app(base_config(uri))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """Migrate an empty template database once; yield how to clone it."""
    tag = re.sub(r"\W", "", os.environ.get("PYTEST_XDIST_WORKER", "main"))
    if PG_URL:
        name = f"mm_tpl_{tag}_{uuid.uuid4().hex[:8]}"
        _pg_admin(f'CREATE DATABASE "{name}"')
        _migrate(_pg_url(name))
        yield ("postgresql", name)
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        _migrate(f"sqlite:///{path}")
        yield ("sqlite", path)


def clone_database(template, directory) -> tuple[str, object]:
    """Copy a template database; return its URI and a function that drops the copy."""
    kind, source = template
    if kind == "postgresql":
        # a random suffix: this module may be imported twice (as conftest and as
        # tests.conftest), each with its own counter
        name = f"{source}_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        return _pg_url(name), lambda: _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    target = directory / f"db{uuid.uuid4().hex[:10]}.db"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}", lambda: None


def template_from_uri(kind: str, uri: str):
    """Turn a database made from the template into a template of its own."""
    if kind == "postgresql":
        return ("postgresql", sa.engine.make_url(uri).database)
    return ("sqlite", Path(sa.engine.make_url(uri).database))


@pytest.fixture
def database_uri(database_template, tmp_path):
    """Clone the template into a fresh database for one test."""
    uri, drop = clone_database(database_template, tmp_path)
    yield uri
    drop()


class RequestIsolatingClient(FlaskClient):
    """A test client that gives each request its own app context, as a server does.

    Tests hold an app context open to use the database; without this, requests
    would share its ``g`` (the cached locale, the logged-in user) and its session.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app_factory(database_uri, tmp_path):
    """Return a function that creates an app on this test's database."""
    apps = []

    def make(**overrides):
        config = base_config(database_uri)
        config.update(overrides)
        application = create_app(config)
        application.test_client_class = RequestIsolatingClient
        apps.append(application)
        return application

    yield make
    for application in apps:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
            if "jobs_redis" in application.extensions:
                with contextlib.suppress(RedisError):  # tests of an unreachable Redis
                    jobs_queue.discard(application)


@pytest.fixture
def app(app_factory):
    """The application on a fresh, migrated database, inside an app context."""
    application = app_factory()
    with application.app_context():
        yield application
        db.session.remove()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def run_jobs(app):
    """Return a function that runs every queued job in this process (RQ burst worker)."""
    from matchmaker.jobs.worker import work

    def run() -> None:
        work(app, burst=True, in_process=True)
        db.session.expire_all()

    return run


@pytest.fixture
def job(client, run_jobs):
    """Return a function that posts a schedule action, runs its job and returns the job page."""

    def post_and_run(path: str, data: dict | None = None) -> str:
        response = client.post(path, data=data or {})
        assert response.status_code == 302
        assert "/jobs/" in response.headers["Location"], response.headers["Location"]
        run_jobs()
        return client.get(response.headers["Location"]).get_data(as_text=True)

    return post_and_run


@pytest.fixture
def fit_model(app):
    """Return a function that fits and stores the matching model now, as the refit job does."""

    def fit(force: bool = False):
        return artefacts.refit(force=force)

    return fit


@pytest.fixture
def runner(app):
    """A CLI runner for the app's flask commands."""
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Return a factory that creates accounts."""
    from matchmaker.accounts.services import create_user

    def make(email=None, name="Erika Muster", password="geheimes-passwort", organiser=False):
        email = email or f"user{next(_counter)}@example.de"
        user = create_user(email, name, password, organiser=organiser)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_profile(app):
    """Return a factory that creates profiles through the service layer."""
    from matchmaker.directory import services

    def make(kind="sme", owner=None, **fields):
        data = {
            "name": f"Firma {next(_counter)}",
            "city": "Cottbus",
            "description": "Wir suchen KI für unsere Eingangsrechnungen und die Buchhaltung.",
            "language": "de",
            "tags": [],
            "categories": [],
        }
        external_ref = fields.pop("external_ref", None)
        data.update(fields)
        profile = services.create_profile(kind, data, owner)
        profile.external_ref = external_ref
        db.session.commit()
        return profile

    return make


@pytest.fixture
def login(client):
    """Return a function that logs a user in through the login form."""

    def do_login(user, password="geheimes-passwort"):
        response = client.post("/account/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return do_login


def pytest_report_header(config):
    """Say which database the suite runs on."""
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (per-test file copies)'}"
