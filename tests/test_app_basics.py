"""App-wide behaviour: migrations match the models, CSRF, errors, translations, assets."""

import re
import time

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from csrf_forms import csrf_token
from flask_migrate import downgrade, upgrade

from matchmaker import extensions
from matchmaker.core.catalogues import missing_translations
from matchmaker.extensions import db, server_closed


def test_migrations_match_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_migrations_downgrade_and_upgrade_again(app):
    downgrade(revision="base")
    db.session.remove()
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_taxonomy_is_seeded_by_migration(app):
    from matchmaker.directory.taxonomy import all_categories, all_sectors

    codes = {c.code for c in all_categories()}
    assert {"bookkeeping", "it_security", "predictive_maintenance", "translation"} <= codes
    assert all(c.label_de and c.label_en for c in all_categories())
    assert "energy" in {s.code for s in all_sectors()}


def test_catalogues_are_complete():
    missing = missing_translations()
    assert set(missing) == {"de", "en"}
    assert missing == {"de": [], "en": []}


def test_no_external_assets(client):
    page = client.get("/").get_data(as_text=True)
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert not url.startswith(("http://", "https://", "//")), url
    for asset in ("/static/css/app.css", "/static/css/print.css", "/static/favicon.svg"):
        with client.get(asset) as response:
            assert response.status_code == 200


@pytest.mark.parametrize("url", ["/nowhere", "/profiles/abc", "/static/nothing.css"])
def test_friendly_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "Seite nicht gefunden" in response.get_data(as_text=True)


def test_405_is_friendly(client):
    response = client.put("/directory")
    assert response.status_code == 405
    assert "Methode nicht erlaubt" in response.get_data(as_text=True)


def test_unexpected_errors_render_a_page(app_factory):
    application = app_factory()
    application.config["PROPAGATE_EXCEPTIONS"] = False

    @application.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = application.test_client().get("/boom")
    assert response.status_code == 500
    assert "Etwas ist schiefgelaufen" in response.get_data(as_text=True)


def test_language_switch_rejects_offsite_redirects(client):
    response = client.post("/language/en", data={"next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert client.post("/language/xx").status_code == 404


def test_secret_key_required_in_production(monkeypatch, database_uri):
    from matchmaker.app import create_app

    monkeypatch.setenv("MATCHMAKER_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_uri})


class TestWithCsrf:
    """Forms refuse posts without a valid CSRF token."""

    @pytest.fixture
    def csrf_client(self, app_factory):
        application = app_factory(WTF_CSRF_ENABLED=True)
        with application.app_context():
            yield application.test_client()

    def test_post_without_token_is_refused(self, csrf_client):
        response = csrf_client.post(
            "/account/register",
            data={
                "name": "A",
                "email": "a@example.de",
                "password": "sehr-geheim-123",
                "password_again": "sehr-geheim-123",
            },
        )
        assert response.status_code == 400
        assert "Formular ist abgelaufen" in response.get_data(as_text=True)

    def test_register_and_create_profile_with_tokens(self, csrf_client):
        page = csrf_client.get("/account/register").get_data(as_text=True)
        token = csrf_token(page)
        response = csrf_client.post(
            "/account/register",
            data={
                "csrf_token": token,
                "name": "Anna",
                "email": "anna@example.de",
                "password": "sehr-geheim-123",
                "password_again": "sehr-geheim-123",
            },
        )
        assert response.status_code == 302
        form = csrf_client.get("/profiles/new").get_data(as_text=True)
        token = csrf_token(form)
        created = csrf_client.post(
            "/profiles/new",
            data={
                "csrf_token": token,
                "kind": "sme",
                "name": "Brauerei Weißwasser",
                "city": "Weißwasser",
                "language": "de",
                "description": "Wir wollen unsere Buchhaltung mit KI vereinfachen.",
                "contact_visibility": "members",
                "consent": "y",
            },
        )
        assert created.status_code == 302
        no_token = csrf_client.post("/profiles/new", data={"kind": "sme", "name": "X"})
        assert no_token.status_code == 400

    def test_logout_needs_token(self, csrf_client):
        assert csrf_client.post("/account/logout").status_code == 400


def pooled_connection():
    """Check a connection out of the app's pool, use it, and return the driver's connection."""
    with db.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
        return connection.connection.dbapi_connection


def test_pooled_connections_are_reused_and_closed_ones_replaced(client):
    # No ping per checkout: a healthy connection goes out again as it is ...
    db.session.remove()
    first = pooled_connection()
    assert pooled_connection() is first
    if db.engine.dialect.name == "postgresql":
        # ... and one the server ended (as a restart does) is replaced before a request uses it.
        with psycopg.connect(
            db.engine.url.render_as_string(hide_password=False).replace(
                "postgresql+psycopg://", "postgresql://"
            ),
            autocommit=True,
        ) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [first.info.backend_pid])
        for _ in range(100):  # the server's goodbye arrives at once, but not synchronously
            if server_closed(first):
                break
            time.sleep(0.01)
        assert client.get("/events").status_code == 200
        assert pooled_connection() is not first


def test_a_connection_idle_for_long_is_pinged_and_replaced_if_silent(client, monkeypatch):
    # A network may drop an idle connection without a word: after PING_AFTER_IDLE_SECONDS in
    # the pool a connection is pinged, and one that does not answer is replaced.
    db.session.remove()
    first = pooled_connection()
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE_SECONDS", 0.0)
    if db.engine.dialect.name == "postgresql":
        assert extensions.answers_ping(first) and not first.autocommit
        pinged = []

        def silent(connection) -> bool:
            pinged.append(connection)
            return False

        monkeypatch.setattr(extensions, "answers_ping", silent)
        assert client.get("/events").status_code == 200
        assert pinged[0] is first and pooled_connection() is not first
    else:  # SQLite has no server to lose: nothing is pinged, the connection stays
        assert pooled_connection() is first
