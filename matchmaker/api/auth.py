"""Authenticate API requests: a bearer token, or the session cookie (then CSRF applies).

A token acts as its member (an organiser's token has organiser rights). When a request
carries an ``Authorization`` header, only the token counts: an unknown, revoked or malformed
token answers 401 even if a session cookie is present. Calls authenticated by the session
cookie must send the CSRF token in the ``X-CSRFToken`` header for every state-changing method,
like the forms of the web pages.
"""

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import Unauthorized

from matchmaker.api import services
from matchmaker.extensions import csrf, db

REALM = 'Bearer realm="matchmaker"'
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "TRACE"))


class ApiUnauthorized(Unauthorized):
    """401 with a ``WWW-Authenticate`` challenge and a message for the client."""

    def __init__(self, message: str, challenge: str = REALM) -> None:
        super().__init__(message)
        self.challenge = challenge


def authenticate() -> None:
    """Resolve the caller of an API request before the view runs."""
    g.api_token = None
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _sep, secret = header.strip().partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise ApiUnauthorized(
                _("Send the API token as “Authorization: Bearer <token>”."),
                REALM + ', error="invalid_request"',
            )
        token = services.active_token(secret)
        if token is None:
            raise ApiUnauthorized(
                _("The API token is unknown or has been revoked."),
                REALM + ', error="invalid_token"',
            )
        # Flask-Login reads the user from g first; the session cookie is neither read nor set.
        g._login_user = token.user
        g.api_token = token
        if services.touch(token):
            # Its own tiny transaction before the request's work, at most once a minute.
            db.session.commit()
        return
    if (
        request.method not in SAFE_METHODS
        and current_user.is_authenticated
        and current_app.config.get("WTF_CSRF_ENABLED", True)
    ):
        csrf.protect()


def require_member():
    """Return the authenticated member, or raise 401."""
    if not current_user.is_authenticated:
        raise ApiUnauthorized(
            _("Authentication required: send an API token (Authorization: Bearer <token>).")
        )
    return current_user._get_current_object()


def via_token() -> bool:
    """Tell whether the request is authenticated by an API token."""
    return g.get("api_token") is not None
