"""Account use cases: create members and organisers, authenticate."""

from sqlalchemy import func, select

from matchmaker.accounts.models import User
from matchmaker.extensions import db


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
