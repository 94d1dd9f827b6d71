"""Friendly error pages in the user's language."""

import contextlib
import sqlite3

import psycopg
from flask import Flask, g, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from matchmaker.extensions import db, login_manager

#: SQLSTATE classes of errors that pass by themselves: connection exception, transaction
#: rollback (serialisation failure, deadlock), insufficient resources, operator intervention
#: (a shutdown or restart of the server).
TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57")
#: How long a client is asked to wait before trying again while the database is unreachable.
RETRY_AFTER_SECONDS = 5


def database_unavailable(error: Exception) -> bool:
    """Tell whether a database error passes by itself (a restart, a lost connection, a lock).

    Such an error gets a 503 with ``Retry-After`` instead of a 500: the request can simply be
    sent again. A missing table or a broken query stays a 500. ``error`` is SQLAlchemy's
    wrapper or, where the app asks the pool for a raw connection, the driver's own error.
    """
    if isinstance(error, OperationalError):
        if error.connection_invalidated:
            return True
        error = error.orig
    if isinstance(error, sqlite3.OperationalError):
        return getattr(error, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED")
    sqlstate = getattr(error, "sqlstate", None)
    # psycopg raises a connection failure (server down, refused) without a SQLSTATE
    return sqlstate is None or sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES


def forget_the_failed_session() -> None:
    """Roll back after a database failure and show the error page without the user.

    The page must not read the user from the database that just failed: after the rollback
    even a loaded user's attributes would be read again. The rollback itself may fail too (the
    connection is gone; the pool replaces it).
    """
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
    g._login_user = login_manager.anonymous_user()


def wants_json() -> bool:
    """Tell whether the client asked for JSON rather than a page."""
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def register(app: Flask) -> None:
    """Install handlers for HTTP errors, CSRF failures and unexpected exceptions."""

    def titles() -> dict[int, str]:
        return {
            400: _("The request could not be understood"),
            403: _("Access denied"),
            404: _("Page not found"),
            405: _("Method not allowed"),
            413: _("The upload is too large"),
            429: _("Too many requests"),
            500: _("Something went wrong"),
            503: _("Briefly unavailable"),
        }

    def messages() -> dict[int, str]:
        return {
            400: _("Some of the information sent with the request is not valid."),
            403: _("You are not allowed to do this."),
            404: _("The page you are looking for does not exist or was removed."),
            405: _("This address does not accept that kind of request."),
            413: _("The data you sent exceeds the size limit."),
            429: _("Please wait a moment and try again."),
            500: _("An unexpected error occurred. Nothing was changed. Please try again later."),
            503: _(
                "The database cannot be reached for a moment. Please try again in a few seconds."
            ),
        }

    def render(code: int, detail: str | None = None):
        title = titles().get(code, _("Error"))
        message = detail or messages().get(code, "")
        if wants_json():
            return {"error": title, "message": message, "status": code}, code
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError):
        return render(400, _("The form has expired or was sent from elsewhere. Please try again."))

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        code = error.code or 500
        detail = error.description if getattr(error, "friendly", False) else None
        return render(code, detail)

    @app.errorhandler(OperationalError)
    @app.errorhandler(psycopg.OperationalError)
    def handle_database(error: Exception):
        if not database_unavailable(error):
            return handle_unexpected(error)
        app.logger.warning("Database unavailable, answered 503: %s", error)
        forget_the_failed_session()
        response = make_response(render(503))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        app.logger.exception("Unhandled exception")
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        try:
            return render(500)
        except (SQLAlchemyError, psycopg.Error):
            # the page read the user, expired by the rollback, from a database that fails again
            forget_the_failed_session()
            return render(500)
