"""A database that is briefly unreachable (a restart, a lost connection) answers 503, not 500.

The soak benchmark restarts PostgreSQL under load: the requests of those few hundred
milliseconds failed with a 500 page that said "something went wrong". They now get a 503 with
``Retry-After`` and a page (or JSON) saying to try again in a few seconds; errors that do not
pass by themselves stay a 500.
"""

import contextlib

import psycopg
from sqlalchemy import event as sa_event
from sqlalchemy import exc

from matchmaker.extensions import db


class BrokenQuery(Exception):
    """A DBAPI error of a statement that will fail again: SQLSTATE XX000 (internal error)."""

    sqlstate = "XX000"


@contextlib.contextmanager
def every_statement_fails(error: exc.OperationalError):
    """Fail every statement the app sends, as during a database restart."""

    def fail(conn, cursor, statement, parameters, context, executemany):
        raise error

    sa_event.listen(db.engine, "before_cursor_execute", fail)
    try:
        yield
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", fail)


@contextlib.contextmanager
def statements_after_the_user_fail(error: Exception):
    """Let the user's load succeed, then fail every statement; yield what was seen."""
    seen = {"user": False}

    def fail_after_the_user(conn, cursor, statement, parameters, context, executemany):
        if not seen["user"] and "FROM users" in statement:
            seen["user"] = True
            return
        raise error

    sa_event.listen(db.engine, "before_cursor_execute", fail_after_the_user)
    try:
        yield seen
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", fail_after_the_user)


def lost_connection() -> exc.OperationalError:
    return exc.OperationalError(
        "SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True
    )


def test_a_lost_database_gets_a_retry_page_in_german(app, client, make_user, login):
    login(make_user("member@example.de"))
    with every_statement_fails(lost_connection()):
        response = client.get("/events")  # the user's load fails too
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert "Kurz nicht erreichbar" in page
    assert "in ein paar Sekunden noch einmal" in page
    # once the database is back, the same request works, logged in as before
    again = client.get("/events")
    assert again.status_code == 200
    assert "Abmelden" in again.get_data(as_text=True)


def test_the_api_gets_json_with_retry_after(app, client):
    with every_statement_fails(lost_connection()):
        response = client.get("/api/v1/events")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["status"] == 503


def test_a_server_connection_failure_without_sqlstate_is_transient(app, client):
    # psycopg reports a refused connection (the server is down) without a SQLSTATE
    refused = exc.OperationalError("SELECT 1", {}, Exception("connection refused"))
    with every_statement_fails(refused):
        assert client.get("/directory").status_code == 503


def test_an_error_that_will_happen_again_stays_a_500(app, client):
    broken = exc.OperationalError("SELECT 1", {}, BrokenQuery("internal error"))
    with every_statement_fails(broken):
        response = client.get("/directory")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
    assert "Etwas ist schiefgelaufen" in response.get_data(as_text=True)


def test_a_failure_after_the_user_was_loaded_still_gets_the_retry_page(
    app, client, make_user, login
):
    # The user's load succeeds, the next statement finds the database gone: after the
    # rollback the page must not read the (expired) user again from that database.
    login(make_user("member@example.de"))
    with statements_after_the_user_fail(lost_connection()) as seen:
        response = client.get("/my/profiles")
    assert seen["user"]
    assert response.status_code == 503
    assert "Kurz nicht erreichbar" in response.get_data(as_text=True)


def test_the_drivers_own_connection_error_is_transient_too(app, client):
    # Where the app takes a raw connection from the pool, psycopg's error arrives unwrapped.
    with every_statement_fails(psycopg.OperationalError("connection failed: server is down")):
        response = client.get("/directory")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_a_lasting_failure_after_the_user_was_loaded_gets_the_friendly_500_page(
    app, client, make_user, login
):
    # As above, but the error will happen again: the 500 page must render too, even though
    # the expired user can no longer be read from the database.
    login(make_user("member@example.de"))
    broken = exc.OperationalError("SELECT 1", {}, BrokenQuery("internal error"))
    with statements_after_the_user_fail(broken) as seen:
        response = client.get("/my/profiles")
    assert seen["user"]
    assert response.status_code == 500
    assert "Etwas ist schiefgelaufen" in response.get_data(as_text=True)
    # with the database healthy again the user is still logged in
    assert "Abmelden" in client.get("/events").get_data(as_text=True)
