"""Account use cases: create members and organisers, authenticate."""

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, func, select

from matchmaker.accounts.models import User
from matchmaker.core.i18n import recipient_language
from matchmaker.extensions import db
from matchmaker.mail.services import queue_mail


def find_user_by_email(email: str) -> User | None:
    """Return the account for an e-mail address, ignoring case."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


# Built once: asked for every registration e-mail, and building it cost more than running it.
ACCOUNT_LOCALE = select(User.locale).where(func.lower(User.email) == bindparam("address"))


def account_locale(email: str) -> str | None:
    """Return the language chosen by the account of an e-mail address (None: none or no account)."""
    return (
        db.session.connection().execute(ACCOUNT_LOCALE, {"address": email.strip().lower()}).scalar()
    )


def account_locales(emails: list[str]) -> dict[str, str]:
    """Return the languages chosen by the accounts of many addresses, by lower-case address."""
    keys = {email.strip().lower() for email in emails}
    if not keys:
        return {}
    address = func.lower(User.email)
    rows = db.session.execute(select(address, User.locale).where(address.in_(keys)))
    return {key: locale for key, locale in rows if locale}


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
    """Queue the e-mail with the reset link, in the account's language (sent after the commit)."""
    queue_mail(
        user.email,
        recipient_language(user),
        "accounts/mail/password_reset.txt",
        _l("Reset your Matchmaker password"),
        kind="password_reset",
        user=user,
        link=url_for("accounts.password_reset", token=reset_token(user), _external=True),
    )


def reset_password(user: User, password: str) -> None:
    """Set a new password (this also invalidates every earlier reset link)."""
    user.set_password(password)
    db.session.flush()
