"""Login throttling: per account, per account and address, and a generous ceiling per address.

A venue's Wi-Fi shows every guest under one address, so the address alone must never lock
people out: failed attempts count per account and address (tight) and per account from any
address (looser, against guessing from many addresses), and the address only has a ceiling
that a full hall logging in at once stays below.
"""

from datetime import UTC, datetime

from flask import current_app, request
from flask_limiter.util import get_remote_address

from matchmaker.extensions import limiter


def attempted_account() -> str:
    """Return the normalised e-mail address of this attempt ("" when there is none)."""
    return request.form.get("email", "").strip().lower()[:254]


def account_key() -> str:
    """Key failures on the account (an empty key skips the limit)."""
    account = attempted_account()
    return f"login-account:{account}" if account else ""


def account_address_key() -> str:
    """Key failures on the account together with the client's address."""
    account = attempted_account()
    return f"login-account-address:{account}|{get_remote_address()}" if account else ""


def address_ceiling() -> str:
    """Return the ceiling of attempts per address."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def account_address_limit() -> str:
    """Return how many failures one address may have on one account."""
    config = current_app.config
    return f"{config['LOGIN_MAX_FAILURES']} per {config['LOGIN_LOCKOUT_MINUTES']} minutes"


def account_limit() -> str:
    """Return how many failures one account may have from all addresses together."""
    config = current_app.config
    return f"{config['LOGIN_ACCOUNT_MAX_FAILURES']} per {config['LOGIN_LOCKOUT_MINUTES']} minutes"


def login_failed(response) -> bool:
    """Count only attempts that did not log in (a success redirects)."""
    return response.status_code != 302


def retry_at() -> datetime | None:
    """Return when every limit this request broke is lifted again, or None."""
    broken = [limit.reset_at for limit in limiter.current_limits if limit.breached]
    if not broken:
        return None
    return datetime.fromtimestamp(max(broken), UTC)
