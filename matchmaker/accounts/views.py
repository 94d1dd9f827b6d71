"""Register, log in, log out."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_time, format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from matchmaker.accounts import throttling
from matchmaker.accounts.forms import (
    LoginForm,
    PasswordResetForm,
    PasswordResetRequestForm,
    RegistrationForm,
)
from matchmaker.accounts.models import User
from matchmaker.accounts.services import (
    authenticate,
    create_user,
    find_user_by_email,
    reset_password,
    send_password_reset,
    user_from_reset_token,
)
from matchmaker.core import audit
from matchmaker.extensions import db, limiter, login_manager
from matchmaker.mail import services as mail
from matchmaker.web import refuse_conflict

bp = Blueprint("accounts", __name__, url_prefix="/account")

login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Please log in to continue.")
login_manager.login_message_category = "info"


# Built once: Session.get builds and annotates its statement anew on every call, which cost
# every logged-in request about a third of loading its user.
USER_BY_ID = select(User).where(User.id == bindparam("user_id"))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the logged-in user from the session."""
    user = (
        db.session.execute(USER_BY_ID, {"user_id": int(user_id)}).scalar_one_or_none()
        if user_id.isdigit()
        else None
    )
    if user is not None:
        audit.note_session_user(user)
    return user


def safe_next(default: str) -> str:
    """Return the ``next`` target if it stays on this site, else the default."""
    target = request.args.get("next", "")
    if target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return default


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Create an account and log in."""
    if current_user.is_authenticated:
        return redirect(url_for("directory.my_profiles"))
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.name.data, form.password.data)
            db.session.commit()
        except IntegrityError:  # the same address signed up at the same moment
            refuse_conflict(form, "email")
        else:
            login_user(user)
            flash(_("Welcome! Your account has been created."), "success")
            return redirect(safe_next(url_for("directory.my_profiles")))
    return render_template("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(throttling.address_ceiling, methods=["POST"])
@limiter.limit(
    throttling.account_address_limit,
    key_func=throttling.account_address_key,
    methods=["POST"],
    deduct_when=throttling.login_failed,
)
@limiter.limit(
    throttling.account_limit,
    key_func=throttling.account_key,
    methods=["POST"],
    deduct_when=throttling.login_failed,
)
def login():
    """Log in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("directory.my_profiles"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("E-mail address or password is wrong."))
        else:
            login_user(user, remember=form.remember.data)
            flash(_("You are logged in."), "success")
            return redirect(safe_next(url_for("directory.my_profiles")))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """Log out."""
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("core.index"))


@bp.route("/password-reset", methods=["GET", "POST"])
@limiter.limit(throttling.address_ceiling, methods=["POST"])
def request_password_reset():
    """Send a reset link by e-mail (the answer never tells whether the address exists)."""
    form = PasswordResetRequestForm()
    if form.validate_on_submit():
        user = find_user_by_email(form.email.data)
        if user is not None:
            send_password_reset(user)
            db.session.commit()
            mail.deliver_new()
        flash(
            _("If an account exists for this address, we have sent a link to reset the password."),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/password_reset_request.html", form=form)


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def password_reset(token: str):
    """Set a new password with a valid, unused reset link."""
    user = user_from_reset_token(token)
    if user is None:
        flash(_("This link is invalid or has expired. Please ask for a new one."), "error")
        return redirect(url_for("accounts.request_password_reset"))
    form = PasswordResetForm()
    if form.validate_on_submit():
        reset_password(user, form.password.data)
        db.session.commit()
        flash(_("Your password has been changed. Please log in."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/password_reset.html", form=form)


@bp.errorhandler(RateLimitExceeded)
def too_many_attempts(error: RateLimitExceeded):
    """Show the form again with the time from which another attempt is accepted."""
    until = throttling.retry_at()
    if until is None:
        wait = _("Too many attempts. Please wait a moment and try again.")
    else:
        seconds = max(1, int((until - datetime.now(UTC)).total_seconds()))
        wait = _(
            "Too many attempts. Please try again in %(duration)s (from %(time)s).",
            duration=format_timedelta(timedelta(seconds=seconds), threshold=1),
            time=format_time(until, "short"),
        )
    if request.endpoint == "accounts.request_password_reset":
        page = render_template(
            "accounts/password_reset_request.html", form=PasswordResetRequestForm(), wait=wait
        )
    else:
        page = render_template("accounts/login.html", form=LoginForm(), wait=wait)
    response = make_response(page, 429)
    if until is not None:
        response.headers["Retry-After"] = str(seconds)
    return response
