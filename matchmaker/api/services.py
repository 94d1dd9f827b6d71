"""API token use cases: create (the secret is returned once), list, revoke, authenticate."""

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from matchmaker.accounts.models import User
from matchmaker.api.models import ApiToken
from matchmaker.core.clock import utcnow
from matchmaker.extensions import db

TOKEN_SCHEME = "mmk_"  # noqa: S105 - the public marker of our tokens, not a secret
PREFIX_LENGTH = len(TOKEN_SCHEME) + 8
MAX_ACTIVE_TOKENS = 20
MAX_TOKEN_LENGTH = 200
# last_used_at is written at most this often per token, so reads stay (nearly) write-free.
TOUCH_INTERVAL = timedelta(minutes=1)


class TokenError(Exception):
    """A token use case was refused; the message is meant for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def hash_token(secret: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def tokens_of(user: User) -> list[ApiToken]:
    """Return a member's tokens, active ones first, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
        )
    )


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a named token for a member; return it with the secret, which is never stored."""
    active = db.session.scalar(
        select(func.count(ApiToken.id)).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
        )
    )
    if (active or 0) >= MAX_ACTIVE_TOKENS:
        raise TokenError(_("You have %(n)d active tokens; revoke one first.", n=MAX_ACTIVE_TOKENS))
    secret = TOKEN_SCHEME + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip(),
        prefix=secret[:PREFIX_LENGTH],
        token_hash=hash_token(secret),
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def revoke_token(token: ApiToken) -> ApiToken:
    """Revoke a token; requests with it are refused from now on."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
    return token


def active_token(secret: str) -> ApiToken | None:
    """Return the active token with this secret, or None."""
    if not secret.startswith(TOKEN_SCHEME) or len(secret) > MAX_TOKEN_LENGTH:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or not token.is_active:
        return None
    return token


def touch(token: ApiToken) -> bool:
    """Record that a token was used, at most once per TOUCH_INTERVAL; tell whether it wrote."""
    now = utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)  # SQLite returns naive datetimes
    if last is not None and now - last < TOUCH_INTERVAL:
        return False
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id)
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return True
