"""Friendly error pages in the user's language."""

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from matchmaker.extensions import db


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

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        app.logger.exception("Unhandled exception")
        db.session.rollback()
        return render(500)
