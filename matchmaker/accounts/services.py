"""Account use cases: create members and organisers, authenticate."""

from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from matchmaker.accounts.models import User
from matchmaker.extensions import db
from matchmaker.mail.services import queue_message


def find_user_by_email(email: str) -> User | None:
    """Return the account for an e-mail address, ignoring case."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(email: str, name: str, password: str, *, organiser: bool = False) -> User:
    """Create an account with a hashed password."""
    user = User(email=email.strip().lower(), name=name.strip(), is_organiser=organiser)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """Return the user when the password is right, else None."""
    user = find_user_by_email(email)
    if user is None or not user.check_password(password):
        return None
    return user


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def reset_token(user: User) -> str:
    """Return a signed, expiring token that stops working once the password changes."""
    return _reset_serializer().dumps({"uid": user.id, "pw": user.password_hash[-12:]})


def user_from_reset_token(token: str) -> User | None:
    """Return the user of a valid, unused, unexpired reset token, else None."""
    try:
        data = _reset_serializer().loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    user = db.session.get(User, data["uid"])
    if user is None or user.password_hash[-12:] != data.get("pw"):
        return None
    return user


def send_password_reset(user: User) -> None:
    """Queue the e-mail with the reset link (sent after the commit)."""
    link = url_for("accounts.password_reset", token=reset_token(user), _external=True)
    body = _(
        "Hello %(name)s,\n\nsomeone (hopefully you) asked to reset the password of your "
        "Matchmaker account. Open this link within one hour to choose a new password:\n\n"
        "%(link)s\n\nIf you did not ask for this, ignore this e-mail; your password stays "
        "as it is.",
        name=user.name,
        link=link,
    )
    queue_message(user.email, _("Reset your Matchmaker password"), body, kind="password_reset")


def reset_password(user: User, password: str) -> None:
    """Set a new password (this also invalidates every earlier reset link)."""
    user.set_password(password)
    db.session.flush()
