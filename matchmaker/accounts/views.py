"""Register, log in, log out."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from matchmaker.accounts.forms import LoginForm, RegistrationForm
from matchmaker.accounts.models import User
from matchmaker.accounts.services import authenticate, create_user
from matchmaker.extensions import db, login_manager

bp = Blueprint("accounts", __name__, url_prefix="/account")

login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Please log in to continue.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the logged-in user from the session."""
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


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
        user = create_user(form.email.data, form.name.data, form.password.data)
        db.session.commit()
        login_user(user)
        flash(_("Welcome! Your account has been created."), "success")
        return redirect(safe_next(url_for("directory.my_profiles")))
    return render_template("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
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
